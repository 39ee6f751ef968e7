"""Where in a mail body, text file or PDF text a field was read: the span to highlight.

The readers record the part and the label a value stood beside, not character offsets, so the span
is found again in the part's text as shown: the line that starts at the label (`SSN: 123-45-6789`),
or else the value itself (as stored, or a date as U.S. staff write it). The search runs over the
text exactly as the page prints it (SSNs already masked for a reviewer), so a span never cuts
through a number the mask would have hidden.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from intake.fieldgroups import us_date

Segment = tuple[str, str | None]  # a piece of the text and the field it shows (None: plain text)


@dataclass(frozen=True)
class Wanted:
    """What to look for: the field's value as the page shows it and the label it was read beside."""

    path: str
    value: str
    label: str = ""


def _find(text: str, w: Wanted, taken: list[tuple[int, int]]) -> tuple[int, int] | None:
    def free(a: int, b: int) -> bool:
        return all(b <= x or a >= y for x, y in taken)

    if w.label and len(w.label.strip()) >= 2:
        for m in re.finditer(re.escape(w.label.strip()), text, re.IGNORECASE):
            end = text.find("\n", m.end())
            end = len(text) if end < 0 else end
            if free(m.start(), end):
                return m.start(), end
    for needle in dict.fromkeys(v for v in (w.value, us_date(w.value)) if v and len(v) >= 2):
        for m in re.finditer(re.escape(needle), text, re.IGNORECASE):
            if free(m.start(), m.end()):
                return m.start(), m.end()
    return None


def segments(text: str, wanted: list[Wanted]) -> list[Segment]:
    """The text cut into plain pieces and the spans of the fields found in it (each field once,
    spans never overlapping: the first field in form order keeps a contested piece)."""
    taken: list[tuple[int, int]] = []
    spans: list[tuple[int, int, str]] = []
    for w in wanted:
        found = _find(text, w, taken)
        if found:
            taken.append(found)
            spans.append((*found, w.path))
    out: list[Segment] = []
    at = 0
    for start, end, path in sorted(spans):
        if start > at:
            out.append((text[at:start], None))
        out.append((text[start:end], path))
        at = end
    if at < len(text):
        out.append((text[at:], None))
    return out
