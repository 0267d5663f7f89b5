"""USB vendor and product ids of lane hardware, for ``detect_devices``.

Vendor names and most models come from the public USB ID list (``usb.ids``, linux-usb.org, as
shipped by usbutils/hwdata); a few models missing from it come from public reports, named in
``source``. A device from one of these vendors whose product id is not listed is reported as
"model not in our table" rather than guessed.

NCI (Weigh-Tronix) scales have no vendor id in ``usb.ids``: they connect over RS-232 or a
USB-serial adapter and are found by the serial probe instead. CAS Corp. has a vendor id but no
product listed. USB HID scales (Mettler Toledo's USB models) are listed but not driven yet: use
their RS-232 port with ``serial:``.
"""

from __future__ import annotations

from dataclasses import dataclass

PRINTER, SCANNER, SCALE, DISPLAY, TERMINAL = "receipt printer", "scanner", "scale", "line display", "payment terminal"
USB_IDS = "usb.ids"


@dataclass(frozen=True, slots=True)
class UsbVendor:
    name: str
    kind: str
    source: str = USB_IDS


@dataclass(frozen=True, slots=True)
class UsbModel:
    model: str
    kind: str
    note: str = ""
    source: str = USB_IDS


VENDORS: dict[int, UsbVendor] = {
    0x04B8: UsbVendor("Seiko Epson", PRINTER),
    0x0519: UsbVendor("Star Micronics", PRINTER),
    0x1D90: UsbVendor("Citizen Systems", PRINTER, "escpos-php issue #335 (CT-S310II on 1d90:2060)"),
    0x1504: UsbVendor("Bixolon", PRINTER, "chrome-raw-print issue #11 (SRP-150 on 1504:001a)"),
    0x0C2E: UsbVendor("Metrologic (Honeywell)", SCANNER),
    0x0536: UsbVendor("Hand Held Products (Honeywell)", SCANNER),
    0x05E0: UsbVendor("Symbol Technologies (Zebra)", SCANNER),
    0x05F9: UsbVendor("PSC Scanning (Datalogic)", SCANNER),
    0x0EB8: UsbVendor("Mettler Toledo", SCALE),
    0x0F0C: UsbVendor("CAS Corp.", SCALE),
    0x0FA8: UsbVendor("Logic Controls", DISPLAY),
    0x11CA: UsbVendor("VeriFone", TERMINAL),
    0x0F14: UsbVendor("Ingenico", TERMINAL),
}

_KEYBOARD = "keyboard wedge: no setting needed, scans arrive as typing"
_SERIAL_MODE = "USB serial mode: appears as a serial port"
_HID_SCALE = "USB HID scale: not driven yet; connect its RS-232 port and use serial:"

MODELS: dict[tuple[int, int], UsbModel] = {
    (0x04B8, 0x0202): UsbModel("TM-T88/TM-T70 series (Receipt Printer M129C)", PRINTER),
    (0x04B8, 0x0E03): UsbModel("TM-T20", PRINTER, source="Odoo hw_escpos supported_devices.py"),
    (0x04B8, 0x0E15): UsbModel("TM-T20II", PRINTER, source="Odoo hw_escpos supported_devices.py"),
    (0x0519, 0x0003): UsbModel("TSP100ECO/TSP100II", PRINTER),
    (0x1D90, 0x2060): UsbModel("CT-S310II", PRINTER, source="escpos-php issue #335"),
    (0x1504, 0x001A): UsbModel("SRP-150", PRINTER, source="chrome-raw-print issue #11"),
    (0x0C2E, 0x0200): UsbModel("MS7120", SCANNER),
    (0x0C2E, 0x0204): UsbModel("MS7120 (keyboard mode)", SCANNER, _KEYBOARD),
    (0x0C2E, 0x0206): UsbModel("MS4980", SCANNER),
    (0x0C2E, 0x0700): UsbModel("MS7120 (uni-directional serial mode)", SCANNER, _SERIAL_MODE),
    (0x0C2E, 0x0720): UsbModel("MS7120 (bi-directional serial mode)", SCANNER, _SERIAL_MODE),
    (0x0C2E, 0x0B61): UsbModel("Vuquest 3310g", SCANNER),
    (0x0C2E, 0x0B6A): UsbModel("Vuquest 3310 area-imaging scanner", SCANNER),
    (0x0C2E, 0x0B81): UsbModel("Voyager 1400g series", SCANNER),
    (0x05E0, 0x1200): UsbModel("bar code scanner", SCANNER),
    (0x05E0, 0x1701): UsbModel("bar code scanner (CDC serial)", SCANNER, _SERIAL_MODE),
    (0x05E0, 0x1900): UsbModel("SNAPI imaging scanner", SCANNER),
    (0x05F9, 0x1104): UsbModel("Magellan 2200VS", SCANNER),
    (0x05F9, 0x1206): UsbModel("Gryphon series (OEM mode)", SCANNER),
    (0x05F9, 0x2202): UsbModel("handheld scanner", SCANNER),
    (0x05F9, 0x2206): UsbModel("Gryphon series (keyboard mode)", SCANNER, _KEYBOARD),
    (0x05F9, 0x220C): UsbModel("Gryphon GD4430", SCANNER),
    (0x05F9, 0x2601): UsbModel("Magellan 1000i", SCANNER),
    (0x05F9, 0x2602): UsbModel("Magellan 1100i", SCANNER),
    (0x05F9, 0x4204): UsbModel("Gryphon series (RS-232 emulation)", SCANNER, _SERIAL_MODE),
    (0x0EB8, 0x2200): UsbModel("Ariva scale", SCALE, _HID_SCALE),
    (0x0EB8, 0xF000): UsbModel("PS60 scale", SCALE, _HID_SCALE),
    (0x11CA, 0x0207): UsbModel("VX 810 PIN pad", TERMINAL),
    (0x11CA, 0x0220): UsbModel("VX 805 PIN pad", TERMINAL),
}


@dataclass(frozen=True, slots=True)
class Identified:
    vendor: str
    model: str | None
    kind: str
    note: str

    @property
    def known(self) -> bool:
        return self.model is not None


def identify(vendor_id: int, product_id: int) -> Identified | None:
    """What ``vendor_id:product_id`` is, if it is lane hardware we know; None for anything else."""
    vendor = VENDORS.get(vendor_id)
    if vendor is None:
        return None
    model = MODELS.get((vendor_id, product_id))
    if model is None:
        return Identified(vendor.name, None, vendor.kind, "model not in our table")
    return Identified(vendor.name, model.model, model.kind, model.note)
