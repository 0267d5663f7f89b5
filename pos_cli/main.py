"""The ``pos`` command line (filled in as the parts land)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("pos: under construction", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
