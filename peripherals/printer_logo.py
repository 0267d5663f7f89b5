"""A shop's logo file turned into a 1-bit raster image for the top of its receipts.

Pillow reads the file (PNG, or anything else it knows), transparent parts become white paper,
the picture is narrowed to the printer's dots (keeping its proportions) and each dot darker than
mid-grey prints black. Done once when the printer is set up, not per receipt.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, UnidentifiedImageError

from peripherals.errors import ConfigurationError
from peripherals.escpos_codec import RASTER_MAX_HEIGHT, RasterImage

BLACK_BELOW = 128
"""Grey levels under this print black: a logo's edges stay crisp, where dithering would fray them."""


class LogoUnavailable(ConfigurationError):
    """The logo file is missing or not an image; receipts print without it."""


def load_logo(path: Path, max_dots: int) -> RasterImage:
    """The picture at ``path`` as a raster image at most ``max_dots`` wide.

    Raises:
        LogoUnavailable: the file is missing, unreadable or not an image (one sentence).
    """
    try:
        with Image.open(path) as opened:
            opened.load()
            picture = opened.convert("RGBA")
    except FileNotFoundError:
        raise LogoUnavailable(
            f"The receipt logo {path} does not exist; receipts print without it until the file is there."
        ) from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or "not an image Pillow can read"
        raise LogoUnavailable(
            f"The receipt logo {path} cannot be used ({reason}); receipts print without it. Use a PNG file."
        ) from exc
    paper = Image.new("RGBA", picture.size, "white")
    paper.alpha_composite(picture)
    grey = paper.convert("L")
    width, height = grey.size
    scale = min(1.0, max_dots / width, RASTER_MAX_HEIGHT / height)
    if scale < 1.0:
        grey = grey.resize((max(1, int(width * scale)), max(1, int(height * scale))), Image.Resampling.LANCZOS)
    width, height = grey.size
    levels = grey.tobytes()
    rows = [[levels[y * width + x] < BLACK_BELOW for x in range(width)] for y in range(height)]
    return RasterImage.from_rows(rows)
