"""Letters Tesseract tells apart by one bar it cannot see at fax resolution: `c` or `e`, `C` or `E`.

Faxed at 204x98, the middle bar of a small `e` or a capital `E` is one or two rows of ink, and
Tesseract reads `mcshaltford` as `meshaltford` (or `NC` as `NE`), sure of itself (91-96%): a wrong
value with no doubt on it, and a state code misread is another valid one. A person looks at the
middle of the letter: an `e` and an `E` have a bar across it, a `c` and a `C` are open there. Once a
box is read, its letters are found as ink blobs; when they line up one to one with the characters
read, every `c`, `e`, `C` and `E` is checked for its bar, and a reading whose letter has the other
shape is flagged for staff (not corrected: the two readings are both plausible words, and a bar
broken by the fax looks like none). When the blobs do not line up (letters touching), nothing can
be said letter by letter and the reading is left as it is.
"""

from __future__ import annotations

import html
import re

import numpy as np
import pytesseract
from PIL import Image

from parsers.form_glyphs import column_blobs
from parsers.form_layout import READ_DPI

DOUBT = "c or e? (a letter's middle bar does not match the reading)"
CHECKED = frozenset("ceCE")
SPAN = 0.6  # of the letter's width: ink across its middle this wide is a bar
MIN_HEIGHT = 0.4  # of the tallest letter: lower blobs are stops, commas, dashes or speckle


def _letters(image: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Boxes (x0, y0, x1, y1) of the letters and digits, left to right: blobs of one column joined
    (an `i` and its dot, a letter the fax broke), the small marks left out by their height."""
    joined = column_blobs(image)
    if not joined:
        return []
    # A box's side or a ruled line the crop caught stands taller than any letter: not a letter.
    typical = float(np.median([b[3] - b[1] for b in joined]))
    joined = [b for b in joined if b[3] - b[1] <= 1.6 * typical]
    if not joined:
        return []
    tallest = max(b[3] - b[1] for b in joined)
    return [b for b in joined if b[3] - b[1] >= MIN_HEIGHT * tallest]


def _band(glyph: np.ndarray, top: float, bottom: float) -> np.ndarray:
    h = glyph.shape[0]
    return glyph[round(top * h):round(bottom * h) + 1]


def _open_right(rows: np.ndarray) -> bool:
    """A row of the band with no ink in the letter's right quarter: the mouth of a `c` or an `e`,
    which an `a`'s stem, an `o`'s or `n`'s side close."""
    w = rows.shape[1]
    return bool(len(rows)) and any(not r[w - max(1, w // 4):].any() for r in rows)


def shape(glyph: np.ndarray) -> str | None:
    """`c` for a letter open on the right with no middle bar, `e` for one with a bar across its
    middle and a mouth under it (capitals alike), None for any other shape or one too small to say.

    Both shapes are asked for, not only the bar, so that a letter wrongly lined up with the
    reading (an `o`, an `n`, an `a`) is no shape here rather than a false alarm."""
    h, w = glyph.shape
    if h < 6 or w < 4:
        return None
    cols = np.flatnonzero(glyph.any(axis=0))
    glyph = glyph[:, cols[0]:cols[-1] + 1]
    width = glyph.shape[1]
    middle = _band(glyph, 0.38, 0.62)
    bar = any(int(r.sum()) >= SPAN * width for r in middle)
    if not bar and _open_right(middle):
        return "c"
    if bar and _open_right(_band(glyph, 0.55, 0.85)):
        return "e"
    return None


_NARROW, _SLIM, _WIDE = set("ijlI1!|"), set("ftr"), set("mwMW")


def _width(char: str) -> float:
    """A character's width in units of a common letter's, as typed in any sans or serif font."""
    return 0.35 if char in _NARROW else 0.6 if char in _SLIM else 1.5 if char in _WIDE else 1.0


_GAP = 2  # pixels: two blobs this close may be one letter the fax broke (the stems of an `m`)
_FIT = 0.45  # mean width misfit per character above which the blobs are not taken to line up


_Box = tuple[int, int, int, int]
_Step = tuple[float, tuple[int, int, int], tuple[int, int] | None]  # cost, (chars, blobs, first blob), from
_MOVES = ((1, 1), (1, 2), (1, 3), (2, 1))  # a letter in one blob or broken in up to three; two joined


def _steps(chars: str, boxes: list[_Box]) -> dict[tuple[int, int], _Step]:
    """The cheapest way to line up the first i characters with the first j blobs, for every (i, j)."""
    n, m = len(chars), len(boxes)
    # A common letter's width here: the ink's width over the reading's (a median would be a
    # fragment's when the fax broke many letters).
    unit = sum(b[2] - b[0] for b in boxes) / sum(_width(c) for c in chars) or 1.0
    best: dict[tuple[int, int], _Step] = {(0, 0): (0.0, (0, 0, 0), None)}
    for i in range(n + 1):
        for j in range(m + 1):
            if (i, j) not in best:
                continue
            for di, dj in _MOVES:
                if i + di > n or j + dj > m or any(boxes[k + 1][0] - boxes[k][2] > _GAP
                                                   for k in range(j, j + dj - 1)):
                    continue
                want = sum(_width(c) for c in chars[i:i + di]) * unit
                cost = best[(i, j)][0] + abs((boxes[j + dj - 1][2] - boxes[j][0]) - want) / unit
                if (i + di, j + dj) not in best or cost < best[(i + di, j + dj)][0]:
                    best[(i + di, j + dj)] = (cost, (di, dj, j), (i, j))
    return best


def align(chars: str, boxes: list[_Box]) -> list[_Box | None] | None:
    """Each character's letter box, or None for one that shares a blob with its neighbour.

    The fax breaks letters (an `m` in two, a serif `C` in three) and joins them (`rn` in one):
    characters and blobs are lined up by their widths, a character taking one blob or up to three
    close ones, two characters one blob. None when no lining up fits the widths well (`_FIT`).
    """
    n, m = len(chars), len(boxes)
    if not n or not m:
        return None
    best = _steps(chars, boxes)
    if (n, m) not in best or best[(n, m)][0] > _FIT * n:
        return None
    out: list[_Box | None] = [None] * n
    key: tuple[int, int] | None = (n, m)
    while key is not None and key != (0, 0):
        _cost, (di, dj, j), prev = best[key]
        if di == 1:
            part = boxes[j:j + dj]
            out[key[0] - 1] = (part[0][0], min(b[1] for b in part), part[-1][2], max(b[3] for b in part))
        key = prev
    return out


def _mismatch(image: np.ndarray, pairs: list[tuple[str, _Box | None]]) -> bool:
    """Whether a `c`/`e`/`C`/`E` of the pairs stands on a letter of the other shape."""
    for char, box in pairs:
        if char in CHECKED and box is not None:
            x0, y0, x1, y1 = box
            seen = shape(image[y0:y1, x0:x1] < 128)
            if seen is not None and seen != char.lower():
                return True
    return False


_CHAR_BOX = re.compile(r"x_bboxes (\d+) \d+ (\d+) \d+; x_conf [\d.]+'>([^<]*)<")


def _tesseract_letters(image: np.ndarray, boxes: list[_Box], whitelist: str) -> list[tuple[str, _Box | None]]:
    """The box read alone, each character with the blob under Tesseract's own box for it: where it
    saw the letter, which a lining up by widths alone can miss by one among letters as wide."""
    config = f'--psm 7 --dpi {READ_DPI} -c hocr_char_boxes=1 -c "tessedit_char_whitelist={whitelist} "'
    try:
        hocr = pytesseract.image_to_pdf_or_hocr(Image.fromarray(image), extension="hocr", config=config)
    except (RuntimeError, OSError):
        return []
    out: list[tuple[str, _Box | None]] = []
    for m in _CHAR_BOX.finditer(hocr.decode("utf-8", "replace")):
        a, b, char = int(m.group(1)), int(m.group(2)), html.unescape(m.group(3))
        under = [(min(b, x1) - max(a, x0), (x0, y0, x1, y1)) for x0, y0, x1, y1 in boxes
                 if a <= (x0 + x1) / 2 <= b and min(b, x1) - max(a, x0) >= 0.6 * (x1 - x0)]
        out.append((char, max(under)[1] if under else None))
    return out


def c_or_e(image: np.ndarray, text: str, whitelist: str) -> str | None:
    """A doubt when a `c`/`e`/`C`/`E` read from `image` (0 ink, 255 paper) has the other's shape.

    The letters lined up by their widths (`align`) screen the reading; a mismatch found so is
    checked against Tesseract's own character boxes on the box read alone, and only a mismatch
    both find is a doubt (a lining up one letter off saw an `e` where the `c` beside it stood).
    """
    if not CHECKED & set(text):
        return None
    chars = "".join(c for c in text if c.isalnum() or c in "@&#")
    boxes = _letters(image)
    lined = align(chars, boxes)
    if lined is None or not _mismatch(image, list(zip(chars, lined, strict=True))):
        return None
    return DOUBT if _mismatch(image, _tesseract_letters(image, boxes, whitelist)) else None
