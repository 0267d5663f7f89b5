"""Customer pole displays (2 lines x 20 characters): Epson ESC/POS display and CD5220 commands.

Epson ESC/POS display commands (DM-D series):

================  ============  =============================================
ESC @             1B 40         initialise: clear, cursor home, defaults
US MD1            1F 01         overwrite mode (no scrolling)
US C n            1F 43 n       cursor shown (1) / hidden (0)
ESC t n           1B 74 n       character table; n=19 PC858 (with the euro)
US $ x y          1F 24 x y     cursor to column x (1-20), line y (1-2)
CLR               0C            clear the screen, cursor home
================  ============  =============================================

CD5220 (PTC standard) command set:

================  ===================  ==================================
ESC @             1B 40                initialise
ESC Q A .. CR     1B 51 41 text 0D     write the upper line (string mode)
ESC Q B .. CR     1B 51 42 text 0D     write the lower line (string mode)
CLR               0C                   clear the screen
================  ===================  ==================================

Lines are padded to the full width so each update overwrites what was there without a clear (no
flicker). After the first update only what changed is sent (``encode_changes``): at 9600 baud a
whole two-line rewrite takes 50 ms on the wire, a new total a few milliseconds.

CD5220 has no standard code-page command: its text is sent in PC437, which has no euro sign, so
compose display text with the currency code ("EUR 12.34").
"""

from __future__ import annotations

import logging
from typing import Literal

from peripherals.errors import ConfigurationError
from peripherals.escpos_codec import CODE_PAGE_PC858, CODE_PAGES, encode_text
from peripherals.targets import parse_target
from peripherals.transport import Transport

log = logging.getLogger(__name__)

DisplayProtocol = Literal["epson", "cd5220"]
WIDTH = 20

ESC, US, CR, CLR = b"\x1b", b"\x1f", b"\r", b"\x0c"
_CD5220_CODE_PAGE = 0  # PC437, the display's fixed table


def _fit(text: str, width: int) -> str:
    return text[:width].ljust(width)


def encode_init(protocol: DisplayProtocol) -> bytes:
    """Bytes that reset the display into the mode ``encode_lines`` expects."""
    if protocol == "epson":
        return ESC + b"@" + US + b"\x01" + US + b"C\x00" + ESC + b"t" + bytes([CODE_PAGE_PC858])
    return ESC + b"@"


def encode_lines(upper: str, lower: str, protocol: DisplayProtocol, width: int = WIDTH) -> bytes:
    """Show ``upper`` and ``lower``, each cut or padded to ``width`` characters."""
    if protocol == "epson":
        return b"".join(
            US + b"$" + bytes([1, line]) + encode_text(_fit(text, width), CODE_PAGE_PC858)
            for line, text in ((1, upper), (2, lower))
        )
    top = encode_text(_fit(upper, width), _CD5220_CODE_PAGE)
    bottom = encode_text(_fit(lower, width), _CD5220_CODE_PAGE)
    return ESC + b"QA" + top + CR + ESC + b"QB" + bottom + CR


def encode_changes(
    shown: tuple[str, str], upper: str, lower: str, protocol: DisplayProtocol, width: int = WIDTH
) -> bytes:
    """Bytes that turn the screen from ``shown`` into ``upper``/``lower``, sending only what changed.

    Epson: for each line, the cursor moves to the first changed column (US $ x y) and the run up to
    the last changed column is rewritten. CD5220 (string mode writes whole lines): each changed line.
    """
    out = bytearray()
    for line, (was, new) in enumerate(zip(shown, (_fit(upper, width), _fit(lower, width)), strict=True), start=1):
        old = _fit(was, width)
        changed = [i for i in range(width) if old[i] != new[i]]
        if not changed:
            continue
        if protocol == "epson":
            first, last = changed[0], changed[-1]
            out += US + b"$" + bytes([first + 1, line]) + encode_text(new[first : last + 1], CODE_PAGE_PC858)
        else:
            out += ESC + (b"QA" if line == 1 else b"QB") + encode_text(new, _CD5220_CODE_PAGE) + CR
    return bytes(out)


def encode_clear(protocol: DisplayProtocol) -> bytes:
    return CLR


def decode_display(data: bytes, protocol: DisplayProtocol, width: int = WIDTH) -> tuple[str, str]:
    """What the two lines show after ``data`` (for tests and a display viewer)."""
    screen = [[" "] * width, [" "] * width]
    codec = CODE_PAGES[CODE_PAGE_PC858 if protocol == "epson" else _CD5220_CODE_PAGE]
    col, row, i = 0, 0, 0

    def put(byte: int) -> None:
        nonlocal col, row
        screen[row][col] = bytes([byte]).decode(codec, "replace")
        col += 1
        if col == width:  # overwrite mode wraps to the start of the other line
            col, row = 0, 1 - row

    while i < len(data):
        b = data[i]
        if data.startswith(ESC + b"@", i) or b == CLR[0]:
            screen = [[" "] * width, [" "] * width]
            col, row = 0, 0
            i += 2 if b == ESC[0] else 1
        elif protocol == "cd5220" and data.startswith(ESC + b"Q", i) and i + 2 < len(data):
            end = data.find(CR, i + 3)
            end = len(data) if end < 0 else end
            text = data[i + 3 : end].decode(codec, "replace")
            line = {ord("A"): 0, ord("B"): 1}.get(data[i + 2])
            if line is not None:
                screen[line] = list(_fit(text, width))
            i = end + 1
        elif data.startswith(US + b"$", i) and i + 3 < len(data):
            col, row = min(max(data[i + 2], 1), width) - 1, min(max(data[i + 3], 1), 2) - 1
            i += 4
        elif data.startswith(US + b"C", i) or data.startswith(ESC + b"t", i):
            i += 3
        elif b == US[0]:
            i += 2  # US MD1/MD2/MD3 and other two-byte commands
        elif b >= 0x20:
            put(b)
            i += 1
        else:
            i += 1
    return "".join(screen[0]), "".join(screen[1])


class LineDisplay:
    """A customer display on a transport (usually ``serial:``). Blocking: use a ``DeviceWorker``."""

    def __init__(self, transport: Transport, protocol: DisplayProtocol, width: int = WIDTH) -> None:
        if protocol not in ("epson", "cd5220"):
            raise ConfigurationError(f"The display protocol {protocol!r} is not supported; use epson or cd5220.")
        self.transport = transport
        self.protocol: DisplayProtocol = protocol
        self.width = width
        self._shown: tuple[str, str] | None = None  # None: not initialised since opened or refreshed

    def describe(self) -> str:
        return f"customer display {self.transport.describe()}"

    def show(self, upper: str, lower: str = "") -> None:
        """Show two lines; the first call initialises the display, later ones send only changes.

        Raises:
            DeviceUnavailable: the display could not be reached (the next call rewrites everything).
        """
        new = (_fit(upper, self.width), _fit(lower, self.width))
        if self._shown is None:
            data = encode_init(self.protocol) + encode_lines(upper, lower, self.protocol, self.width)
        else:
            data = encode_changes(self._shown, upper, lower, self.protocol, self.width)
        if data:
            self._shown = None  # unknown until the send succeeded
            self.transport.send(data)
        self._shown = new

    def refresh(self) -> None:
        """Initialise and rewrite both lines (after the display was switched off and on)."""
        if self._shown is not None:
            upper, lower = self._shown
            self._shown = None
            self.show(upper, lower)

    def clear(self) -> None:
        self.transport.send(encode_clear(self.protocol))
        if self._shown is not None:
            self._shown = (" " * self.width, " " * self.width)


def open_display(target: str, protocol: DisplayProtocol) -> LineDisplay:
    """A display at ``target`` (``serial:DEVICE``, ``tcp:HOST:PORT`` or ``file:PATH``)."""
    return LineDisplay(parse_target(target, device="customer display"), protocol)
