"""Marks on a faxed or scanned page that are not text: ruled lines, scanner streaks, leaders.

Tesseract reads what is not a letter as one: a scanner streak down the page or a table's border as
`|`, `1` or `l` glued to the words it crosses, an underline leader as `_`, `—` or `=`, a row of
leader dots as `eeeesee` or `cecce`; and a line crossing the text breaks its line finding, so that
whole values come out garbled. So they are taken off the page before OCR (issue 12, class 7):

- a *line* is a thin run of ink far longer than any letter (horizontal: a ruled line, an
  underline, a table border; vertical: a streak, a table border), found by a morphological opening;
  where it crossed a letter, the letter's stroke is mended from the ink on both sides; the short
  pieces a fax broke off it on its row go with it;
- a *dot leader* is a row of five or more dot-sized blobs on one baseline with nothing between.

It works on the page's ink mask at the resolution it came in (a fax's 204x98 or 204x196 dpi, one
bit deep, where a line is crisp and the page is a quarter of its size at 300 dpi), with sizes in
inches per axis. What was a leader between a label and its value (dots, or an underscore line with
nothing written on or under it but text beside it) is handed back as a box, so that the OCR'd
line carries a leader word there as a PDF's text layer does (`Name ........ Smith`): the label
finder splits label from value at it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Sizes in inches, turned into pixels at the page's dpi along their axis.
H_LINE_MIN = 0.25  # longer than any letter or dash of body text (an em dash at 12 pt is 0.17 in)
V_LINE_MIN = 0.30  # taller than any letter with its descender at body sizes
LINE_MAX_THICK = 0.03  # a ruled line or streak; a letter's stroke is seldom this thin that long
DOT_MAX = 0.04  # a leader dot (a full stop at 10-14 pt, grown by fax noise)
DOT_MAX_GAP = 0.09  # between two dots of one leader
DOT_RUN = 5  # fewer dots may be an ellipsis or initials
TEXT_HEIGHT = 0.12  # a body text line's height above its baseline, for the leader words' boxes
STACKED = 2  # dots over one another in a row (`_stacked`): a faint word's pieces, no leader
JOIN_BLANK = 1.5  # pieces of one leader a fax broke up, with only paper between them, may be this far apart

Dpi = tuple[float, float]


@dataclass(frozen=True)
class Leader:
    """A leader's place on the page in pixels (x0, y0, x1, y1), and what it was drawn with."""

    x0: float
    y0: float
    x1: float
    y1: float
    kind: str  # "dots" or "line"

    @property
    def text(self) -> str:
        return "......" if self.kind == "dots" else "______"


def _px(inches: float, dpi: float) -> int:
    return max(1, round(inches * dpi))


def _u8(mask: np.ndarray) -> np.ndarray:
    return mask.astype(np.uint8)


def _lines(ink: np.ndarray, length: int, thick: int, horizontal: bool) -> np.ndarray:
    """Mask of the thin straight runs of ink at least `length` long, in one direction.

    The ink is first thickened by a pixel across the run, so that a line a degree off level (a
    staircase of shorter runs) still holds one run that long.
    """
    across = (1, 3) if horizontal else (3, 1)  # cv2 kernels are (width, height)
    fat = cv2.dilate(_u8(ink), cv2.getStructuringElement(cv2.MORPH_RECT, across))
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1) if horizontal else (1, length))
    opened = cv2.morphologyEx(fat, cv2.MORPH_OPEN, kernel)
    if not opened.any():
        return np.zeros(ink.shape, dtype=bool)
    # A filled area (a logo, a black box, a bold heading) opens too: keep only what is thin.
    wide = cv2.getStructuringElement(cv2.MORPH_RECT, (1, thick + 3) if horizontal else (thick + 3, 1))
    solid = cv2.morphologyEx(opened, cv2.MORPH_OPEN, wide)
    found: np.ndarray = opened.astype(bool) & ink
    if solid.any():
        found &= ~cv2.dilate(solid, np.ones((3, 3), np.uint8)).astype(bool)
    return found


def _mend(ink: np.ndarray, line: np.ndarray, thick: int, horizontal: bool) -> np.ndarray:
    """The line's pixels that lie inside a letter it crossed (ink on both sides across the line)."""
    rest = _u8(ink & ~line)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (1, thick + 3) if horizontal else (thick + 3, 1))
    closed: np.ndarray = cv2.morphologyEx(rest, cv2.MORPH_CLOSE, kernel).astype(bool)
    mended: np.ndarray = line & closed
    return mended


def _segments(line: np.ndarray, dpi: Dpi) -> list[list[int]]:
    """The horizontal lines as [x0, y0, x1, y1]; pieces on one row a short gap apart are one line
    (a fax breaks an underscore leader up)."""
    count, _labels, stats, _ = cv2.connectedComponentsWithStats(_u8(line), connectivity=8)
    join_gap, row_tol = _px(0.12, dpi[0]), _px(0.02, dpi[1])
    joined: list[list[int]] = []
    for x, y, w, h in sorted((tuple(int(v) for v in stats[i, :4]) for i in range(1, count)),
                             key=lambda b: (b[1], b[0])):
        near = [s for s in joined if abs(y + h - s[3]) <= row_tol and -join_gap <= x - s[2] <= join_gap]
        if near:
            s = near[-1]
            s[0], s[1], s[2], s[3] = min(s[0], x), min(s[1], y), max(s[2], x + w), max(s[3], y + h)
            continue
        joined.append([x, y, x + w, y + h])
    return joined


def _leftovers(ink: np.ndarray, segments: list[list[int]], thick: int, dpi: Dpi) -> np.ndarray:
    """Short thin pieces of ink on a line's row beside or between its long pieces: what the fax
    left of the line where it broke it up shorter than a line is long."""
    out = np.zeros(ink.shape, dtype=bool)
    reach = _px(0.15, dpi[0])
    for x0, y0, x1, y1 in segments:
        bx0, by0 = max(0, x0 - reach), max(0, y0 - thick - 1)
        bx1, by1 = min(ink.shape[1], x1 + reach), min(ink.shape[0], y1 + thick + 1)
        sub = _u8(ink[by0:by1, bx0:bx1])
        count, labels, stats, _ = cv2.connectedComponentsWithStats(sub, connectivity=8)
        thin = np.zeros(count, dtype=bool)
        tops, heights = stats[:, cv2.CC_STAT_TOP], stats[:, cv2.CC_STAT_HEIGHT]
        thin[1:] = (heights[1:] <= thick + 1) & (tops[1:] > 0) & (tops[1:] + heights[1:] < sub.shape[0])
        if thin.any():
            out[by0:by1, bx0:bx1] |= thin[labels]
    return out


def _line_leaders(rest: np.ndarray, segments: list[list[int]], dpi: Dpi) -> list[Leader]:
    """The horizontal lines that are leaders: nothing written on or just under them, text beside.

    A table border has text above and below along it; an underline, text on it.
    """
    skip, band, text = _px(0.015, dpi[1]), _px(0.07, dpi[1]), _px(TEXT_HEIGHT, dpi[1])
    reach = _px(0.3, dpi[0])
    out = []
    for x0, y0, x1, y1 in segments:
        above = rest[max(0, y0 - band): max(0, y0 - skip), x0:x1]
        below = rest[y1 + skip: y1 + band, x0:x1]
        if (above.size and above.any(axis=0).mean() > 0.25) or (below.size and below.any(axis=0).mean() > 0.25):
            continue
        top = max(0, y1 - text)
        left = rest[top:y1, max(0, x0 - reach): max(0, x0 - 1)]
        right = rest[top:y1, x1 + 1: x1 + reach]
        if left.any() or right.any():
            out.append(Leader(x0, top, x1, y1, "line"))
    return out


Components = tuple[np.ndarray, np.ndarray, np.ndarray]  # labels, stats, which of them are not ink


def _stacked(stats: np.ndarray, ids: np.ndarray) -> int:
    """How many of a row's dots start before the one left of them ends: a leader's dots stand one
    after the other (an underline's broken pieces at most touch), the pieces of a faint letter the
    fax broke up (an `s`'s top and bottom) stand over one another."""
    left = np.sort(stats[ids, cv2.CC_STAT_LEFT])
    order = np.argsort(stats[ids, cv2.CC_STAT_LEFT], kind="stable")
    right = (stats[ids, cv2.CC_STAT_LEFT] + stats[ids, cv2.CC_STAT_WIDTH])[order]
    return int((left[1:] < right[:-1]).sum())


def _dot_leaders(ink: np.ndarray, dpi: Dpi, components: Components | None) -> tuple[np.ndarray, list[Leader]]:  # noqa: C901  (the leader finding's steps: dots, rows, spacing, extent)
    """Rows of leader dots: their pixels, and one `Leader` per row."""
    if components is None:
        _count, labels, stats, _ = cv2.connectedComponentsWithStats(_u8(ink), connectivity=8)
        gone = np.zeros(len(stats), dtype=bool)
    else:
        labels, stats, gone = components
    dx_max, dy_max, gap = _px(DOT_MAX, dpi[0]), _px(DOT_MAX, dpi[1]), _px(DOT_MAX_GAP, dpi[0])
    w, h = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    small = np.nonzero((w <= dx_max) & (h <= dy_max) & ~gone)[0]
    small = small[small != 0]
    none: tuple[np.ndarray, list[Leader]] = (np.zeros(ink.shape, dtype=bool), [])
    if len(small) < DOT_RUN:
        return none
    bottoms = stats[small, cv2.CC_STAT_TOP] + h[small]
    lefts = stats[small, cv2.CC_STAT_LEFT]
    tol = max(1, dy_max // 2)
    runs: list[list[int]] = []
    cluster: list[int] = []
    # Dots of one leader share a baseline: cluster by bottom edge, then cut each cluster at gaps.
    for k in [*np.argsort(bottoms, kind="stable").tolist(), -1]:
        if k >= 0 and (not cluster or bottoms[k] - bottoms[cluster[-1]] <= tol):
            cluster.append(k)
            continue
        run: list[int] = []
        for c in sorted(cluster, key=lambda c: lefts[c]):
            if run and lefts[c] - (lefts[run[-1]] + w[small[run[-1]]]) > gap:
                if len(run) >= DOT_RUN:
                    runs.append([int(small[r]) for r in run])
                run = []
            run.append(c)
        if len(run) >= DOT_RUN:
            runs.append([int(small[r]) for r in run])
        cluster = [k] if k >= 0 else []
    chosen = np.zeros(len(stats), dtype=bool)
    leaders = []
    text = _px(TEXT_HEIGHT, dpi[1])
    for run in runs:
        ids = np.array(run)
        x0 = int(stats[ids, cv2.CC_STAT_LEFT].min())
        x1 = int((stats[ids, cv2.CC_STAT_LEFT] + w[ids]).max())
        y1 = int((stats[ids, cv2.CC_STAT_TOP] + h[ids]).max())
        top = max(0, y1 - text)
        mine = np.zeros(len(stats), dtype=bool)
        mine[ids] = True
        others = ink[top:y1, x0:x1] & ~mine[labels[top:y1, x0:x1]]
        if others.any(axis=0).mean() > 0.1 or _stacked(stats, ids) >= STACKED:
            continue  # dots among letters, or over one another: a word the fax broke up, not a leader
        chosen[ids] = True
        leaders.append(Leader(x0, top, x1, y1, "dots"))
    if not leaders:
        return none
    return chosen[labels], leaders


def _band(ink: np.ndarray, line: np.ndarray, thick: int, horizontal: bool) -> np.ndarray:
    """What to take off for a line: it and its ragged edges (a fax line is a pixel thicker in
    places), but not the strokes of the letters it crossed."""
    grow = np.ones((3, 1) if horizontal else (1, 3), np.uint8)  # numpy shape: (rows, columns)
    band: np.ndarray = cv2.dilate(_u8(line), grow).astype(bool) & ink
    off: np.ndarray = band & ~_mend(ink, band, thick + 2, horizontal)
    return off


def _merge(leaders: list[Leader], dpi: Dpi, rest: np.ndarray | None = None,
           pieces: list[list[int]] | None = None) -> list[Leader]:
    """One leader per stretch of a row: dots and line pieces side by side are one separator.

    A fax breaks a thin underscore leader into pieces far apart (a 98 dpi row holds a fraction of
    its stroke), some too short to be lines, some read as dots, some with no text beside them: all
    on one row with nothing but paper between them (in `rest`, the ink left after the marks) are one
    leader, as written. `pieces` are the row's line pieces that were no leader on their own.
    """
    gap, row, far = _px(0.2, dpi[0]), _px(0.05, dpi[1]), _px(JOIN_BLANK, dpi[0])
    text, low = _px(TEXT_HEIGHT, dpi[1]), _px(LINE_MAX_THICK, dpi[1])

    def blank(a: Leader, b: Leader) -> bool:
        if rest is None:
            return False
        lo, hi = (a, b) if a.x1 <= b.x0 else (b, a)
        if hi.x0 - lo.x1 > far:
            return False
        # above the leader's own row: what the fax left of the line there is no writing
        y0, y1 = int(min(a.y1, b.y1)) - text, int(min(a.y1, b.y1)) - 2 * low - 1
        return not rest[max(0, y0): max(0, y1), int(lo.x1) + 1: max(int(lo.x1) + 1, int(hi.x0) - 1)].any()

    fill = [Leader(x0, max(0, y1 - text), x1, y1, "piece") for x0, _y0, x1, y1 in pieces or []]
    out: list[Leader] = []
    for d in sorted(leaders + fill, key=lambda d: (d.y1, d.x0)):
        same = next((i for i, o in enumerate(out) if abs(o.y1 - d.y1) <= row
                     and ((d.x0 - o.x1 <= gap and o.x0 - d.x1 <= gap) or blank(o, d))), None)
        if same is None:
            out.append(d)
            continue
        o = out[same]
        kind = o.kind if o.kind != "piece" else d.kind
        out[same] = Leader(min(o.x0, d.x0), min(o.y0, d.y0), max(o.x1, d.x1), max(o.y1, d.y1), kind)
    return [d for d in out if d.kind != "piece"]


@dataclass
class Marks:
    """What `find_marks` found: the pixels to take off, the leaders, and every line's box (a word
    a line crossed or touched may have lost a stroke with it, so its reading is doubtful)."""

    drop: np.ndarray
    leaders: list[Leader]
    lines: list[Leader]


def _line_boxes(line: np.ndarray, kind: str) -> list[Leader]:
    count, _labels, stats, _ = cv2.connectedComponentsWithStats(_u8(line), connectivity=8)
    return [Leader(int(x), int(y), int(x + w), int(y + h), kind) for x, y, w, h, _a in stats[1:count]]


def find_marks(ink: np.ndarray, dpi: Dpi, components: Components | None = None) -> Marks:
    """The pixels to take off the page (lines, streaks, leader dots), the leaders among them and
    the lines' boxes.

    `ink` is the page's ink mask; `dpi` its (x, y) resolution; `components`, when the caller has
    labelled the ink's connected components already (to take speckle off), saves labelling again.
    Nothing found: an empty mask.
    """
    hthick, vthick = _px(LINE_MAX_THICK, dpi[1]), _px(LINE_MAX_THICK, dpi[0])
    hline = _lines(ink, _px(H_LINE_MIN, dpi[0]), hthick, horizontal=True)
    vline = _lines(ink, _px(V_LINE_MIN, dpi[1]), vthick, horizontal=False)
    drop = np.zeros(ink.shape, dtype=bool)
    leaders: list[Leader] = []
    lines: list[Leader] = []
    if vline.any():
        drop |= _band(ink, vline, vthick, horizontal=False)
        lines += _line_boxes(vline, "vertical")
    if hline.any():
        drop |= _band(ink, hline, hthick, horizontal=True)
        segments = _segments(hline, dpi)
        lines += [Leader(x0, y0, x1, y1, "horizontal") for x0, y0, x1, y1 in segments]
        drop |= _leftovers(ink & ~drop, segments, hthick, dpi)
        leaders += _line_leaders(ink & ~drop, segments, dpi)
    dots, dot_leaders = _dot_leaders(ink & ~drop, dpi, components)
    drop |= dots
    pieces = [s for s in segments if s[1] >= s[3] - hthick - 2] if hline.any() else []  # thin ones only
    return Marks(drop, _merge(leaders + dot_leaders, dpi, ink & ~drop, pieces), lines)
