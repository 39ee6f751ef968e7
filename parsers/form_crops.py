"""The boxes of our form cut out of a page, cleaned for reading: a box's crop without its side
lines and the dots of empty comb cells, how many of its cells are inked, a tick in a check box.
Cut from `form_zones` (which reads the crops) so that each stays under 500 lines."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from parsers.form_layout import (
    _DATE_SEPARATORS,
    CELL_W,
    MIN_INK_PIXELS,
    FieldSpec,
    Option,
    _px,
)


@dataclass
class _Crop:
    spec: FieldSpec
    image: np.ndarray  # 0 ink, 255 paper
    chars: int = 0  # for combs: how many cells have ink, so how many characters must be read


def _field_crop(page: np.ndarray, spec: FieldSpec) -> np.ndarray:
    """The inside of a field's box without its printed lines.

    A comb or date is cut into its cells (separator cells left out), each cell trimmed to its ink
    and the characters set side by side like one typed word: Tesseract reads a word far better
    than digits spread over boxes (it took box gaps for missing or extra characters).
    """
    inset = 2.2
    y0, y1 = _px(spec.y + inset), _px(spec.y + spec.h - inset)
    if spec.kind not in ("comb", "date"):
        # A viewer sets typed text 2 points from the box's left edge, and the tail of a `j` or the
        # foot of a `f` reaches further: cut close to the sides, then erase what is left of them.
        side = 1.0
        crop = page[y0:y1, _px(spec.x + side):_px(spec.x + spec.w - side)].copy()
        return _drop_inner_dots(_drop_streaks(_drop_side_lines(crop)))
    wall = 2.4
    pieces: list[np.ndarray] = []  # each inked cell, then a gap
    gap = np.full((y1 - y0, 6), 255, dtype=np.uint8)
    for i in range(spec.cells):
        if spec.kind == "date" and i in _DATE_SEPARATORS:
            continue
        cell = page[y0:y1, _px(spec.x + i * CELL_W + wall):_px(spec.x + (i + 1) * CELL_W - wall)]
        cell = _drop_inner_dots(cell)
        cols = np.nonzero((cell < 128).sum(axis=0) >= 1)[0]
        if len(cols) == 0:
            continue
        pieces += [cell[:, cols[0]:cols[-1] + 1], gap]
    if not pieces:
        return np.full((y1 - y0, 8), 255, dtype=np.uint8)
    return np.concatenate([gap, gap, *pieces, gap], axis=1)


def _drop_side_lines(crop: np.ndarray) -> np.ndarray:
    """Erase ink touching the crop's left or right side that runs most of its height: the box's
    own edge, not a character (a character there is shorter, or does not touch the side)."""
    ink = (crop < 128).astype(np.uint8)
    count, labels, stats, _c = cv2.connectedComponentsWithStats(ink, connectivity=8)
    height, width = crop.shape
    for k in range(1, count):
        x, _y, w, h, _area = stats[k]
        if (x == 0 or x + w >= width) and h >= 0.7 * height and w <= 0.25 * height:
            crop[labels == k] = 255
    return crop


def _drop_streaks(crop: np.ndarray) -> np.ndarray:
    """Erase a thin stroke that runs from the crop's top row to its bottom row, clear of any letter:
    a scanner's streak down the page (or a fold) crossing the box. Typed text sits inside the box
    with paper above and below it, so no character reaches both ends of the crop; a streak read
    would be an `l` or `1` in a box left empty."""
    ink = (crop < 128).astype(np.uint8)
    count, labels, stats, _c = cv2.connectedComponentsWithStats(ink, connectivity=8)
    height = crop.shape[0]
    for k in range(1, count):
        _x, y, w, h, _area = stats[k]
        if y == 0 and y + h >= height and w <= max(3, 0.1 * height):
            crop[labels == k] = 255
    return _drop_streak_through_letters(crop)


STREAK_ROWS = 0.9  # of the crop's rows: a column inked in this many runs from top to bottom


def _drop_streak_through_letters(crop: np.ndarray) -> np.ndarray:
    """Erase a streak that runs from top to bottom through a letter (`GRESSAN` read `GRESBAN`
    with the streak down its S): a column inked in nearly every row (with its half-inked neighbours, at most 3), taken
    off in the rows where paper stands either side of it, kept where a letter's stroke crosses it.
    No typed character is inked in nine rows of ten of its box (paper stands above and below)."""
    height, width = crop.shape
    inked = (crop < 128).sum(axis=0)
    x = 1
    while x < width - 1:
        if inked[x] < STREAK_ROWS * height:
            x += 1
            continue
        start, end = x, x + 1  # the streak's columns: the full one and its half-inked neighbours
        while start > 1 and inked[start - 1] >= height / 2:
            start -= 1
        while end < width - 1 and inked[end] >= height / 2:
            end += 1
        if end - start <= 3:
            left, right = crop[:, start - 1] >= 128, crop[:, end] >= 128
            crop[left & right, start:end] = 255
        x = end
    return crop


def _drop_inner_dots(cell: np.ndarray) -> np.ndarray:
    """Erase small blobs enclosed by a character's outline: the dot of a dotted zero.

    Typewriter and monospaced fonts dot their zeros; with the dot Tesseract reads 0 as 6, 8 or 9.
    No capital letter or digit has a separate small piece inside another's outline, so nothing
    else is lost.
    """
    ink = (cell < 128).astype(np.uint8)
    count, labels, stats, _c = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if count < 3:
        return cell
    out = cell
    big = [k for k in range(1, count) if stats[k, cv2.CC_STAT_AREA] >= 20]
    for k in range(1, count):
        x, y, w, h, area = stats[k]
        for j in big:
            bx, by, bw, bh, barea = stats[j]
            if j != k and area < 0.2 * barea and x > bx and y > by and x + w < bx + bw and y + h < by + bh:
                if out is cell:
                    out = cell.copy()
                out[labels == k] = 255
                break
    return out


def _inked_cells(page: np.ndarray, spec: FieldSpec) -> int:
    """How many character cells of a comb hold a character (0 for free text boxes)."""
    if spec.kind not in ("comb", "date"):
        return 0
    inset = 2.4
    y0, y1 = _px(spec.y + inset), _px(spec.y + spec.h - inset)
    n = 0
    for i in range(spec.cells):
        if spec.kind == "date" and i in _DATE_SEPARATORS:
            continue
        cell = page[y0:y1, _px(spec.x + i * CELL_W + inset):_px(spec.x + (i + 1) * CELL_W - inset)]
        n += int(_ink(cell) >= MIN_INK_PIXELS // 2)
    return n


def _ink(crop: np.ndarray) -> int:
    return int((crop < 128).sum())


def _has_stroke(crop: np.ndarray) -> bool:
    """A lone small letter (`j`, `i`, `l` typed in a viewer's small font) has less ink than
    `MIN_INK_PIXELS` but is one stroke half the box high, clear of its sides; speckle is not."""
    ink = (crop < 128).astype(np.uint8)
    count, _labels, stats, _c = cv2.connectedComponentsWithStats(ink, connectivity=8)
    width = crop.shape[1]
    return any(h >= 0.4 * crop.shape[0] and area >= 10 and x > 2 and x + w < width - 2
               for x, _y, w, h, area in stats[1:count])


def _tick(page: np.ndarray, opt: Option) -> float:
    inset = 2.0
    crop = page[_px(opt.y + inset): _px(opt.y + opt.size - inset), _px(opt.x + inset): _px(opt.x + opt.size - inset)]
    return float((crop < 128).mean()) if crop.size else 0.0
