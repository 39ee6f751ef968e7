"""A box's differing readings told apart by drawing each in the form's own font and comparing it
with the box's picture (analysis by synthesis).

Our form's text fields are set in Helvetica 11 pt (`intake.form`): a viewer that fills them draws
the value in Helvetica or a face with its shapes and widths (Liberation Sans, Nimbus Sans, Arial).
Faxed at 204x98, an `e` and an `a`, an `l` and a `t`, a `D` and an `O` differ by a few pixels, and
Tesseract's readings of one box at other enlargements disagree on just those letters (`Pessgros`,
`Passgros`); the most votes were measured to pick the wrong one about as often as the right one.
Here the box's ink is cut into its words (at its widest gaps), each word's readings are drawn and
fitted to that word's ink, strokes as heavy as the fax's, and compared only in the columns where
the readings differ, each piece at its best small shift. A word is taken from the reading whose
drawing fits clearly best (`MARGIN`), by more against more readings that read otherwise
(`PER_VOTE`); a box whose words fit no drawing well (`MOST_MISFIT`: a typewriter's face, a serif
face, handwriting) is left to the votes. Nothing chosen here is unflagged: the box's readings
differed, or a shape check doubted the letter swapped (`swap_letters`). Without a face drawn like
Helvetica on the machine (`scripts/setup` installs Liberation Sans) nothing is chosen.
"""

from __future__ import annotations

import glob
from difflib import SequenceMatcher
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from parsers import values
from parsers.form_crops import _Crop
from parsers.form_text import _Read, _value

# Faces drawn like Helvetica (same widths), in the order looked for; none found: no choice is made.
_FACES = ("LiberationSans-Regular.ttf", "NimbusSans-Regular.otf", "NimbusSans-Regular.t1", "Arial.ttf",
          "arial.ttf", "Helvetica.ttf", "FreeSans.ttf")
_SIZE = 64  # pixels: the drawing's size before it is fitted to the ink
MARGIN = 0.12  # the best drawing's misfit at least this share below the next one's
PER_VOTE = 0.06  # and this much more for each reading more that read the box's chosen word
MOST_MISFIT = 0.6  # a misfit above this (ink pixels off, per ink pixel): the font is not the box's
MIN_AREA = 3  # pixels: smaller blobs are speckle


@lru_cache(maxsize=1)
def _font() -> ImageFont.FreeTypeFont | None:
    for face in _FACES:
        found = glob.glob(f"/usr/share/fonts/**/{face}", recursive=True)
        if found:
            try:
                return ImageFont.truetype(found[0], _SIZE)
            except OSError:
                continue
    return None


def available() -> bool:
    """Whether a face drawn like Helvetica is installed (without one, nothing is ever chosen)."""
    return _font() is not None


def _ink_box(ink: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of the text's ink: its letters and the stops beside them, not speckle
    in the rest of the box."""
    count, _labels, stats, _c = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    blobs = [tuple(int(v) for v in stats[k, :5]) for k in range(1, count) if stats[k, cv2.CC_STAT_AREA] >= MIN_AREA]
    if not blobs:
        return None
    tall = max(h for _x, _y, _w, h, _a in blobs)
    main = [b for b in blobs if b[3] >= 0.35 * tall]
    x0, y0 = min(b[0] for b in main), min(b[1] for b in main)
    x1, y1 = max(b[0] + b[2] for b in main), max(b[1] + b[3] for b in main)
    reach = 0.6 * tall
    for x, y, w, h, _a in sorted(blobs):
        if (x1 <= x <= x1 + reach or x0 - reach <= x + w <= x0) and y >= y0 - 2 and y + h <= y1 + 2:
            x0, x1 = min(x0, x), max(x1, x + w)
    return x0, y0, x1, y1


@lru_cache(maxsize=512)
def _drawn(text: str) -> tuple[np.ndarray, tuple[float, ...]] | None:
    """`text` drawn in the font, cut to its ink (float, 1 ink), and where each character starts
    and the last ends (columns of the cut drawing); None when nothing is drawn."""
    font = _font()
    if font is None or not text.strip():
        return None
    left, top, right, bottom = (round(v) for v in font.getbbox(text))
    canvas = Image.new("L", (right - left + 8, bottom - top + 8), 0)
    ImageDraw.Draw(canvas).text((4 - left, 4 - top), text, fill=255, font=font)
    ink = np.asarray(canvas) >= 128
    box = _ink_box(ink)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    edges = tuple(4 - left + font.getlength(text[:k]) - x0 for k in range(len(text) + 1))
    return np.asarray(canvas, dtype=np.float32)[y0:y1, x0:x1] / 255.0, edges


def _words(ink: np.ndarray, box: tuple[int, int, int, int], n: int) -> list[tuple[int, int]] | None:
    """The column spans of `n` words in the ink's box: cut at its `n - 1` widest gaps, when those
    are clearly wider than the gaps between letters; None when they are not."""
    x0, y0, x1, y1 = box
    cols = np.asarray(ink[y0:y1, x0:x1].any(axis=0)).tolist()
    gaps: list[tuple[int, int]] = []  # (start, end) of paper runs inside the box
    k = 0
    while k < len(cols):
        if not cols[k]:
            j = k
            while j < len(cols) and not cols[j]:
                j += 1
            gaps.append((k, j))
            k = j
        else:
            k += 1
    if n == 1:
        return [(x0, x1)]
    if len(gaps) < n - 1:
        return None
    wide = sorted(gaps, key=lambda g: g[1] - g[0], reverse=True)
    cut, rest = wide[:n - 1], wide[n - 1:]
    if rest and min(g[1] - g[0] for g in cut) < 1.5 * max(g[1] - g[0] for g in rest):
        return None
    spans, start = [], 0
    for a, b in sorted(cut):
        spans.append((x0 + start, x0 + a))
        start = b
    spans.append((x0 + start, x1))
    return spans


def _word_inks(image: np.ndarray, n: int) -> list[np.ndarray] | None:
    """The ink (bool) of each of `n` words of the box, each cut to its own ink's box."""
    ink = image < 128
    box = _ink_box(ink)
    spans = _words(ink, box, n) if box is not None else None
    if spans is None:
        return None
    out = []
    for a, b in spans:
        part = ink[:, a:b]
        wbox = _ink_box(part)
        if wbox is None or wbox[2] - wbox[0] < 3 or wbox[3] - wbox[1] < 4:
            return None
        out.append(part[wbox[1]:wbox[3], wbox[0]:wbox[2]])
    return out


SHIFT = 2  # pixels a drawn letter may stand off its place once the word is fitted


def _windows(width: int, options: list[str]) -> list[tuple[int, int]]:
    """Column spans of a word's ink (`width` wide) where the options differ: each option's
    differing letters (or the letters beside a letter another has more) placed by its own drawing
    fitted to the ink, merged."""
    spans: list[tuple[int, int]] = []
    for o in options:
        found = _drawn(o)
        if found is None:
            return []
        drawn, edges = found
        sx = width / drawn.shape[1]
        for other in options:
            for tag, i1, i2, _j1, _j2 in SequenceMatcher(None, o, other, autojunk=False).get_opcodes():
                if tag == "equal":
                    continue
                lo, hi = (i1, i2) if i2 > i1 else (max(0, i1 - 1), min(len(o), i1 + 1))
                spans.append((max(0, int(edges[lo] * sx) - 1), min(width, int(np.ceil(edges[hi] * sx)) + 1)))
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(spans):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        elif hi > lo:
            merged.append((lo, hi))
    return merged


def _weighted(seen: np.ndarray, drawn: np.ndarray) -> np.ndarray:
    """The drawing fitted to the ink's size, its strokes as heavy as the ink's: a fax thickens or
    thins strokes, so the drawing's grey is cut where it inks as many pixels as the box has."""
    h, w = seen.shape
    grey = cv2.resize(drawn, (w, h), interpolation=cv2.INTER_AREA)
    share = float(seen.mean())
    cut = float(np.quantile(grey, 1 - share)) if 0 < share < 1 else 0.5
    return (grey >= min(max(cut, WEIGHT_CUTS[0]), WEIGHT_CUTS[1])).astype(np.float32)


WEIGHT_CUTS = (0.2, 0.8)


def _local(seen: np.ndarray, word: str, spans: list[tuple[int, int]]) -> float | None:
    """How far `word`, drawn and fitted to the word's ink, is from the ink in the columns `spans`:
    pixels off per ink pixel there, each span at the best of small shifts."""
    found = _drawn(word)
    if found is None or not spans:
        return None
    fitted = _weighted(seen, found[0])
    a = cv2.GaussianBlur(seen.astype(np.float32), (3, 3), 0)
    b = np.pad(cv2.GaussianBlur(fitted, (3, 3), 0), ((0, 0), (SHIFT, SHIFT)))
    off = ink = 0.0
    for c0, c1 in spans:
        off += min(float(np.abs(a[:, c0:c1] - b[:, c0 + SHIFT - dx:c1 + SHIFT - dx]).sum())
                   for dx in range(-SHIFT, SHIFT + 1))
        ink += float(seen[:, c0:c1].sum() + fitted[:, c0:c1].sum()) / 2
    return off / max(1.0, ink)


def _whole(seen: np.ndarray, word: str) -> float | None:
    """How far `word`'s drawing is from the word's ink over its whole width, a few letters at a
    time (each piece at its best small shift: a long word's letters drift from a drawing fitted
    end to end)."""
    width = seen.shape[1]
    step = max(4, round(CHUNK * width / max(1, len(word))))
    return _local(seen, word, [(a, min(width, a + step)) for a in range(0, width, step)])


CHUNK = 3  # letters a piece of `_whole` is wide


def _pick(seen: np.ndarray, options: list[str], votes: dict[str, int]) -> str | None:
    """The word among `options` whose drawing fits the word's ink clearly best, or None.

    `options[0]` is the word as the box's chosen reading has it, `votes` how many readings read
    each: a drawing that disagrees with more readings must fit by more (`PER_VOTE`)."""
    spans = _windows(seen.shape[1], options)  # compared where they differ, not over the whole word
    scores = {o: _local(seen, o, spans) for o in options}
    known = {o: v for o, v in scores.items() if v is not None}
    if len(known) < len(options):
        return None
    ranked = sorted(known, key=lambda o: known[o])
    best, second = known[ranked[0]], known[ranked[1]]
    need = MARGIN + PER_VOTE * max(0, votes.get(options[0], 0) - votes.get(ranked[0], 0))
    return ranked[0] if second - best >= need * second else None


def _in_font(inks: list[np.ndarray], choices: list[list[str]]) -> bool:
    """Whether the box is typed in the font: its words' ink, each against the best of its
    readings drawn, fits within `MOST_MISFIT` on the whole (a typewriter's face, a serif face or
    handwriting does not, and is left to the votes)."""
    fits = []
    for seen, options in zip(inks, choices, strict=True):
        found = [v for o in options if (v := _whole(seen, o)) is not None]
        if not found:
            return False
        fits.append(min(found))
    return float(np.mean(fits)) <= MOST_MISFIT


def choose_words(image: np.ndarray, base: str, texts: list[str]) -> str | None:
    """`base` (a box's reading) with each word on which the box's readings `texts` differ taken
    from the reading whose drawing fits that word's ink clearly best; None when nothing changes.

    Words are compared where the readings have as many words as `base`; a word none decides
    stays as `base` has it."""
    if _font() is None:
        return None
    words = base.split()
    same = [t.split() for t in texts if len(t.split()) == len(words)]
    if not words or len(same) < 2:
        return None
    choices = [list(dict.fromkeys([words[pos], *(t[pos] for t in same)])) for pos in range(len(words))]
    if all(len(c) < 2 for c in choices):
        return None
    inks = _word_inks(image, len(words))
    if inks is None or not _in_font(inks, choices):
        return None
    out = list(words)
    for pos, options in enumerate(choices):
        if len(options) < 2:
            continue
        votes = {o: sum(t[pos] == o for t in same) for o in options}
        picked = _pick(inks[pos], options, votes)
        if picked is not None:
            out[pos] = picked
    return " ".join(out) if out != words else None


SWAP_WEIGHT = 3  # a letter swapped in, read by no reading, against a box's reading: as against three


def swap_letters(image: np.ndarray, text: str, pairs: tuple[str, ...]) -> str | None:
    """`text` with letters a shape check doubted (`pairs`: `il`, `ce`) swapped for the other of
    their pair, where the swapped word's drawing fits the box's ink clearly better; None when none
    does. No reading read the swapped letter, so it must fit as if against `SWAP_WEIGHT` readings."""
    swap = {p[k]: p[1 - k] for p in pairs for k in (0, 1)}
    alts = [text[:k] + swap[c] + text[k + 1:] for k, c in enumerate(text) if c in swap]
    return choose_words(image, text, [text] * SWAP_WEIGHT + alts) if alts else None


# A box of our form (`form_zones`): its readings, its doubted letters.


def drawn_choice(crop: _Crop, best: _Read, every: list[_Read]) -> _Read:
    """`best` (the box's voted reading) with each word the readings `every` differ on taken from
    the reading whose drawing fits the box's ink clearly best (`choose_words`). The thinned check's
    reading is one of them: it offers a word and the picture decides. An e-mail address is one
    word (a space read in it is none); a choice that would no longer normalise is not taken."""
    email = crop.spec.path.endswith("email")
    texts = [r.text.replace(" ", "") if email else r.text for r in every]
    base = best.text.replace(" ", "") if email else best.text
    text = choose_words(crop.image, base, texts)
    if text is None or (_normalises(crop, best.text) and not _normalises(crop, text)):
        return best
    return _Read(text, best.conf, text.split())


def swapped(crop: _Crop, text: str, pairs: tuple[str, ...]) -> str:
    """`text` with a doubted letter swapped where the drawing says so (`swap_letters`),
    unless the swap makes a value that normalised into one that does not (`spain` is no `spaln`)."""
    found = swap_letters(crop.image, text, pairs)
    if found is None or (_normalises(crop, text) and not _normalises(crop, found)):
        return text
    return found


def _normalises(crop: _Crop, text: str) -> bool:
    """Whether `text` read from the box makes a value that normalises without doubt."""
    raw, _doubt = _value(crop.spec, _Read(text), crop.chars)
    try:
        return bool(raw) and values.normalize(crop.spec.path, raw)[1] is None
    except Exception:  # noqa: BLE001 - an odd reading simply does not normalise
        return False
