"""A letter Tesseract left out of a box it was sure of (parsers.form_glyphs.unread_ink).

Generated crops only: words typed in a box's crop (0 ink, 255 paper) at a fax's 98 rows an inch.
"""

from __future__ import annotations

import glob

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from parsers.form_glyphs import UNREAD_INK, unread_ink


def _typed(text: str, px: int = 26) -> np.ndarray:
    """`text` in Liberation Sans (installed by scripts/setup), squashed to 98 rows an inch and back."""
    found = glob.glob("/usr/share/fonts/**/LiberationSans-Regular.ttf", recursive=True)
    if not found:
        pytest.fail("LiberationSans-Regular.ttf is not installed: run scripts/setup (fonts-liberation2)")
    font = ImageFont.truetype(found[0], px)
    image = Image.new("L", (int(font.getlength(text)) + 40, 44), 255)
    ImageDraw.Draw(image).text((8, 6), text, fill=0, font=font)
    faxed = image.resize((image.width, image.height // 2)).point(lambda v: 0 if v < 140 else 255)
    return np.asarray(faxed.resize((image.width, image.height)), dtype=np.uint8)


@pytest.mark.parametrize("text", ["Kleatrairkvej 10", "hr@bluestem.com", "Jean-Luc O'Neil", "Suite 4, Inc."])
def test_a_box_read_whole_has_no_doubt(text: str) -> None:
    assert unread_ink(_typed(text), text) is None


@pytest.mark.parametrize(("typed", "read"), [("Kleatrairkvej 10", "Kleatrairkve 10"),
                                              ("Sherford", "Sherord"), ("payroll@wemtrien.com", "payrol@wemtrien.com")])
def test_a_letter_left_out_of_the_reading_is_doubted(typed: str, read: str) -> None:
    assert unread_ink(_typed(typed), read) == UNREAD_INK


def test_an_empty_box_or_reading_has_no_doubt() -> None:
    assert unread_ink(np.full((40, 120), 255, dtype=np.uint8), "x") is None
    assert unread_ink(_typed("Boise"), "") is None
