"""Boxes of our own form's fields on a skewed, shifted fax land on the value's ink (real Tesseract).

The review page outlines each field's box on the page image as received, so the box stored with a
value read from a faxed form must be in that image's coordinates, not the blank template's. The
faxes are made here with a known geometry (a shift, a rotation about the page's centre, the fax's
resampling, a page fed upside down), so where each value's ink ends up on the faxed page is known.
"""

from __future__ import annotations

import math
import random
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from parsers import form_zones as fz
from parsers.image import parse_image
from parsers.pdf_text import parse_pdf
from parsers.types import Box, Candidate, Limits, Part
from tests import formgen
from tests.docgen import image_pdf
from tests.faxgen import FONT_DIR, Resolution, fax, fax_header, tiff_bytes
from tests.synth import make_request


def _moved(page: Image.Image, shift: tuple[int, int], turn: float, upside_down: bool) -> Image.Image:
    """The printed page fed crooked: turned over if upside down, shifted, then skewed."""
    out = page.rotate(180) if upside_down else page
    moved = Image.new("L", out.size, 255)
    moved.paste(out, shift)
    moved = moved.rotate(turn, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
    moved.info["dpi"] = (formgen.DPI, formgen.DPI)
    return moved


def _ink_boxes(specs: list[fz.FieldSpec], printed: dict[str, str], size: tuple[int, int], fax_size: tuple[int, int],
               how: tuple[tuple[int, int], float, bool]) -> dict[str, tuple[int, int, int, int]]:
    """Each filled field's ink, drawn alone and moved like the page, as a pixel box on the fax."""
    out = {}
    for spec in specs:
        if spec.path not in printed:
            continue
        alone = Image.new("L", size, 255)
        formgen.fill_boxes(alone, [spec], printed, font="DejaVuSans.ttf", size_pt=12.0)
        moved = _moved(alone, *how).resize(fax_size, Image.Resampling.BOX)
        ys, xs = np.nonzero(np.asarray(moved) < 140)
        if len(xs):
            out[spec.path] = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    return out


def _fax(req: dict[str, Any], number: int, how: tuple[tuple[int, int], float, bool],
         resolution: Resolution) -> tuple[Image.Image, dict[str, tuple[int, int, int, int]]]:
    page = formgen.printed_pages(req, font="DejaVuSans.ttf", size_pt=12.0, pages=(number,))[0]
    faxed = fax(_moved(page, *how), resolution=resolution, noise=0.001, rng=random.Random(number),
                header=fax_header(random.Random(number), "ACME HR", number, 2))
    specs = [s for s in fz.layout().fields if s.page == number]
    return faxed, _ink_boxes(specs, formgen.printed_values(req), page.size, faxed.size, how)


def _pixels(box: Box, size: tuple[int, int]) -> tuple[float, float, float, float]:
    w, h = size
    return box.x0 * w, box.y0 * h, box.x1 * w, box.y1 * h


@pytest.mark.parametrize(("number", "how", "resolution"), [
    (1, ((30, -24), 2.5, False), "fine"),
    (2, ((-20, 18), -3.0, True), "normal"),
])
def test_field_boxes_follow_a_skewed_shifted_page(number: int, how: tuple[tuple[int, int], float, bool],
                                                  resolution: Resolution) -> None:
    req = make_request(random.Random(16), kind="employee")
    faxed, ink = _fax(req, number, how, resolution)
    found = fz.read_form_images([faxed], "fax")
    cands: list[Candidate] = [c for record in found.records for c in record]
    by_path = fz.layout().by_path()
    checked = 0
    tol = 3  # pixels: the fax's resampling and the registration's fit
    for c in cands:
        spec = by_path.get(c.field)
        if spec is None or c.field not in ink or c.provenance.box is None:
            continue
        x0, y0, x1, y1 = _pixels(c.provenance.box, faxed.size)
        ix0, iy0, ix1, iy1 = ink[c.field]
        assert x0 - tol <= ix0 and ix1 <= x1 + tol and y0 - tol <= iy0 and iy1 <= y1 + tol, (
            c.field, (x0, y0, x1, y1), ink[c.field])
        # The bounding box of the turned field box, no bigger: its centre is the box's centre moved.
        template = spec.box()
        cx, cy = (template.x0 + template.x1) / 2 * formgen.DPI * fz.PAGE_W / 72, \
            (template.y0 + template.y1) / 2 * formgen.DPI * fz.PAGE_H / 72
        (dx, dy), turn, upside_down = how
        w, h = formgen.DPI * fz.PAGE_W / 72, formgen.DPI * fz.PAGE_H / 72
        if upside_down:
            cx, cy = w - cx, h - cy
        cx, cy = cx + dx - w / 2, cy + dy - h / 2
        a = math.radians(turn)  # PIL turns counter-clockwise on screen, y pointing down
        ex, ey = w / 2 + cx * math.cos(a) + cy * math.sin(a), h / 2 - cx * math.sin(a) + cy * math.cos(a)
        ex, ey = ex * faxed.size[0] / w, ey * faxed.size[1] / h
        assert abs((x0 + x1) / 2 - ex) <= tol and abs((y0 + y1) / 2 - ey) <= tol, (c.field, (x0, y0, x1, y1), ex, ey)
        checked += 1
    assert checked >= 8, [c.field for c in cands]


def test_a_straight_page_keeps_the_templates_boxes() -> None:
    req = make_request(random.Random(16), kind="employee")
    page = formgen.printed_pages(req, font="DejaVuSans.ttf", size_pt=12.0, pages=(1,))[0]
    found = fz.read_form_images([page], "scan")
    by_path = fz.layout().by_path()
    cands = [c for record in found.records for c in record if c.field in by_path and c.provenance.box]
    assert len(cands) >= 8
    for c in cands:
        got, want = c.provenance.box, by_path[c.field].box()
        assert got is not None
        # One pixel of a 200 dpi page, at most.
        assert max(abs(got.x0 - want.x0), abs(got.x1 - want.x1)) < 1.5 / page.width, c.field
        assert max(abs(got.y0 - want.y0), abs(got.y1 - want.y1)) < 1.5 / page.height, c.field



_LETTER = [("Employee name: ", "Kevin Brooks"), ("Social Security number: ", "123-45-6789"),
           ("Date of birth: ", "03/14/1985"), ("Employer identification number: ", "12-3456789"),
           ("Employer: ", "Bluestem Agricultural Services LLC"), ("Start date of the assignment: ", "04/01/2027")]


def _letter(values_only: bool) -> Image.Image:
    """A typed request letter at 200 dpi; with `values_only` just the values, where the letter has them."""
    page = Image.new("L", (1700, 2200), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(FONT_DIR + "DejaVuSans.ttf", round(12 * 200 / 72))
    y = 260
    draw.text((200, 200), "" if values_only else "Request for a certificate of coverage", font=font, fill=0)
    for label, value in _LETTER:
        x = 200 + draw.textlength(label, font=font)
        if not values_only:
            draw.text((200, y), label, font=font, fill=0)
        draw.text((x, y), value, font=font, fill=0)
        y += 120  # far apart: a value's ink is its own
    page.info["dpi"] = (200, 200)
    return page


@pytest.mark.parametrize(("skew", "container"), [(2.8, "tiff"), (-2.2, "tiff"), (-2.6, "pdf")])
def test_ocr_boxes_are_on_the_page_as_received(skew: float, container: str) -> None:
    """Tesseract reads the levelled page; the boxes kept are on the skewed page the clerk sees."""
    faxed = fax(_letter(False), resolution="fine", skew_deg=skew, noise=0.001, rng=random.Random(3))
    ink_page = np.asarray(fax(_letter(True), resolution="fine", skew_deg=skew).convert("L")) < 128
    # Each value's ink as one blob: its letters joined by a dilation, then the dilation taken off.
    grown = cv2.dilate(ink_page.astype(np.uint8), np.ones((25, 25), np.uint8))
    _n, _labels, stats, _c = cv2.connectedComponentsWithStats(grown, connectivity=8)
    ink = [(int(x) + 12, int(y) + 12, int(x + w) - 12, int(y + h) - 12) for x, y, w, h, _a in stats[1:]]
    assert len(ink) == len(_LETTER)
    if container == "pdf":  # a fax server's PDF: the page is the image, rendered again to be read
        part = Part(name="fax", media_type="application/pdf", data=image_pdf([faxed.convert("L")], (204, 196)),
                    filename="fax.pdf")
        ex = parse_pdf(part, Limits())
    else:
        ex = parse_image(Part(name="fax", media_type="image/tiff", data=tiff_bytes([faxed]), filename="fax.tif"),
                         Limits())
    cands = [c for record in ex.records for c in record if c.provenance.box is not None]
    checked = 0
    for c in cands:
        assert c.provenance.box is not None
        if not any(c.raw.strip() in (v, v.split()[0], v.split()[-1]) for _label, v in _LETTER):
            continue  # a value taken from a whole line (the request type from "Employee name")
        x0, y0, x1, y1 = _pixels(c.provenance.box, faxed.size)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        hits = [b for b in ink if b[0] <= cx <= b[2] and b[1] <= cy <= b[3]]
        assert len(hits) == 1, (c.field, c.raw, (x0, y0, x1, y1), ink)
        bx0, by0, bx1, by1 = hits[0]
        # The box holds the value's ink, give or take Tesseract's own margin of a pixel or two.
        assert x0 - 4 <= bx0 and bx1 <= x1 + 4 and y0 - 4 <= by0 and by1 <= y1 + 4, (c.field, (x0, y0, x1, y1), hits)
        checked += 1
    assert checked >= 5, [(c.field, c.raw) for c in cands]
