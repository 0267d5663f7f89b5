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
ESC M n        1B 4D n             character font A (0) or the narrower B (1)
GS h n         1D 68 n             barcode height in dots, 1-255
GS w n         1D 77 n             barcode module (narrowest bar) width, 2-6 dots
GS H n         1D 48 n             barcode digits (HRI): 0 none, 1 above, 2 below, 3 both
GS f n         1D 66 n             HRI font A (0) or B (1)
GS k m n d..   1D 6B m n d1..dn    barcode, function B: m=73 CODE128 (data starts
                                   with a code set, {A {B {C), m=67 EAN-13
GS v 0 m xL    1D 76 30 m xL xH    raster image: (xL + 256 xH) bytes a row,
  xH yL yH d..   yL yH d1..dk      (yL + 256 yH) rows, most significant bit leftmost,
                                   1 = black; m=0 normal size
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
from typing import Literal

from peripherals.errors import ConfigurationError
from pos_core.catalogue import gtin_check_digit
from pos_core.receipt import Align, ReceiptRow, Symbology

HriPosition = Literal["none", "above", "below", "both"]

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

HRI_POSITIONS: dict[HriPosition, int] = {"none": 0, "above": 1, "below": 2, "both": 3}
BARCODE_SYSTEMS: dict[Symbology, int] = {"CODE128": 73, "EAN13": 67}
"""``m`` of GS k function B (the data is preceded by its length ``n``)."""
BARCODE_MODULES = (3, 2)
"""Module widths tried for a receipt's barcode, widest first: 3 is the printers' default, 2 their narrowest
setting on every model (1 only on some)."""
BARCODE_HEIGHT = 80
"""10 mm at 203 dpi: comfortable for a hand scanner without wasting paper."""
RASTER_MAX_HEIGHT = 2303
"""Rows one GS v 0 may carry on TM-T88 class printers (yH <= 8)."""

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


def font(*, b: bool) -> bytes:
    """``ESC M n``: character font A (12 x 24 dots) or B (9 dots wide: more characters a line)."""
    return ESC + b"M" + bytes([1 if b else 0])


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
class RasterImage:
    """A 1-bit picture ready for GS v 0: ``data`` holds ``height`` rows of ``ceil(width / 8)`` bytes."""

    width: int
    height: int
    data: bytes

    def __post_init__(self) -> None:
        if not (0 < self.width <= 8 * 0xFFFF and 0 < self.height <= RASTER_MAX_HEIGHT):
            raise ConfigurationError(
                f"A printed image must be 1 to {RASTER_MAX_HEIGHT} dots tall, not {self.width} x {self.height} dots."
            )
        if len(self.data) != self.row_bytes * self.height:
            raise ConfigurationError(
                f"A {self.width} x {self.height} image takes {self.row_bytes * self.height} bytes."
            )

    @property
    def row_bytes(self) -> int:
        return (self.width + 7) // 8

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[bool]]) -> RasterImage:
        """Pack rows of dots (True = black), leftmost dot in the most significant bit, white padding right."""
        width = max((len(r) for r in rows), default=0)
        packed = bytearray()
        for row in rows:
            for start in range(0, width, 8):
                chunk = row[start : start + 8]
                packed.append(sum(0x80 >> i for i, black in enumerate(chunk) if black))
        return cls(width, len(rows), bytes(packed))

    def command(self) -> bytes:
        """``GS v 0 0 xL xH yL yH d1..dk``: print the image at normal density."""
        x, y = self.row_bytes, self.height
        return GS + b"v0" + bytes([0, x & 0xFF, x >> 8, y & 0xFF, y >> 8]) + self.data


@dataclass(frozen=True, slots=True)
class ReceiptFormat:
    """How a printer wants its receipts: code page, font, dots across, logo, lines fed before the cut, cut kind."""

    code_page: int = CODE_PAGE_PC858
    feed_before_cut: int = 4
    partial_cut: bool = True
    font_b: bool = False
    """Print in the narrow font B (more columns), as the lane's printer profile asked."""
    dots: int = 512
    """Printable width: a barcode is printed only as wide as this (a TM-T88's 512 by default)."""
    logo: RasterImage | None = None
    """Printed centred at the top of every receipt."""

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
    if fmt.font_b:
        out += font(b=True)
    if fmt.logo is not None:
        out += align("center") + fmt.logo.command()
        cur_align = "center"
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
        if row.barcode is not None:
            out += receipt_barcode(row.barcode, row.text, fmt.dots)
        else:
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


def barcode(
    symbology: Symbology,
    text: str,
    *,
    height: int = BARCODE_HEIGHT,
    module: int = 3,
    hri: HriPosition = "below",
    hri_font_b: bool = False,
) -> bytes:
    """A barcode the printer draws: ``GS h``, ``GS w``, ``GS H``, ``GS f``, then ``GS k`` function B.

    Args:
        symbology: ``CODE128`` (any printable ASCII; runs of digits packed in code set C) or
            ``EAN13`` (12 digits, or 13 with a correct check digit; the printer adds it).
        height: bar height in dots, 1-255.
        module: width of the narrowest bar in dots, 2-6.
        hri: where the human-readable digits go.

    Raises:
        ConfigurationError: a size out of range, or data the symbology cannot carry.
    """
    if not 1 <= height <= 255:
        raise ConfigurationError(f"A barcode is 1 to 255 dots tall, not {height}.")
    if not 2 <= module <= 6:
        raise ConfigurationError(f"A barcode's narrowest bar is 2 to 6 dots wide, not {module}.")
    data = code128_data(text) if symbology == "CODE128" else ean13_data(text)
    return (
        GS + b"h" + bytes([height])
        + GS + b"w" + bytes([module])
        + GS + b"H" + bytes([HRI_POSITIONS[hri]])
        + GS + b"f" + bytes([1 if hri_font_b else 0])
        + GS + b"k" + bytes([BARCODE_SYSTEMS[symbology], len(data)]) + data
    )  # fmt: skip


def code128_data(text: str) -> bytes:
    """``GS k 73`` data for ``text``: code set B (``{B``), switching to set C (``{C``, two digits a
    byte) for runs of at least 4 digits at the end, or for all of it when it is all digits; ``{`` is sent as ``{{``.

    Raises:
        ConfigurationError: a character outside printable ASCII, or more than 255 bytes.
    """
    if not text or any(not 0x20 <= ord(ch) <= 0x7E for ch in text):
        raise ConfigurationError(f"A CODE128 barcode carries printable ASCII only, not {text!r}.")
    digits = len(text) - len(text.rstrip("0123456789"))
    if digits == len(text) and digits % 2 == 0:
        head, tail = "", text
    else:
        tail_len = digits - digits % 2 if digits >= 4 else 0
        head, tail = text[: len(text) - tail_len], text[len(text) - tail_len :]
    out = bytearray()
    if head:
        out += b"{B" + head.replace("{", "{{").encode("ascii")
    if tail:
        out += b"{C" + bytes(int(tail[i : i + 2]) for i in range(0, len(tail), 2))
    if len(out) > 255:
        raise ConfigurationError(f"A CODE128 barcode carries at most 255 bytes; {text[:20]!r}... is too long.")
    return bytes(out)


def ean13_data(code: str) -> bytes:
    """``GS k 67`` data: the first 12 digits (the printer prints the check digit itself).

    Raises:
        ConfigurationError: not 12 or 13 digits, or a 13th digit that is not the check digit.
    """
    if len(code) not in (12, 13) or not code.isascii() or not code.isdigit():
        raise ConfigurationError(f"An EAN-13 barcode is 12 or 13 digits, not {code!r}.")
    check = gtin_check_digit(code[:12])
    if len(code) == 13 and int(code[12]) != check:
        raise ConfigurationError(f"The EAN-13 code {code} has a wrong check digit: it should end in {check}.")
    return code[:12].encode("ascii")


def barcode_modules(symbology: Symbology, text: str) -> int:
    """How many modules (narrowest bars) wide the printed symbol is, quiet zones not counted."""
    if symbology == "EAN13":
        return 95
    data = code128_data(text)
    # each code set choice ("{B") and each escaped "{" ("{{") is two bytes and one symbol
    symbols = len(data) - data.count(b"{") + data.count(b"{{")
    return 11 * (symbols + 1) + 13  # + check symbol; the stop pattern is 13 modules


def receipt_barcode(symbology: Symbology, text: str, dots: int) -> bytes:
    """A receipt row's barcode at the widest module that fits ``dots``, digits below it.

    A code too wide even at 2 dots a module is printed as a QR code instead: a printer leaves
    out a barcode wider than its paper without a word, and the code must still scan.
    """
    modules = barcode_modules(symbology, text)
    for module in BARCODE_MODULES:
        if modules * module <= dots:
            hri_font_b = len(text) * 12 > dots  # font A's digits are 12 dots wide
            return barcode(symbology, text, module=module, hri_font_b=hri_font_b)
    return qr_code(text)
