"""Words with positions, grouped into lines: the common shape of every text-bearing input.

Mail bodies, text PDFs and OCR all become lines of words, so one label finder
(`parsers.fields.find_fields`) serves them all; positions, where known, let it look for a value
to the right of or under its label.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from parsers.types import Box


@dataclass(frozen=True)
class Word:
    text: str
    box: Box | None = None  # fractions of the page; None for plain text
    conf: float = 1.0  # 0..1; 1.0 for text that was not OCRed
    page: int | None = None  # 1-based
    at: int | None = None  # plain text: the word's character offset in the text read (`lines_from_text`)


@dataclass
class Line:
    words: list[Word] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def box(self) -> Box | None:
        return Box.union([w.box for w in self.words if w.box is not None])

    @property
    def page(self) -> int | None:
        return self.words[0].page if self.words else None


_GAP = re.compile(r"\t+| {2,}")


def _line_words(raw: str, start: int = 0) -> list[Word]:
    """The words of a line; a tab or a run of spaces between a label and its value is kept as a
    `\t` word, since it separates them as a colon does ("Telephone of contact person<TAB>555").
    `start`: the line's offset in the text, so each word knows its own (where a value came from)."""
    lead = len(raw) - len(raw.lstrip())
    stripped = raw.strip()
    tokens = [Word(m.group(), at=start + lead + m.start()) for m in re.finditer(r"\S+", stripped)]
    m = _GAP.search(stripped)
    if m is None or re.search(r"[:;]", stripped[: m.start()]):
        return tokens
    cut = start + lead + m.start()
    return [*(w for w in tokens if (w.at or 0) < cut), Word("\t"), *(w for w in tokens if (w.at or 0) >= cut)]


def lines_from_text(text: str) -> list[Line]:
    """Split plain text into lines of words (no positions, full confidence; each word's offset)."""
    out, at = [], 0
    for raw in text.splitlines(keepends=True):
        out.append(Line(_line_words((raw.splitlines() or [""])[0], at)))
        at += len(raw)
    return out


TEXT_TAB_GAP = 1.5  # word heights, in a text layer: a word space is about a third of one, a tab stop several


_EMAIL = re.compile(r"[A-Za-z0-9][\w.%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_EMAIL_GAP = 0.9  # line heights: wider than the space OCR finds inside a word it broke, narrower than a tab


def _join_emails(ws: list[Word], height: float) -> list[Word]:
    """An e-mail address OCR broke into words at a stop or the `@` (`p. roe@x.com`, `roe @ x.com`,
    `roe@exam ple.com`) made one word again, when its pieces stand close and only together read as
    an address; its confidence is its weakest piece's."""
    out = list(ws)
    k = 0
    while k < len(out):
        if "@" not in out[k].text:
            k += 1
            continue
        lo, hi = k, k
        for _ in range(2):  # a piece on each side at most, twice: `p.` `roe` `@` `x.com`
            prev = out[lo - 1].text if lo > 0 else ""
            if prev and "@" not in prev and _close(out[lo - 1], out[lo], height) and (
                    out[lo].text.startswith("@") or re.fullmatch(r"[a-z0-9]{1,3}\.", prev)):
                lo -= 1  # `payroll @x.com`, an initial `p.` before `roe@x.com`
            if hi + 1 < len(out) and _close(out[hi], out[hi + 1], height) and \
                    not _EMAIL.fullmatch(_joined(out[lo:hi + 1])) and "@" not in out[hi + 1].text[1:]:
                hi += 1
        text = _joined(out[lo:hi + 1])
        if hi > lo and _EMAIL.fullmatch(text):
            boxes = [w.box for w in out[lo:hi + 1] if w.box is not None]
            merged = Word(text, Box.union(boxes), min(w.conf for w in out[lo:hi + 1]), out[k].page)
            out[lo:hi + 1] = [merged]
            k = lo + 1
        else:
            k += 1
    return out


def _joined(ws: list[Word]) -> str:
    return "".join(w.text for w in ws)


def _close(a: Word, b: Word, height: float) -> bool:
    return a.box is not None and b.box is not None and b.box.x0 - a.box.x1 <= _EMAIL_GAP * height


def _is_leader(w: Word) -> bool:
    return bool(re.fullmatch(r"[._]{3,}", w.text))


def _height(w: Word) -> float:
    return (w.box.y1 - w.box.y0) if w.box is not None else 0.0


def _v_overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    """Vertical overlap as a fraction of the shorter span."""
    inter = min(a1, b1) - max(a0, b0)
    shorter = min(a1 - a0, b1 - b0)
    return inter / shorter if shorter > 0 else 0.0


# In an OCR'd line, a gap this many line heights wide, and as many times the line's usual word gap,
# is a tab stop between a label and its value (a word space is about half a height; the value column
# of a tabbed letter starts a few millimetres after its longest label).
TAB_GAP = 0.9
TAB_RATIO = 1.7


def _tab_gaps(ws: list[Word], height: float) -> set[int]:
    """Indexes of the words in one row that follow a tab-stop gap (see TAB_GAP)."""
    gaps = [b.box.x0 - a.box.x1 for a, b in itertools.pairwise(ws) if a.box and b.box]
    if len(gaps) < 2:
        return set()
    usual = sorted(gaps)[len(gaps) // 2]
    return {k + 1 for k, g in enumerate(gaps) if g > TAB_GAP * height and g > TAB_RATIO * usual}


def lines_from_words(words: list[Word], *, column_gap: float = 2.5, gap_word: bool = False,  # noqa: C901, PLR0912  (the line building's steps: rows, tab stops, column gaps, leaders)
                     tabs: bool = False) -> list[Line]:
    """Group positioned words into reading-order lines, one visual line split at column gaps.

    A PDF text layer and Tesseract both hand over words, not lines; forms put a label and its value
    in two columns, so a visual line is cut where the horizontal gap between two words exceeds
    `column_gap` times the line's median word height (a word space is about a third of it).
    Words without a box keep their order and form one line at the end of their page.
    With `gap_word`, a line cut at a gap ends in a `\t` word: the gap separates a label from the
    value to its right as a tab stop does ("Name of the posted worker<gap>SMITH, Jo"), so the whole
    text before it is read as the label. With `tabs` (OCR, where a tab stop a few millimetres wide
    is no column gap but is no word space either), a gap much wider than the line's word spaces is
    a `\t` word inside the line.
    """
    pages: dict[int | None, list[Word]] = {}
    for w in words:
        if w.text.strip():
            pages.setdefault(w.page, []).append(w)
    out: list[Line] = []
    for page in sorted(pages, key=lambda p: (p is None, p or 0)):
        placed = [w for w in pages[page] if w.box is not None]
        loose = [w for w in pages[page] if w.box is None]
        rows: list[tuple[float, float, list[Word]]] = []  # (y0, y1, words)
        for w in sorted(placed, key=lambda w: ((w.box.y0 + w.box.y1) / 2 if w.box else 0.0)):
            assert w.box is not None
            best: int | None = None
            best_ov = 0.0
            for i, (y0, y1, _ws) in enumerate(rows):
                ov = _v_overlap(y0, y1, w.box.y0, w.box.y1)
                if ov > best_ov:
                    best, best_ov = i, ov
            if best is not None and best_ov >= 0.5:
                y0, y1, ws = rows[best]
                ws.append(w)
                # keep the row's span as the median word's, so a tall word does not swallow rows
                hs = sorted(_height(x) for x in ws)
                mid = sorted(((x.box.y0 + x.box.y1) / 2) for x in ws if x.box is not None)
                h, c = hs[len(hs) // 2], mid[len(mid) // 2]
                rows[best] = (c - h / 2, c + h / 2, ws)
            else:
                rows.append((w.box.y0, w.box.y1, [w]))
        rows.sort(key=lambda r: r[0])
        for _y0, _y1, row_words in rows:
            row_words.sort(key=lambda w: w.box.x0 if w.box else 0.0)
            heights = sorted(_height(w) for w in row_words)
            ws = _join_emails(row_words, heights[len(heights) // 2]) if tabs else row_words
            gap_limit = column_gap * heights[len(heights) // 2]
            tab_at = _tab_gaps(ws, heights[len(heights) // 2]) if tabs else set()
            current: list[Word] = [ws[0]]
            # A leader joins its label to its value however far apart a fax left them (the end of
            # it it broke off is no column gap): a gap beside a leader does not cut the line.
            wide = [k for k, (a, b) in enumerate(itertools.pairwise(ws), start=1)
                    if a.box and b.box and b.box.x0 - a.box.x1 > gap_limit
                    and not (tabs and (_is_leader(a) or _is_leader(b)))]
            if tabs and len(wide) == 1:  # label | value: one line with a tab, as a text layer's tab stop reads
                tab_at.add(wide[0])
                wide = []
            for k, (prev, w) in enumerate(itertools.pairwise(ws), start=1):
                assert prev.box is not None and w.box is not None
                gap = w.box.x0 - prev.box.x1
                if k in wide:
                    if gap_word:
                        current.append(Word("\t", None, prev.conf, prev.page))
                    out.append(Line(current))
                    current = []
                elif not _is_leader(prev) and not _is_leader(w) and (
                        k in tab_at or (gap_word and gap > TEXT_TAB_GAP * heights[len(heights) // 2])):
                    # a tab stop between a label and its value: OCR's wide gap, or a text layer's gap of
                    # several spaces that is no column
                    current.append(Word("\t", None, prev.conf, prev.page))
                current.append(w)
            out.append(Line(current))
        if loose:
            out.append(Line(loose))
    return out
