"""The OCR'd pages of one faxed or scanned letter, read together as one letter.

A letter's label at the foot of a page has its value at the top of the next one ("Foreign company"
| page 2 | "Cierdrax Instruments SARL"), and the label finder pairs them when it sees the pages'
lines together, as it does for a text PDF's pages. What stands between them on a fax is the fax
machine's header line atop the next page ("NOV-20-2026 09:13 FROM: ... P.2/2"): printed in the top
margin, above any line of the letter. On the pages after the first it is taken out of the lines
read (its text stays in the page's text); the first page's header is kept, since it carries the
sender's name and number.

A line that is only leader is a ruled line no label or value stands on: the bottom edge of a table's
label cell, where its value wrapped onto a second line ("3024 Chiethmi Street, Myndtra," | rule |
"NC 60870"), or an underline under a label written above its value. It separates nothing, and read
as a line it would stand between a value and its continuation, so it is left out too.
"""

from __future__ import annotations

import re

from parsers import email_names, form_words, postcodes
from parsers.layout import Line, Word, lines_from_words
from parsers.ocr import LOW_CONFIDENCE
from parsers.page_read import find_on_page
from parsers.types import Candidate, Part

# A fax header is printed within the top ~0.2 in of the page (0.013 of its height in the faxes
# seen); a letter's own text starts below a margin of half an inch or more (0.045 of 11 in).
HEADER_BAND = 0.035


_LEADER = re.compile(r"[._]{3,}")


def _only_leader(line: Line) -> bool:
    return all(_LEADER.fullmatch(w.text) or w.text == "\t" for w in line.words)


def _continuation_header(line: Line, first: bool) -> bool:
    box = line.box
    return not first and box is not None and box.y1 <= HEADER_BAND


def read_letter(pages: list[tuple[int, list[Word]]], part: Part, sure: set[str]) -> tuple[list[Candidate], list[str]]:
    """Candidates of the OCR'd pages read as one letter, and each page's text (in `pages`' order).

    `pages`: (page number, that page's words), in page order, pages with no words left out.
    """
    if not pages:
        return [], []
    read: list[Line] = []
    texts: list[str] = []
    for k, (_number, words) in enumerate(pages):
        lines = lines_from_words(words, tabs=True)
        texts.append("\n".join(line.text for line in lines))
        read += [line for line in lines if not _continuation_header(line, k == 0) and not _only_leader(line)]
    found, _text = find_on_page(read, part, "ocr", pages[0][0], sure)
    # As on our form: a postal code put right by its country's pattern, a doubted address by the
    # names it is made of, each flagged (`postcodes`, `email_names`).
    found = postcodes.settle([_street_type(c) for c in found], _doubted)
    return email_names.settle(found, _doubted), texts


def _doubted(c: Candidate) -> bool:
    """A letter's value goes to staff when its reader doubted it or OCR was unsure (`merge`)."""
    return c.uncertain is not None or c.confidence < LOW_CONFIDENCE


def _street_type(c: Candidate) -> Candidate:
    """A street whose type OCR misread through its thin strokes (`Bivd`) put right, and flagged:
    its other words may be read alike, and a person checks it (`form_words.street_type_slip`)."""
    if not c.field.endswith(".street") or (fixed := form_words.street_type_slip(c.value)) is None:
        return c
    return c.model_copy(update={"value": fixed, "uncertain": c.uncertain or
                                f"read {c.value!r}: a street type with an i for an l?"})


def by_page(found: list[Candidate], numbers: list[int]) -> dict[int, list[Candidate]]:
    """The letter's candidates by the page they were read on (each page's boxes are levelled and
    re-read with that page's image); one without a page of `numbers` goes with the first."""
    out: dict[int, list[Candidate]] = {n: [] for n in numbers}
    for c in found:
        out[c.provenance.page if c.provenance.page in out else numbers[0]].append(c)
    return out
