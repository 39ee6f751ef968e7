"""The digits of our form's boxes checked against one another: a digit that looks like another.

Tesseract reads a digit in a box from its shape alone, and on a 204x98 fax a `5` whose lower bowl
filled in is an `8` to it, read with 95% confidence. Its enlarged second readings see the same
pixels and agree. What it does not use is the page itself: one page holds forty or more digits
(SSN, EIN, dates), printed in one face, sent through one fax line, and the other `5`s of the
page look like this one. So every digit is compared, as a small picture, with the other digits
read in the same file: when one read as another digit is nearer than a right digit's neighbours
ever are, the box is flagged (never changed: the nearest picture only doubts the reading). The face
and the fax's damage are the file's own, so no font is assumed: a typewriter's return page is
measured against itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from parsers.form_glyphs import tall_glyphs

SIZE = 24  # pixels of the square each digit is drawn into, by its height
# Distances are in units of the usual one between a digit and its nearest twin (the median): the
# fax's own noise, whatever the face. On generated faxed boxes in three faces
# (tests/test_form_digits.py) a right digit's nearest other digit was never nearer than 1.57 of
# it; on the faxed forms of two held-out seeds (2,324 digits), 6 right digits were under 1.3, and
# the one misread digit (a `5` read `8`, 95% sure) was at 0.99.
OTHER = 1.3  # another digit's picture nearer than this: a doubt
NEARER = 0.6  # or nearer than this share of the nearest digit read the same (its true digit has no twin)
MIN_GLYPHS = 12  # fewer digits than this: too few pictures to compare
DOUBT = "a digit that looks like the other {other}s read on the page"


@dataclass(frozen=True)
class _Glyph:
    box: int  # index of the box it was read from
    digit: str
    picture: np.ndarray  # SIZE x SIZE, 1.0 ink


def _picture(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The glyph scaled to SIZE pixels high (its width in proportion), centred in a square."""
    x0, y0, x1, y1 = box
    ink = (image[y0:y1, x0:x1] < 128).astype(np.float32)
    h, w = ink.shape
    width = max(1, min(SIZE, round(w * SIZE / max(1, h))))
    scaled = cv2.resize(ink, (width, SIZE), interpolation=cv2.INTER_AREA)
    out = np.zeros((SIZE, SIZE), dtype=np.float32)
    left = (SIZE - width) // 2
    out[:, left:left + width] = scaled
    blurred: np.ndarray = cv2.GaussianBlur(out, (0, 0), 1.0)  # a pixel's shift costs little
    return blurred


def _glyphs(images: list[np.ndarray], texts: list[str]) -> list[_Glyph]:
    """Each box's digits paired with their pictures, for boxes whose blobs line up with them."""
    out = []
    for k, (image, text) in enumerate(zip(images, texts, strict=True)):
        digits = [c for c in text if c.isdigit()]
        if not digits or len(digits) != len(text.replace(" ", "")):
            continue
        boxes = tall_glyphs(image)
        if len(boxes) != len(digits):
            continue  # a broken or joined digit: which picture is which digit is not known
        out += [_Glyph(k, d, _picture(image, b)) for d, b in zip(digits, boxes, strict=True)]
    return out


def doubts(images: list[np.ndarray], texts: list[str]) -> list[str | None]:
    """A doubt for each box (crop image, digits read) whose digit looks like another (module doc)."""
    found: list[str | None] = [None] * len(images)
    glyphs = _glyphs(images, texts)
    if len(glyphs) < MIN_GLYPHS:
        return found
    flat = np.stack([g.picture.ravel() for g in glyphs])
    sq = (flat ** 2).sum(axis=1)
    dist = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * flat @ flat.T, 0))
    np.fill_diagonal(dist, np.inf)
    labels = np.array([g.digit for g in glyphs])
    same_nearest = np.array([dist[i][labels == labels[i]].min(initial=np.inf) for i in range(len(glyphs))])
    twins = same_nearest[np.isfinite(same_nearest)]
    if not len(twins):
        return found
    usual = max(float(np.median(twins)), 1e-6)
    for i, g in enumerate(glyphs):
        apart = labels != g.digit
        if not apart.any():
            continue
        j = int(np.flatnonzero(apart)[int(np.argmin(dist[i][apart]))])
        other, same = float(dist[i][j]) / usual, float(same_nearest[i]) / usual
        if other < OTHER or (np.isfinite(same) and other < NEARER * same):
            found[g.box] = found[g.box] or DOUBT.format(other=labels[j])
    return found
