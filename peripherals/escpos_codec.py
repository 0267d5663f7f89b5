"""Receipt rows to ESC/POS bytes: a pure codec, no I/O.

Byte values are Epson's ESC/POS command reference (TM-T88 family):

=============  ==================  ===========================================
command        bytes               meaning
=============  ==================  ===========================================
ESC @          1B 40               initialise: styles off, left aligned
ESC t n        1B 74 n             character code table; n=19 is PC858
ESC a n        1B 61 n             justification 0 left, 1 centre, 2 right
ESC E n        1B 45 n             emphasised (bold) off 0 / on 1
GS ! n         1D 21 n             character size; 0x11 double width+height
LF             0A                  print the buffer and feed one line
ESC d n        1B 64 n             print and feed n lines
GS V m         1D 56 m             cut; m=1 partial cut (m=0 full)
ESC p m t1 t2  1B 70 m t1 t2       drawer kick: m=0 pin 2, m=1 pin 5,
                                   pulse on t1 x 2 ms, off t2 x 2 ms
=============  ==================  ===========================================

We write every receipt in code page PC858 (``ESC t 19``), PC850 plus the euro sign at
0xD5, so "€", accents and box-drawing characters print on stock Epson-compatible printers.
python-escpos 3.1's ``Dummy`` printer was not used to produce these bytes: its ``set()`` sizes
text with ESC ! rather than GS !, and its ``cut()`` feeds six lines and picks the cut from a
printer profile, so it does not give byte-exact control.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from peripherals.errors import ConfigurationError
from pos_core.receipt import Align, ReceiptRow

ESC = b"\x1b"
GS = b"\x1d"
DLE = b"\x10"
LF = b"\n"

INIT = ESC + b"@"
CODE_PAGE_PC858 = 19
"""Epson's number for PC858 (Multilingual Latin I + euro) in ESC t n."""

ALIGN_CODES: dict[Align, int] = {"left": 0, "center": 1, "right": 2}
SIZE_NORMAL = 0x00
SIZE_DOUBLE = 0x11  # width x2 (bits 4-6 = 1) and height x2 (bits 0-2 = 1)
CUT_FULL = 0
CUT_PARTIAL = 1

DRAWER_PINS = {2: 0, 5: 1}
"""Connector pin -> ``m`` of ESC p."""

PULSE_UNIT_MS = 2
PULSE_MAX_MS = 255 * PULSE_UNIT_MS

CODE_PAGES: dict[int, str] = {
    0: "cp437",
    2: "cp850",
    3: "cp860",
    4: "cp863",
    5: "cp865",
    16: "cp1252",
    17: "cp866",
    18: "cp852",
    19: "cp858",
}
"""Epson ESC t numbers we can encode/decode, to Python codec names."""


def select_code_page(number: int) -> bytes:
    """``ESC t n``: choose the character code table."""
    return ESC + b"t" + bytes([number])


def align(where: Align) -> bytes:
    """``ESC a n``: justify following lines."""
    return ESC + b"a" + bytes([ALIGN_CODES[where]])


def bold(on: bool) -> bytes:
    """``ESC E n``: emphasised printing on or off."""
    return ESC + b"E" + bytes([1 if on else 0])


def size(big: bool) -> bytes:
    """``GS ! n``: double width and height, or normal size."""
    return GS + b"!" + bytes([SIZE_DOUBLE if big else SIZE_NORMAL])


def feed(lines: int) -> bytes:
    """``ESC d n``: print the buffer and feed ``lines`` lines (0-255)."""
    if not 0 <= lines <= 255:
        raise ConfigurationError(f"The printer can feed 0 to 255 lines at once, not {lines}.")
    return ESC + b"d" + bytes([lines])


def cut(partial: bool = True) -> bytes:
    """``GS V m``: cut the paper, partially (a tab holds the receipt) or fully."""
    return GS + b"V" + bytes([CUT_PARTIAL if partial else CUT_FULL])


def drawer_kick(pin: int = 2, on_ms: int = 100, off_ms: int = 100) -> bytes:
    """``ESC p m t1 t2``: pulse the cash drawer solenoid.

    Args:
        pin: the drawer connector pin, 2 or 5 (most drawers are wired to pin 2).
        on_ms: how long the pulse lasts, 2-510 ms, rounded down to 2 ms steps.
        off_ms: the pause after it, 2-510 ms, likewise.

    Raises:
        ConfigurationError: pin or times outside what ESC p can express.
    """
    if pin not in DRAWER_PINS:
        raise ConfigurationError(f"A cash drawer is wired to pin 2 or pin 5, not pin {pin}.")
    for label, ms in (("on", on_ms), ("off", off_ms)):
        if not PULSE_UNIT_MS <= ms <= PULSE_MAX_MS:
            raise ConfigurationError(
                f"The drawer pulse {label} time must be {PULSE_UNIT_MS} to {PULSE_MAX_MS} ms, not {ms} ms."
            )
    return ESC + b"p" + bytes([DRAWER_PINS[pin], on_ms // PULSE_UNIT_MS, off_ms // PULSE_UNIT_MS])


def encode_text(text: str, code_page: int = CODE_PAGE_PC858) -> bytes:
    """Text in the printer's code page; control characters and what the page lacks become ``?``.

    Control characters are replaced so a product name can never smuggle a command (a cut, a
    drawer kick) into the byte stream.
    """
    cleaned = "".join("?" if ord(ch) < 0x20 or ord(ch) == 0x7F else ch for ch in text)
    return cleaned.encode(CODE_PAGES[code_page], errors="replace")


@dataclass(frozen=True, slots=True)
class ReceiptFormat:
    """How a printer wants its receipts: code page, lines fed before the cut, cut kind."""

    code_page: int = CODE_PAGE_PC858
    feed_before_cut: int = 4
    partial_cut: bool = True

    def __post_init__(self) -> None:
        if self.code_page not in CODE_PAGES:
            known = ", ".join(str(n) for n in CODE_PAGES)
            raise ConfigurationError(f"Code page {self.code_page} is not supported; use one of {known}.")
        feed(self.feed_before_cut)  # validates the range


DEFAULT_FORMAT = ReceiptFormat()


def encode_receipt(rows: Sequence[ReceiptRow], fmt: ReceiptFormat = DEFAULT_FORMAT, *, kick: bytes = b"") -> bytes:
    """One whole print job: initialise, select the code page, each row, feed and cut.

    ``kick`` (from ``drawer_kick()``) goes after the last row and before the feed, so the drawer
    opens as the receipt comes out and the kick belongs to this job, not the next one.

    Style commands are written only when a row's style differs from the previous row's, starting
    from the state ESC @ leaves (left, not bold, normal size); the job ends back in that state so
    that whatever follows it (a drawer kick, the next job) is unaffected.
    """
    out = bytearray(INIT + select_code_page(fmt.code_page))
    cur_align: Align = "left"
    cur_bold = False
    cur_big = False
    for row in rows:
        if row.align != cur_align:
            out += align(row.align)
            cur_align = row.align
        if row.bold != cur_bold:
            out += bold(row.bold)
            cur_bold = row.bold
        if row.big != cur_big:
            out += size(row.big)
            cur_big = row.big
        out += qr_code(row.text) if row.qr else encode_text(row.text, fmt.code_page) + LF
    if cur_align != "left":
        out += align("left")
    if cur_bold:
        out += bold(False)
    if cur_big:
        out += size(False)
    out += kick + feed(fmt.feed_before_cut) + cut(fmt.partial_cut)
    return bytes(out)


def qr_code(data: str, module_size: int = 4) -> bytes:
    """A QR code printed natively by the printer (GS ( k: model 2, size, error level L, store, print).

    python-escpos writes these bytes exactly as Epson documents them; we add only a line feed.
    """
    from escpos.printer import Dummy  # late: only receipts with a code need it

    printer = Dummy()
    printer.qr(data, size=module_size, native=True)
    return bytes(printer.output) + LF
