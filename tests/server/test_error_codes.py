"""Every refusal the server can make has a code in pos_core.protocol, documented for people."""

from __future__ import annotations

from pathlib import Path

from pos_core import protocol
from store_server import errors

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _refusals(cls: type[errors.RequestRefused]) -> list[type[errors.RequestRefused]]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_refusals(sub)]
    return found


def test_every_refusal_code_is_a_protocol_constant_and_documented() -> None:
    constants = {v for k, v in vars(protocol).items() if k.isupper() and isinstance(v, str)}
    documented = (DOCS / "inventory.md").read_text() + (DOCS / "protocol.md").read_text()
    codes = {cls.code for cls in _refusals(errors.RequestRefused)}
    assert codes <= constants, codes - constants
    missing = sorted(code for code in codes if f"| `{code}` |" not in documented)
    assert not missing, f"document these codes in docs/inventory.md: {missing}"
