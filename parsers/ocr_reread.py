"""A second reading of values from their crops: numbers (SSN, EIN) read again on their own.

`ocr_page` reads a whole page; a value it doubted is cut from the page as it came in (`value_crop`:
square pixels, levelled by the skew the page reading found) and read again, digits and dashes only,
all of a page's numbers in one Tesseract call (`reread_numbers`). When the two readings disagree the
value stays flagged. Apart from `parsers.ocr` so that the page reading stays one module of a size
to read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
import pytesseract
from PIL import Image

from parsers.ocr import (
    _SKEW_KEY,
    DIGITS_WHITELIST,
    SPECKLE_PIXELS,
    _despeckle,
    _dpi,
    _for_tesseract,
    _is_bilevel,
    _resize,
    _scale_factors,
)
from parsers.types import Box, Limits


def value_crop(image: Image.Image, box: Box) -> np.ndarray | None:
    """One value's crop, prepared like its page: square pixels at about 300 dpi, level.

    `box` is in fractions of the levelled page (`ocr_page`'s boxes); the crop is cut from the page
    as it came in, turned back by the skew `ocr_page` found, so that only a strip of the page is
    scaled and levelled again, not all of it.
    """
    native = np.asarray(image.convert("L"))
    nh, nw = native.shape
    fx, fy = _scale_factors(image)
    w, h = nw * fx, nh * fy
    angle = float(image.info.get(_SKEW_KEY, 0.0))
    cx, cy = (box.x0 + box.x1) / 2 * w, (box.y0 + box.y1) / 2 * h
    if abs(angle) >= 0.1:  # the levelled page turned back: where the centre was on the page as sent
        back = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        cx, cy = back @ np.array([cx, cy, 1.0])
    half_w = (box.x1 - box.x0) * w / 2 + 0.01 * w
    half_h = (box.y1 - box.y0) * h / 2 + 0.004 * h
    x0, x1 = max(0, int((cx - half_w) / fx)), min(nw, math.ceil((cx + half_w) / fx))
    y0, y1 = max(0, int((cy - half_h) / fy)), min(nh, math.ceil((cy + half_h) / fy))
    if x1 <= x0 or y1 <= y0:
        return None
    crop = native[y0:y1, x0:x1]
    if _is_bilevel(image, crop):
        crop = np.where(_despeckle(crop < 128, SPECKLE_PIXELS), 0, 255).astype(np.uint8)
    if abs(fx - 1) > 0.01 or abs(fy - 1) > 0.01:
        crop = _resize(crop, fx, fy)
    if abs(angle) >= 0.1:
        ch, cw = crop.shape
        crop = cv2.warpAffine(crop, cv2.getRotationMatrix2D((cw / 2, ch / 2), -angle, 1.0), (cw, ch),
                              flags=cv2.INTER_LINEAR, borderValue=255)
    return crop


def reread_digits(image: Image.Image, box: Box, *, limits: Limits | None = None) -> str:
    """A second reading of one number (SSN, EIN) on its own: digits and dashes only.

    `box` is a candidate's box from `ocr_page` (fractions of the deskewed page). Used on numbers
    the first reading doubted; when the two readings disagree the candidate stays flagged.
    """
    return reread_numbers(image, [box], limits=limits)[0]


def reread_numbers(image: Image.Image, boxes: Sequence[Box], *, limits: Limits | None = None) -> list[str]:
    """`reread_digits` for several numbers of one page in one Tesseract call: their crops stacked
    one under the other, read as lines (a Tesseract process per number cost more than reading).
    """
    limits = limits or Limits()
    crops = [value_crop(image, box) for box in boxes]
    present = [c for c in crops if c is not None]
    if not present:
        return [""] * len(boxes)
    gap = 30
    width = max(c.shape[1] for c in present) + 2 * gap
    rows, spans, y = [], [], gap
    for c in crops:
        if c is None:
            spans.append((-1, -1))
            continue
        rows.append((y, c))
        spans.append((y, y + c.shape[0]))
        y += c.shape[0] + gap
    sheet = np.full((y, width), 255, dtype=np.uint8)
    for top, c in rows:
        sheet[top: top + c.shape[0], gap: gap + c.shape[1]] = c
    fx, _ = _scale_factors(image)
    config = f"--psm 6 --dpi {round(_dpi(image)[0] * fx)} -c tessedit_char_whitelist={DIGITS_WHITELIST}"
    try:
        data = pytesseract.image_to_data(_for_tesseract(sheet), lang="eng", config=config,
                                         output_type=pytesseract.Output.DICT, timeout=limits.ocr_seconds_per_page)
    except RuntimeError:  # a second opinion only: no reading is no harm
        return [""] * len(boxes)
    found: list[list[tuple[int, str]]] = [[] for _ in boxes]
    for i, said in enumerate(data["text"]):
        text = str(said).strip()
        if not text or float(str(data["conf"][i])) < 0:
            continue
        mid = int(str(data["top"][i])) + int(str(data["height"][i])) // 2
        for k, (top, bottom) in enumerate(spans):
            if top <= mid < bottom:
                found[k].append((int(str(data["left"][i])), text))
    return ["".join(t for _, t in sorted(words)) for words in found]
