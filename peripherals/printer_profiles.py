"""Receipt printer profiles: paper width, dots, characters per line and code page, by name.

Pure data and a lookup. A lane names its printer's profile in ``lane.json``
(``"printer": {"target": ..., "profile": "generic-58mm"}``); the receipt is then laid out for that
many columns, a logo is narrowed to that many dots and the sale barcode is checked to fit.

Columns are the printable dots divided by the character cell: font A is 12 x 24 dots, font B
9 x 17 (Epson) or 9 x 24, so a 576-dot head prints 48 / 64 characters and a 512-dot TM-T88
42 / 56 (the figures in Epson's specifications and in python-escpos's printer database).

The Star TSP100 (TSP143) has no profile on purpose: it prints only Star raster graphics, not
ESC/POS text. A Star TSP650II set to its ESC/POS emulation (DIP switch) uses ``star-tsp650``.
"""

from __future__ import annotations

from dataclasses import dataclass

from peripherals.errors import ConfigurationError

DEFAULT_PROFILE = "epson-tm-t88"
"""The profile of a lane that names none: 42 columns, what receipts were always laid out for."""


@dataclass(frozen=True, slots=True)
class PrinterProfile:
    """What a model of receipt printer can put on one line."""

    name: str
    description: str
    paper_mm: int
    dots: int
    """Printable width in dots: the widest raster image or barcode it prints."""
    font_a_columns: int
    font_b_columns: int
    code_page: int = 19
    """Epson ``ESC t`` number used unless lane.json names another (19 = PC858, with the euro)."""

    def columns(self, override: int | None = None) -> tuple[int, bool]:
        """Characters per line, and whether that needs the narrow font B.

        Args:
            override: the lane's ``columns`` setting; None takes font A's width.

        Raises:
            ConfigurationError: more columns than the printer has in font B, or fewer than 16.
        """
        if override is None:
            return self.font_a_columns, False
        if not MIN_COLUMNS <= override <= self.font_b_columns:
            raise ConfigurationError(
                f"The printer columns {override} do not fit the {self.name} ({self.description}); "
                f"use {MIN_COLUMNS} to {self.font_a_columns} (font A) or up to {self.font_b_columns} (font B)."
            )
        return override, override > self.font_a_columns


MIN_COLUMNS = 16
"""Narrower than this, an amount and its label no longer share a line."""

PROFILES: dict[str, PrinterProfile] = {
    p.name: p
    for p in (
        PrinterProfile("epson-tm-t88", "Epson TM-T88 III to VI, 80 mm paper", 80, 512, 42, 56),
        PrinterProfile("epson-tm-t20", "Epson TM-T20 / TM-m30, 80 mm paper", 80, 576, 48, 64),
        PrinterProfile("generic-80mm", "any 80 mm ESC/POS printer, 203 dpi", 80, 576, 48, 64),
        PrinterProfile("generic-58mm", "any 58 mm ESC/POS printer, 203 dpi", 58, 384, 32, 42),
        PrinterProfile("star-tsp650", "Star TSP650II in ESC/POS emulation, 80 mm paper", 80, 576, 48, 64),
    )
}


def get_profile(name: str | None) -> PrinterProfile:
    """The profile called ``name`` (case does not matter); None gives the default.

    Raises:
        ConfigurationError: no profile has that name; the sentence lists the known ones.
    """
    if name is None:
        return PROFILES[DEFAULT_PROFILE]
    try:
        return PROFILES[name.strip().lower()]
    except KeyError:
        known = ", ".join(PROFILES)
        raise ConfigurationError(f"The printer profile {name!r} is not one we know; use one of {known}.") from None
