"""Glyph shapes of our form's boxes that Tesseract confuses, checked on the crop: the foot of a
typewriter's serif `I` (read `T`, see `serif_i`), and the thin strokes of small letters (`i` or `l`).

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

from parsers.form_text import _Read

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
    # Letters' tops fall in two groups, ascenders (and capitals, digits) and x-height, with a `t`
    # between them: the x-height is where the lower half of the tops lie.
    if base - ascender < 8 or tops[-1] - ascender < 0.15 * (base - ascender):
        return None  # all capitals or digits, or all small letters: no x-height to tell by
    low = [t for t in tops if t >= (ascender + tops[-1]) / 2]
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


_TALL = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@&#/")


def column_blobs(image: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Boxes (x0, y0, x1, y1) of the ink blobs (0 ink, 255 paper), left to right, the blobs of one
    column joined: an `i` and its dot, a letter the fax broke across."""
    ink = (image < 128).astype(np.uint8)
    count, _labels, stats, _c = cv2.connectedComponentsWithStats(ink, connectivity=8)
    boxes = sorted((int(x), int(y), int(x + w), int(y + h)) for x, y, w, h, area in stats[1:count] if area >= 8)
    joined: list[tuple[int, int, int, int]] = []
    for b in boxes:
        if joined:
            a = joined[-1]
            overlap = min(a[2], b[2]) - max(a[0], b[0])
            if overlap > 0.5 * min(a[2] - a[0], b[2] - b[0]):
                joined[-1] = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                continue
        joined.append(b)
    return joined


UNREAD_INK = "a letter beside the ones read was not read"
UNREAD_HEIGHT = 0.4  # of the tallest blob: a letter's height, not a speck's, a stop's or a comma's
# Left out of the letters read: a stop is never letter-high. A comma, a hyphen or an apostrophe
# may be (a comma's tail reaches below the line), so each counts as one, which can only hide a doubt.
_SMALL_MARKS = frozenset(" .")


def unread_ink(image: np.ndarray, text: str) -> str | None:
    """A doubt when a box of words holds more letter-high blobs of ink than letters were read.

    Tesseract can leave out a thin letter and be sure of the rest (`kleatrairkve` for
    `kleatrairkvej` at 98 rows an inch): every reading agrees on the shorter word, but the ink of
    the letter is there. Letters that touch make fewer blobs than letters, never more, and an `i`
    or `j` is one blob with its dot (`column_blobs`); so one blob more than letters is a letter
    not read.
    """
    blobs = column_blobs(image)
    if not blobs or not text:
        return None
    tallest = max(b[3] - b[1] for b in blobs)
    inked = sum(b[3] - b[1] >= UNREAD_HEIGHT * tallest for b in blobs)
    return UNREAD_INK if inked > sum(c not in _SMALL_MARKS for c in text) else None


def tall_glyphs(image: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Boxes (x0, y0, x1, y1) of the full-height characters, left to right.

    Stops, commas, dashes and speckle are left out by their height, since capitals and digits
    share one height.
    """
    joined = column_blobs(image)
    if not joined:
        return []
    tallest = max(b[3] - b[1] for b in joined)
    return [b for b in joined if b[3] - b[1] >= 0.6 * tallest]


def lone_glyph(image: np.ndarray, text: str) -> str:
    """`text` read from a box holding a single letter, with that letter read once.

    Alone in its box (a middle initial), a letter is read twice by Tesseract's LSTM, in both cases
    (`Pp`, `Vv`, `Ww`), at any enlargement and page segmentation. When the box's ink is one
    full-height character and the reading is one letter twice, it is that letter; anything else
    is left as read.
    """
    letters = text.replace(" ", "")
    if len(letters) != 2 or not letters.isalpha() or letters[0].casefold() != letters[1].casefold():
        return text
    return letters[0] if len(tall_glyphs(image)) == 1 else text


def _looks_like_serif_i(image: np.ndarray, box: tuple[int, int, int, int]) -> bool:
    """A foot as wide as the head and wider than the stem: the I of typewriter fonts, not a T."""
    x0, y0, x1, y1 = box
    glyph = image[y0:y1, x0:x1] < 128
    band = max(1, (y1 - y0) // 6)
    mid = (y1 - y0) // 2
    top_cols = glyph[:band].any(axis=0)
    top, foot = int(top_cols.sum()), int(glyph[-band:].any(axis=0).sum())
    mid_cols = np.nonzero(glyph[mid - band // 2: mid + band // 2 + 1].any(axis=0))[0]
    stem = int(mid_cols[-1] - mid_cols[0] + 1) if len(mid_cols) else 0  # span: an O is wide here
    solid = top > 0 and int(np.diff(top_cols.astype(np.int8)).clip(min=0).sum()) <= 1  # one bar, not an X
    return solid and 0.7 * top <= foot <= 1.4 * top and foot >= 1.8 * max(1, stem)  # not an L either


def serif_i(image: np.ndarray, read: _Read) -> tuple[_Read, str | None]:
    """Check every `T` read: a serif `I` (typewriter fonts) has a foot as wide as its head.

    Tesseract reads the serif I of monospaced fonts as T, sure of itself (96%) on 204x98 faxes.
    When the full-height ink blobs line up with the characters read, a `T` whose foot is as wide
    as its head (and wider than its stem) becomes `I`, flagged; when they do not line up, the `T`
    cannot be checked and is flagged.
    """
    tall = [i for i, c in enumerate(read.text) if c in _TALL]
    boxes = tall_glyphs(image)
    if len(boxes) != len(tall):
        # Blobs and characters do not line up (letters touching): if no blob has the shape of a
        # serif I, or every such blob was read as an I, the Ts read are Ts.
        shaped = sum(_looks_like_serif_i(image, b) for b in boxes)
        if shaped <= read.text.count("I"):
            return read, None
        return read, "T or I? (the characters could not be checked one by one)"
    out = list(read.text)
    changed = False
    for i, box in zip(tall, boxes, strict=True):
        if out[i] == "T" and _looks_like_serif_i(image, box):
            out[i], changed = "I", True
    if not changed:
        return read, None
    text = "".join(out)
    return _Read(text, read.conf, text.split()), "I or T? (a T with a foot)"


CUT_SHORT = "the text runs to the end of its box: cut short?"
EDGE_ROWS = 0.2  # of the crop's height: ink rows at its end that make a cut letter, not speckle


def cut_short(image: np.ndarray, margin: int = 4) -> str | None:
    """A doubt when ink stands in the last `margin` columns of a text box's crop (0 ink, 255 paper).

    A viewer clips what is typed past a field's end, so a value longer than its box is printed
    cut at the box's edge (`... DE LA GRAILTSTEA`), and every reading agrees on the cut text. Typed
    text that fits ends well before the edge; the box's own side is taken off before
    (`form_crops._drop_side_lines`), so ink there a fifth of the box high is a letter (the leg
    of a capital A cut through is about that much).
    """
    rows = int((image[:, -margin:] < 128).any(axis=1).sum())
    return CUT_SHORT if image.shape[1] > 4 * margin and rows >= EDGE_ROWS * image.shape[0] else None
