"""ESC/POS bytes back to receipts: what a printer would have printed, for tests and a viewer.

The decoder follows the printer's state (justification, emphasis, size, code page) and splits
the stream into receipts at each cut. Commands it does not model are skipped by their documented
length; an unknown ``ESC x``/``GS x``/``FS x`` skips its two bytes, which is the best guess
without a parameter table, and is recorded in ``DecodedReceipt.skipped``.

A line's style is the printer state when its first character arrived (or at LF for an empty
line), which is how our encoder writes them: styles change only between lines.

Barcodes (GS k), QR codes (GS ( k) and raster images (GS v 0) are understood: a CODE128 or
EAN-13 barcode and a QR code come back as the row that printed them (``barcode``/``qr`` set, its
data as ``text``); every barcode and image is also listed with its sizes. ``printed_text()``
shows a receipt as text with ``[barcode CODE128: ...]``, ``[QR code: ...]`` and ``[image ...]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from peripherals.escpos_codec import BARCODE_SYSTEMS, CODE_PAGES, DRAWER_PINS, HRI_POSITIONS, PULSE_UNIT_MS
from pos_core.catalogue import gtin_check_digit
from pos_core.receipt import Align, ReceiptRow, Symbology

_ALIGNS: dict[int, Align] = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center", 50: "right"}
_PINS = {m: pin for pin, m in DRAWER_PINS.items()} | {48: 2, 49: 5}
_PARTIAL_CUTS = {1, 49, 66, 98, 104}
_HRI = {n: name for name, n in HRI_POSITIONS.items()} | {48 + n: name for name, n in HRI_POSITIONS.items()}
_ROW_SYMBOLOGIES: dict[int, Symbology] = {m: name for name, m in BARCODE_SYSTEMS.items()} | {2: "EAN13"}
_OTHER_SYMBOLOGIES = {0: "UPC-A", 1: "UPC-E", 3: "EAN8", 4: "CODE39", 5: "ITF", 6: "CODABAR", 72: "CODE93"}
_OTHER_SYMBOLOGIES |= {m + 65: name for m, name in _OTHER_SYMBOLOGIES.items() if m <= 6}

# Fixed total lengths (prefix included) of commands we skip without interpreting.
_ESC_FIXED = {
    b"!": 3, b"-": 3, b"2": 2, b"3": 3, b"G": 3, b"M": 3, b"J": 3, b"R": 3, b"{": 3, b"V": 3,
    b" ": 3, b"$": 4, b"\\": 4, b"=": 3, b"%": 3, b"?": 3, b"r": 3, b"U": 3, b"T": 3, b"L": 2,
    b"S": 2, b"W": 10, b"\x0c": 2, b"<": 2, b"i": 2, b"m": 2, b"e": 3, b"c": 4,
}  # fmt: skip
_GS_FIXED = {
    b"B": 3, b"L": 4, b"W": 4, b"a": 3, b"r": 3, b"I": 3,
    b"P": 4, b"b": 3, b"/": 3, b"T": 3, b"|": 3, b":": 2,
}  # fmt: skip


DecodedLine = ReceiptRow
"""A printed line carries exactly what a receipt row does, so decoding gives rows back."""


@dataclass(frozen=True, slots=True)
class DrawerKick:
    pin: int
    on_ms: int
    off_ms: int


@dataclass(frozen=True, slots=True)
class DecodedBarcode:
    """A barcode as printed (GS k) with the settings in force: height and module in dots, HRI position."""

    symbology: str
    data: str
    height: int
    module: int
    hri: str


@dataclass(frozen=True, slots=True)
class DecodedImage:
    """A raster image (GS v 0): its size in dots, the line it was printed before, and its alignment."""

    width: int
    height: int
    before_line: int
    align: Align = "left"


@dataclass(slots=True)
class DecodedReceipt:
    """One print job as the customer would see it (everything up to and including a cut)."""

    lines: list[DecodedLine] = field(default_factory=list)
    cut: bool = False
    partial_cut: bool = False
    drawer_kicks: list[DrawerKick] = field(default_factory=list)
    fed_lines: int = 0
    skipped: list[bytes] = field(default_factory=list)
    qr_codes: list[str] = field(default_factory=list)
    """What each printed QR code holds (GS ( k, function 80 store data), in print order."""
    barcodes: list[DecodedBarcode] = field(default_factory=list)
    images: list[DecodedImage] = field(default_factory=list)

    @property
    def texts(self) -> list[str]:
        return [line.text for line in self.lines]

    def is_empty(self) -> bool:
        return not (self.lines or self.drawer_kicks or self.fed_lines or self.skipped or self.images or self.barcodes)


@dataclass(slots=True)
class _State:
    align: Align = "left"
    bold: bool = False
    big: bool = False
    code_page: int = 0
    barcode_height: int = 162  # the printers' defaults after ESC @
    barcode_module: int = 3
    hri: int = 0


class _Decoder:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.state = _State()
        self.receipts: list[DecodedReceipt] = []
        self.current = DecodedReceipt()
        self.text = bytearray()
        self.line_style: DecodedLine | None = None
        self.stored_code = ""
        self.after_code = False  # the LF right after a printed QR code ends the code's row, not a new one

    # -- helpers -------------------------------------------------------------------------------
    def style_now(self) -> DecodedLine:
        return DecodedLine("", self.state.align, self.state.bold, self.state.big)

    def add_text(self, chunk: bytes) -> None:
        if self.line_style is None:
            self.line_style = self.style_now()
        self.text += chunk

    def end_line(self, force: bool) -> None:
        """Print the buffer; with ``force`` an empty buffer still makes an (empty) line."""
        if not self.text and not force:
            return
        style = self.line_style or self.style_now()
        codec = CODE_PAGES.get(self.state.code_page, "cp437")
        text = bytes(self.text).decode(codec, errors="replace")
        self.current.lines.append(DecodedLine(text, style.align, style.bold, style.big))
        self.text.clear()
        self.line_style = None

    def end_receipt(self, partial: bool) -> None:
        self.end_line(force=False)
        self.current.cut = True
        self.current.partial_cut = partial
        self.receipts.append(self.current)
        self.current = DecodedReceipt()

    def skip(self, length: int) -> None:
        self.current.skipped.append(self.data[self.pos : self.pos + 2])
        self.pos += length

    def byte(self, offset: int) -> int | None:
        i = self.pos + offset
        return self.data[i] if i < len(self.data) else None

    # -- main loop -----------------------------------------------------------------------------
    def run(self) -> list[DecodedReceipt]:
        n = len(self.data)
        while self.pos < n:
            b = self.data[self.pos]
            after_code, self.after_code = self.after_code, False
            if b == 0x0A and after_code and not self.text:
                self.pos += 1
                continue
            if b == 0x1B:
                self.esc()
            elif b == 0x1D:
                self.gs()
            elif b == 0x10:
                self.dle()
            elif b == 0x1C:
                self.fs()
            elif b == 0x0A:
                self.end_line(force=True)
                self.pos += 1
            elif b == 0x09:
                self.add_text(b"\t")
                self.pos += 1
            elif b < 0x20 or b == 0x7F:
                self.pos += 1  # CR, FF and other controls print nothing we model
            else:
                start = self.pos
                while self.pos < n and self.data[self.pos] >= 0x20 and self.data[self.pos] != 0x7F:
                    self.pos += 1
                self.add_text(self.data[start : self.pos])
        self.end_line(force=False)
        if not self.current.is_empty():
            self.receipts.append(self.current)
        return self.receipts

    def esc(self) -> None:
        cmd = self.byte(1)
        arg = self.byte(2)
        if cmd is None:
            self.pos = len(self.data)
            return
        c = bytes([cmd])
        if c == b"@":
            self.state = _State()
            self.pos += 2
        elif c in b"aEtd" and arg is None:
            self.pos = len(self.data)  # truncated command at the end of the stream
        elif c == b"a" and arg is not None:
            self.state.align = _ALIGNS.get(arg, self.state.align)
            self.pos += 3
        elif c == b"E" and arg is not None:
            self.state.bold = bool(arg & 1)
            self.pos += 3
        elif c == b"t" and arg is not None:
            self.state.code_page = arg
            self.pos += 3
        elif c == b"d" and arg is not None:
            self.end_line(force=False)
            self.current.fed_lines += arg
            self.pos += 3
        elif c == b"!" and arg is not None:
            # ESC ! n: bit 3 emphasised; bits 4 and 5 double height and width.
            self.state.bold = bool(arg & 0x08)
            self.state.big = bool(arg & 0x30)
            self.pos += 3
        elif c == b"p":
            t1, t2 = self.byte(3), self.byte(4)
            if arg is None or t1 is None or t2 is None:
                self.pos = len(self.data)
                return
            pin = _PINS.get(arg, 2)
            self.current.drawer_kicks.append(DrawerKick(pin, t1 * PULSE_UNIT_MS, t2 * PULSE_UNIT_MS))
            self.pos += 5
        elif c in (b"i", b"m"):  # obsolete full / partial cut
            self.pos += 2
            self.end_receipt(partial=c == b"m")
        elif c == b"*" and arg is not None:
            nl, nh = self.byte(3) or 0, self.byte(4) or 0
            width = nl + 256 * nh
            self.skip(5 + width * (3 if arg in (32, 33) else 1))
        else:
            self.skip(_ESC_FIXED.get(c, 2))

    def gs(self) -> None:
        cmd = self.byte(1)
        arg = self.byte(2)
        if cmd is None or arg is None:
            self.pos = len(self.data)
            return
        c = bytes([cmd])
        if c == b"!":
            self.state.big = bool(arg & 0x77)
            self.pos += 3
        elif c in b"hwH":
            if c == b"h":
                self.state.barcode_height = arg
            elif c == b"w":
                self.state.barcode_module = arg
            else:
                self.state.hri = arg
            self.pos += 3
        elif c == b"V":
            self.pos += 4 if arg >= 65 else 3  # function B/C/D carry a feed amount
            self.end_receipt(partial=arg in _PARTIAL_CUTS)
        elif c == b"(" or (c == b"8" and arg == ord("L")):
            # GS ( x pL pH data / GS 8 L p1 p2 p3 p4 data
            if c == b"(":
                length = 5 + (self.byte(3) or 0) + 256 * (self.byte(4) or 0)
                if arg == ord("k") and self.byte(5) == 49:  # QR code functions: understood, not skipped
                    self.qr_function(self.byte(6), length)
                    return
            else:
                p = [self.byte(i) or 0 for i in range(3, 7)]
                length = 7 + p[0] + (p[1] << 8) + (p[2] << 16) + (p[3] << 24)
            self.skip(length)
        elif c == b"v" and arg == ord("0"):
            xl, xh, yl, yh = (self.byte(i) or 0 for i in range(4, 8))
            self.end_line(force=False)
            width, height = 8 * (xl + 256 * xh), yl + 256 * yh
            self.current.images.append(DecodedImage(width, height, len(self.current.lines), self.state.align))
            self.pos += 8 + (xl + 256 * xh) * (yl + 256 * yh)
        elif c == b"k":
            self.barcode(arg)
        else:
            self.skip(_GS_FIXED.get(c, 2))

    def qr_function(self, function: int | None, length: int) -> None:
        """GS ( k for QR codes: 80 stores the data, 81 prints it as one row; the rest set it up."""
        if function == 80:
            self.stored_code = self.data[self.pos + 8 : self.pos + length].decode("ascii", errors="replace")
        elif function == 81:
            self.end_line(force=False)
            self.current.qr_codes.append(self.stored_code)
            style = self.style_now()
            self.current.lines.append(DecodedLine(self.stored_code, style.align, style.bold, style.big, qr=True))
            self.after_code = True
        self.pos += length

    def barcode(self, system: int) -> None:
        """GS k m: function A (m 0-6) ends its data with NUL, function B (m 65-79) gives its length."""
        if system <= 6:
            end = self.data.find(b"\x00", self.pos + 3)
            end = len(self.data) if end < 0 else end
            data, length = self.data[self.pos + 3 : end], end + 1 - self.pos
        else:
            data = self.data[self.pos + 4 : self.pos + 4 + (self.byte(3) or 0)]
            length = 4 + len(data)
        self.end_line(force=False)
        row_symbology = _ROW_SYMBOLOGIES.get(system)
        if system == 73:
            text = _code128_text(data)
        else:
            text = data.decode("ascii", errors="replace")
            if row_symbology == "EAN13" and len(text) == 12 and text.isdigit():
                text += str(gtin_check_digit(text))  # the printer adds the check digit
        name = row_symbology or _OTHER_SYMBOLOGIES.get(system, f"barcode system {system}")
        st = self.state
        hri = _HRI.get(st.hri, "none")
        self.current.barcodes.append(DecodedBarcode(name, text, st.barcode_height, st.barcode_module, hri))
        if row_symbology is not None:
            self.current.lines.append(DecodedLine(text, st.align, st.bold, st.big, barcode=row_symbology))
        self.pos += length

    def dle(self) -> None:
        cmd = self.byte(1)
        if cmd in (0x04, 0x05):  # DLE EOT n / DLE ENQ n: real-time requests, print nothing
            self.skip(3)
        elif cmd == 0x14:  # DLE DC4 fn a b
            self.skip(5)
        else:
            self.pos += 1  # a lone DLE is just a control byte

    def fs(self) -> None:
        cmd = self.byte(1)
        if cmd == ord("p"):
            self.skip(4)
        elif cmd in (ord("!"), ord("C"), ord("-")):
            self.skip(3)
        elif cmd == ord("("):
            self.skip(5 + (self.byte(3) or 0) + 256 * (self.byte(4) or 0))
        else:
            self.skip(2)


def _code128_text(data: bytes) -> str:
    """What a CODE128 barcode's GS k data reads as: ``{A``/``{B``/``{C`` choose the code set,
    ``{{`` is a ``{``, ``{1``-``{4`` and ``{S`` (function codes, shift) carry no character."""
    out: list[str] = []
    code_set = "B"
    i = 0
    while i < len(data):
        b = data[i]
        if b == 0x7B and i + 1 < len(data):
            nxt = chr(data[i + 1])
            if nxt in "ABC":
                code_set = nxt
            elif nxt == "{":
                out.append("{")
            i += 2
            continue
        out.append(f"{b:02d}" if code_set == "C" else chr(b))
        i += 1
    return "".join(out)


@dataclass(frozen=True, slots=True)
class PrintedLine:
    """One line of ``printed_lines``: its text, where on the paper, and whether double size."""

    text: str
    align: Align = "left"
    big: bool = False


def printed_lines(receipt: DecodedReceipt) -> list[PrintedLine]:
    """The receipt as the customer sees it, a line at a time; codes and images in brackets."""
    shown: list[PrintedLine] = []
    images = sorted(receipt.images, key=lambda image: image.before_line)
    for index, line in enumerate([*receipt.lines, None]):
        while images and images[0].before_line == index:
            image = images.pop(0)
            shown.append(PrintedLine(f"[image {image.width} x {image.height} dots]", image.align))
        if line is None:
            break
        if line.qr:
            text = f"[QR code: {line.text}]"
        elif line.barcode is not None:
            text = f"[barcode {line.barcode}: {line.text}]"
        else:
            text = line.text
        shown.append(PrintedLine(text, line.align, line.big))
    return shown


def printed_text(receipt: DecodedReceipt) -> list[str]:
    """The receipt as the customer sees it, one string a line; codes and images in brackets."""
    return [line.text for line in printed_lines(receipt)]


def decode_escpos(data: bytes) -> list[DecodedReceipt]:
    """Split ``data`` into receipts at each cut and decode each one.

    Text after the last cut (or a stream with no cut at all, such as a lone drawer kick) forms a
    final receipt whose ``cut`` is False. Never raises on malformed or truncated input.
    """
    return _Decoder(data).run()
