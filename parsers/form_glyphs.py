"""The thin strokes of a box typed in small letters, told apart by their shape: `i` or `l`.

Typed in lower or mixed case and faxed, a small `l` (a stroke up to the ascender, no dot) is read
by Tesseract as `i` in most sans fonts (`sondley` -> `sondiey`, `blvd` -> `bivd`), and sure of it.
Once a box is read, every thin one-stroke glyph on it is found and classified by what a person
looks at: a dot above a stroke of x-height is an `i`; a stroke reaching above the x-height with no
dot is an `l` (or a capital `I`, a `1`) - or an `i` whose dot the fax joined to its stroke, which
is why nothing is corrected: when the glyphs line up with the thin letters read and an `i` stands
where an undotted tall stroke is, or when they do not line up and dots are missing for the `i`s
read, the reading is flagged for staff, never taken as sure.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

THIN = "iIl1|!"  # the characters a thin one-stroke glyph is read as
DOUBT = "a small i or l? (the dots were counted)"


@dataclass(frozen=True)
class _Stroke:
    x0: int
    x1: int
    top: int
    dotted: bool


def _strokes(image: np.ndarray) -> tuple[list[_Stroke], int, int, int] | None:
    """The thin strokes left to right, the x-height line and the ascender line (rows) and how many
    dots there are, or None when the box holds no text that can be measured."""
    ink = (image < 128).astype(np.uint8)
    count, _labels, stats, _c = cv2.connectedComponentsWithStats(ink, connectivity=8)
    blobs = [tuple(int(v) for v in stats[k, :5]) for k in range(1, count) if stats[k, cv2.CC_STAT_AREA] >= 3]
    if len(blobs) < 3:
        return None
    heights = [h for _x, _y, _w, h, _a in blobs]
    tall = max(heights)
    body = [b for b in blobs if b[3] >= 0.45 * tall]  # letters, not dots, commas or speckle
    if len(body) < 2:
        return None
    bottoms = sorted(y + h for _x, y, _w, h, _a in body)
    base = bottoms[len(bottoms) // 2]
    tops = sorted(y for _x, y, _w, _h, _a in body)
    ascender = tops[0]
    # Letters' tops fall in two groups, ascenders (and capitals, digits) and x-height: split at the
    # widest jump between them.
    jump, cut = max((tops[k + 1] - tops[k], k + 1) for k in range(len(tops) - 1))
    if base - ascender < 8 or jump < 0.15 * (base - ascender):
        return None  # all capitals or digits, or all small letters: no x-height to tell by
    low = tops[cut:]
    xline = low[len(low) // 2]
    dots = [b for b in blobs if b[3] < 0.45 * tall and b[1] + b[3] <= xline + 1 and b[2] <= 0.3 * tall]
    out = []
    for x, y, w, h, _a in body:
        if w > max(3, 0.22 * h) or abs(y + h - base) > 2:
            continue  # not one thin stroke standing on the baseline (a `j` hangs below it)
        dotted = any(dx < x + w + 1 and dx + dw > x - 1 and dy + dh <= y + 1 for dx, dy, dw, dh, _da in dots)
        out.append(_Stroke(x, x + w, y, dotted))
    return sorted(out, key=lambda s: s.x0), xline, ascender, len(dots)


def i_or_l(image: np.ndarray, text: str) -> tuple[str, str | None]:
    """`text` read from `image` (0 ink, 255 paper) with its thin letters checked (see module)."""
    if "i" not in text and "l" not in text:
        return text, None
    found = _strokes(image)
    if found is None:
        return text, None
    strokes, xline, ascender, dots = found
    at = [k for k, c in enumerate(text) if c in THIN]
    if len(strokes) != len(at):
        return text, DOUBT if text.count("i") + text.count("j") > dots else None
    above = xline - 0.35 * (xline - ascender)  # clearly above the x-height: an ascender (or a dot on it)
    for k, st in zip(at, strokes, strict=True):
        if text[k] == "i" and not st.dotted and st.top < above:
            # An `l`'s stroke, or an `i` whose dot the fax joined to it: the two cannot be told
            # apart at this resolution (measured: correcting them broke as many right values as
            # it mended), so the reading is kept and flagged.
            return text, DOUBT
    return text, None
