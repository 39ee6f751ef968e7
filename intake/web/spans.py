"""Where in a mail body, text file or PDF text a field was read: the span to highlight.

The label reader records each value's character offsets in the part's text as read
(`Provenance.span`), which is the text the page shows: those offsets are the span, so a value
written twice ("Employer name: Acme" in the letter and "Acme" in the signature, a date that is both
the start and the birth date) is marked where it was read, never where a search happens to find it
first. The span starts at its label when the label stands before it on the line
(`SSN: 123-45-6789`). Offsets that do not fit the text (a text read in pieces, a value read
elsewhere) are not trusted: then, and for readers that record no offsets (prose, signatures), the
value is looked for again, at its label's line first.

Spans are cut from the text as stored, SSNs in clear; the pieces are masked afterwards for a
reviewer (`mask`). A span's edge never falls inside an SSN-shaped number (it is widened to the
whole number), so no piece holds part of a number the mask would have hidden.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from intake.fieldgroups import us_date
from parsers.ssn_grammar import find_ssns

_SHORTEST = 2  # the shortest text worth finding on a page (a state or country code); one letter is everywhere

Segment = tuple[str, str | None]  # a piece of the text and the field it shows (None: plain text)


@dataclass(frozen=True)
class Wanted:
    """What to look for: the field's value as stored, the label it was read beside, and where the
    reader says it stood (offsets in the part's text), if it says."""

    path: str
    value: str
    label: str = ""
    span: tuple[int, int] | None = None


def _norm(s: str) -> str:
    return re.sub(r"[\W_]+", "", s).lower()


def _with_label(text: str, start: int, label: str) -> int:
    """`start`, or the start of the label when the line holds it just before the value."""
    line = text.rfind("\n", 0, start) + 1
    if label.strip() and len(label.strip()) >= _SHORTEST:
        at = text.lower().rfind(label.strip().lower(), line, start)
        if at >= 0 and not _norm(text[at + len(label.strip()):start]):  # only `:`, spaces, dashes between
            return at
    return start


def _same_date(piece: str, value: str) -> bool:
    """An ISO date read from text written another way (`05/01/2027`, `May 1, 2027`): its year and day."""
    if us_date(value) == value:
        return False
    return value[:4] in piece and str(int(value[8:10])) in piece.replace(value[:4], "")


def _recorded(text: str, w: Wanted) -> tuple[int, int] | None:
    """The reader's offsets, if they fit the text: inside it, and holding the value there."""
    if w.span is None:
        return None
    start, end = w.span
    if not 0 <= start < end <= len(text):
        return None
    piece, value = _norm(text[start:end]), _norm(w.value)
    if not piece or not ((value and (value in piece or piece in value)) or _same_date(piece, w.value)
                         or w.value in ("true", "false") or len(w.value) == _SHORTEST):  # yes/no, a code
        return None
    return _with_label(text, start, w.label), end


def _searched(text: str, w: Wanted, free: Callable[[int, int], bool]) -> tuple[int, int] | None:
    """The value found again: the line that starts at its label, else the value itself."""
    if w.label and len(w.label.strip()) >= _SHORTEST:
        for m in re.finditer(re.escape(w.label.strip()), text, re.IGNORECASE):
            end = text.find("\n", m.end())
            end = len(text) if end < 0 else end
            if free(m.start(), end):
                return m.start(), end
    for needle in dict.fromkeys(v for v in (w.value, us_date(w.value)) if v and len(v) >= _SHORTEST):
        for m in re.finditer(re.escape(needle), text, re.IGNORECASE):
            if free(m.start(), m.end()):
                return m.start(), m.end()
    return None


def _whole_numbers(text: str, start: int, end: int) -> tuple[int, int]:
    """The span widened so that neither edge falls inside an SSN-shaped number."""
    for m in find_ssns(text):
        if m.start() < start < m.end():
            start = m.start()
        if m.start() < end < m.end():
            end = m.end()
    return start, end


def segments(text: str, wanted: list[Wanted], mask: Callable[[str], str] | None = None) -> list[Segment]:  # noqa: C901  (each kind of value a page shows (SSN, date, code, text) found its own way)
    """The text cut into plain pieces and the spans of the fields found in it (each field once,
    spans never overlapping: recorded offsets first, then the first field in form order keeps a
    contested piece); each piece passed through `mask` (a reviewer's SSN mask) when given."""
    taken: list[tuple[int, int]] = []
    spans: list[tuple[int, int, str]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= x or a >= y for x, y in taken)

    def take(found: tuple[int, int], path: str) -> None:
        start, end = _whole_numbers(text, *found)
        if free(start, end):
            taken.append((start, end))
            spans.append((start, end, path))

    searched = []
    for w in wanted:
        recorded = _recorded(text, w)
        if recorded:
            take(recorded, w.path)
        else:
            searched.append(w)
    for w in searched:
        if (found := _searched(text, w, free)) is not None:
            take(found, w.path)
    out: list[Segment] = []
    at = 0
    for start, end, path in sorted(spans):
        if start > at:
            out.append((text[at:start], None))
        out.append((text[start:end], path))
        at = end
    if at < len(text):
        out.append((text[at:], None))
    return [(mask(piece), path) for piece, path in out] if mask else out
