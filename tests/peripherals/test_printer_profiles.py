"""Printer profiles and the printer section of lane.json: columns, font, sale code, logo."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from peripherals.errors import ConfigurationError
from peripherals.escpos_codec import RasterImage
from peripherals.lane_config import PrinterSettings, parse_lane_config
from peripherals.printer_profiles import DEFAULT_PROFILE, PROFILES, get_profile
from peripherals.printer_setup import printer_setup


def test_profiles_give_paper_dots_and_columns() -> None:
    assert get_profile(None).name == DEFAULT_PROFILE == "epson-tm-t88"
    tm_t88, narrow = get_profile("epson-tm-t88"), get_profile("Generic-58MM")
    assert (tm_t88.paper_mm, tm_t88.dots, tm_t88.font_a_columns, tm_t88.font_b_columns) == (80, 512, 42, 56)
    assert (narrow.paper_mm, narrow.dots, narrow.font_a_columns) == (58, 384, 32)
    assert get_profile("generic-80mm").columns() == (48, False)
    for profile in PROFILES.values():  # font A is 12 dots a character, font B 9
        assert profile.font_a_columns * 12 <= profile.dots
        assert profile.font_b_columns * 9 <= profile.dots


def test_an_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(ConfigurationError) as caught:
        get_profile("star-tsp100")
    assert str(caught.value) == (
        "The printer profile 'star-tsp100' is not one we know; use one of epson-tm-t88, epson-tm-t20, "
        "generic-80mm, generic-58mm, star-tsp650."
    )


def test_columns_past_font_a_choose_font_b_and_past_font_b_are_refused() -> None:
    profile = get_profile("epson-tm-t88")
    assert profile.columns(40) == (40, False)
    assert profile.columns(56) == (56, True)
    with pytest.raises(ConfigurationError, match=r"^The printer columns 64 do not fit the epson-tm-t88 .*up to 56"):
        profile.columns(64)
    with pytest.raises(ConfigurationError, match="columns 8 do not fit"):
        profile.columns(8)


def test_lane_json_printer_section_with_profile_columns_barcode_and_logo() -> None:
    cfg = parse_lane_config(
        {"printer": {"target": "file:/tmp/r", "profile": "generic-80mm", "columns": 42,
                     "receipt_barcode": "CODE128", "logo": "logo.png"}}
    )  # fmt: skip
    assert cfg.printer == PrinterSettings("file:/tmp/r", None, "generic-80mm", 42, "code128", "logo.png")
    assert parse_lane_config({"printer": {"target": "file:/tmp/r"}}).printer == PrinterSettings("file:/tmp/r")


@pytest.mark.parametrize(
    ("section", "sentence"),
    [
        ({"profile": "tm88"}, "The printer profile 'tm88' is not one we know; use one of epson-tm-t88, "),
        ({"profile": 58}, "The printer profile in lane.json must be a non-empty text."),
        ({"columns": "32"}, "The printer columns in lane.json must be a whole number."),
        ({"profile": "generic-58mm", "columns": 48}, "The printer columns 48 do not fit the generic-58mm "),
        ({"receipt_barcode": "ean13"}, "The printer receipt_barcode 'ean13' in lane.json is not one we know; use qr, "),
        (
            {"profile": "generic-58mm", "receipt_barcode": "code128"},
            "A CODE128 barcode of a sale id is 510 dots wide and the generic-58mm prints 384; "
            'use "qr" on this printer.',
        ),
        ({"logo": ""}, "The printer logo in lane.json must be a non-empty text."),
    ],
)
def test_bad_printer_settings_are_one_sentence_naming_the_value(section: dict[str, object], sentence: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_lane_config({"printer": {"target": "file:/tmp/r", **section}})
    assert str(caught.value).startswith(sentence)


def test_setup_lays_out_for_the_profile_and_keeps_its_code_page(tmp_path: Path) -> None:
    setup = printer_setup(PrinterSettings("file:x", profile="generic-58mm"), tmp_path)
    assert (setup.layout.width, setup.layout.sale_code) == (32, "qr")
    assert (setup.format.dots, setup.format.code_page, setup.format.font_b, setup.format.logo) == (384, 19, False, None)
    wide = printer_setup(PrinterSettings("file:x", code_page=16, profile="epson-tm-t88", columns=56), tmp_path)
    assert (wide.layout.width, wide.format.font_b, wide.format.code_page) == (56, True, 16)


def test_setup_reads_a_logo_from_the_data_folder_narrowed_to_the_paper(tmp_path: Path) -> None:
    Image.new("L", (1000, 100), 0).save(tmp_path / "logo.png")  # all black, too wide for any roll
    setup = printer_setup(PrinterSettings("file:x", profile="generic-58mm", logo="logo.png"), tmp_path)
    assert setup.problem is None
    assert isinstance(setup.format.logo, RasterImage)
    assert (setup.format.logo.width, setup.format.logo.height) == (384, 38)


def test_a_missing_logo_is_a_sentence_and_the_printer_is_still_set_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    setup = printer_setup(PrinterSettings("file:x", logo="shop.png"), tmp_path)
    assert setup.format.logo is None
    assert setup.problem == (
        f"The receipt logo {tmp_path / 'shop.png'} does not exist; receipts print without it until the file is there."
    )
    assert setup.problem in caplog.text
