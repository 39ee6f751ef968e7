"""Marks that are not text taken off a faxed page before OCR (issue 12, class 7), with the real
Tesseract: a scanner streak and ruled lines crossing the text are not read as `|` or `1`, and
dot or underscore leaders stand between a label and its value as in a PDF's text layer."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from parsers import ocr, page_marks
from parsers.image import parse_image
from parsers.layout import lines_from_words
from parsers.types import Limits, Part
from tests.faxgen import FONT_DIR, PAGE_DPI, fax, render_page, tiff_bytes


def _read(data: bytes) -> dict[str, tuple[str, float]]:
    """field -> (value, confidence) as the fax reader gives them."""
    part = Part(name="attachment 1: fax.tif", media_type="image/tiff", data=data, filename="fax.tif")
    ex = parse_image(part, Limits())
    return {c.field: (str(c.value), c.confidence) for record in ex.records for c in record}


def _values(data: bytes) -> dict[str, str]:
    return {k: v for k, (v, _) in _read(data).items()}


def test_find_marks_takes_lines_and_dots_and_leaves_letters() -> None:
    ink = np.zeros((400, 1200), dtype=bool)
    ink[100:130, 50:70] = True  # a letter's stem
    ink[100:130, 75:95] = True
    ink[128:130, 100:600] = True  # an underscore leader on the baseline
    for x in range(620, 800, 12):  # leader dots
        ink[127:130, x:x + 3] = True
    ink[100:130, 820:840] = True  # the value's first letter
    ink[0:400, 1000:1002] = True  # a streak down the page
    marks = page_marks.find_marks(ink, (200.0, 200.0))
    drop, leaders = marks.drop, marks.leaders
    assert drop[129, 300] and drop[128, 645] and drop[200, 1001]
    assert not drop[110:125, 50:95].any() and not drop[110:125, 820:840].any()
    assert len(leaders) == 1 and leaders[0].x0 <= 105 and leaders[0].x1 >= 780  # one separator


@pytest.mark.parametrize("resolution", ["fine", "normal"])
def test_streak_and_ruled_line_across_the_text_are_not_read(resolution: str) -> None:
    page = render_page(["Worker name: Jane Doe", "SSN: 123-45-6789", "Date of birth: 03/14/1985",
                        "Country of assignment: Germany"], font_size=12)
    draw = ImageDraw.Draw(page)
    x = round(2.05 * PAGE_DPI)  # through "Doe", the SSN's digits and the date
    draw.rectangle((x, 0, x + 3, page.height), fill=0)
    y = round(1.0 * PAGE_DPI) + round(12 * PAGE_DPI / 72) + 2  # ruled paper: a line on the first baseline
    draw.line((0, y, page.width, y), fill=0, width=2)
    faxed = fax(page, resolution=resolution)  # type: ignore[arg-type]
    words = ocr.ocr_page(faxed, page=1)
    assert not [w.text for w in words if "|" in w.text or w.text in ("1", "l", "I")]
    got = _read(tiff_bytes([faxed]))
    assert got["worker.ssn"][0] == "123-45-6789" and got["worker.date_of_birth"][0] == "1985-03-14"
    # The ruled line under the name took the hook of its `J` (`lane`): a word a line crossed or
    # touched is never trusted as read.
    for fld, want in (("worker.first_name", "Jane"), ("worker.last_name", "Doe")):
        value, conf = got[fld]
        assert value == want or conf < ocr.LOW_CONFIDENCE, (fld, value, conf)
    assert got["worker.first_name"][1] < ocr.LOW_CONFIDENCE


@pytest.mark.parametrize("resolution", ["fine", "normal"])
def test_leaders_separate_label_and_value(resolution: str) -> None:
    page = Image.new("L", (1700, 2200), 255)
    page.info["dpi"] = (PAGE_DPI, PAGE_DPI)
    lines = render_page(["Surname " + "." * 40 + " Doe", "First name", "Date of birth"], font_size=12)
    page.paste(lines, (0, 0))
    draw = ImageDraw.Draw(page)
    row = round(1.0 * PAGE_DPI) + round(12 * PAGE_DPI / 72 * 1.45)  # the second line's top
    base = row + round(12 * PAGE_DPI / 72)  # its baseline
    draw.line((round(2.0 * PAGE_DPI), base, round(3.9 * PAGE_DPI), base), fill=0, width=2)
    font = ImageFont.truetype(FONT_DIR + "DejaVuSans.ttf", round(12 * PAGE_DPI / 72))
    draw.text((round(4.0 * PAGE_DPI), row), "Jane", fill=0, font=font)
    faxed = fax(page, resolution=resolution)  # type: ignore[arg-type]
    texts = [line.text for line in lines_from_words(ocr.ocr_page(faxed, page=1))]
    assert not [t for t in texts if "eee" in t or "cec" in t]
    assert any(t.startswith("Surname ......") and t.endswith("Doe") for t in texts), texts
    assert any(t.startswith("First name ______") and t.endswith("Jane") for t in texts), texts
    got = _values(tiff_bytes([faxed]))
    assert got["worker.last_name"] == "Doe" and got["worker.first_name"] == "Jane"


def test_a_faint_word_broken_into_specks_over_one_another_is_no_leader() -> None:
    ink = np.zeros((400, 1200), dtype=bool)
    for x in range(100, 300, 12):  # a leader: dots one after the other
        ink[127:130, x:x + 3] = True
    for x in range(600, 660, 10):  # a faint `s`'s pieces: a top and a bottom stroke at each place
        ink[124:126, x:x + 6] = True
        ink[128:130, x + 1:x + 7] = True
    marks = page_marks.find_marks(ink, (200.0, 200.0))
    assert any(d.x0 <= 105 and d.x1 >= 290 for d in marks.leaders)
    assert not any(d.x1 > 590 for d in marks.leaders) and not marks.drop[124:130, 600:670].any()
