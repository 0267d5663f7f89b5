"""From the lane's printer settings to what printing needs: the byte format and the receipt layout.

The profile gives the dots and columns; ``columns`` in lane.json may narrow the line or ask for
font B; the code page defaults to the profile's; the logo file is read once here. A logo that
cannot be read is a sentence in ``PrinterSetup.problem`` and receipts print without it: a
missing picture must never stop a receipt.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, get_args

from peripherals.errors import ConfigurationError
from peripherals.escpos_codec import BARCODE_MODULES, ReceiptFormat, barcode_modules
from peripherals.printer_logo import LogoUnavailable, load_logo
from peripherals.printer_profiles import PrinterProfile, get_profile
from pos_core.receipt import ReceiptLayout, SaleCode, sale_barcode

if TYPE_CHECKING:
    from peripherals.lane_config import PrinterSettings

log = logging.getLogger(__name__)

SALE_CODES: tuple[SaleCode, ...] = get_args(SaleCode)
_LONGEST_SALE_ID = "ffffffff-ffff-ffff-ffff-ffffffffffff"


@dataclass(frozen=True, slots=True)
class PrinterSetup:
    profile: PrinterProfile
    format: ReceiptFormat
    layout: ReceiptLayout
    problem: str | None = None
    """Why the logo is left out, when it is."""


def sale_code_kind(name: str, profile: PrinterProfile, where: str = "lane.json") -> SaleCode:
    """``qr``/``code128``/``none`` checked against what the printer can print.

    Raises:
        ConfigurationError: another name, or a CODE128 sale id wider than the printer's paper.
    """
    kind = name.strip().lower()
    if kind not in SALE_CODES:
        raise ConfigurationError(
            f"The printer receipt_barcode {name!r} in {where} is not one we know; use qr, code128 or none."
        )
    if kind == "code128":
        needed = barcode_modules("CODE128", sale_barcode(_LONGEST_SALE_ID)) * BARCODE_MODULES[-1]
        if needed > profile.dots:
            raise ConfigurationError(
                f"A CODE128 barcode of a sale id is {needed} dots wide and the {profile.name} prints {profile.dots}; "
                f'use "qr" on this printer.'
            )
    return kind


def printer_setup(settings: PrinterSettings, data_dir: Path) -> PrinterSetup:
    """The format and layout for ``settings``; a relative logo path is taken from ``data_dir``.

    Raises:
        ConfigurationError: an unknown profile, columns it cannot print, a code page or barcode it cannot.
    """
    profile = get_profile(settings.profile)
    columns, font_b = profile.columns(settings.columns)
    layout = ReceiptLayout(columns, sale_code_kind(settings.receipt_barcode, profile))
    code_page = profile.code_page if settings.code_page is None else settings.code_page
    fmt = ReceiptFormat(code_page=code_page, font_b=font_b, dots=profile.dots)
    if settings.logo is None:
        return PrinterSetup(profile, fmt, layout)
    path = Path(settings.logo).expanduser()
    try:
        logo = load_logo(path if path.is_absolute() else data_dir / path, profile.dots)
    except LogoUnavailable as exc:
        log.warning("receipt logo left out: %s", exc)
        return PrinterSetup(profile, fmt, layout, str(exc))
    log.info("receipt logo %s: %d x %d dots", path, logo.width, logo.height)
    return PrinterSetup(profile, ReceiptFormat(code_page, font_b=font_b, dots=profile.dots, logo=logo), layout)
