"""The fields of one page's lines: the label finder, then sentences, the letterhead and what no
label names, each value placed on its page. Shared by text PDFs (`pdf_text`) and OCR'd letters read
page by page (`ocr_letter`), so neither imports the other."""

from __future__ import annotations

import re

from parsers import labels, layout
from parsers.fields import find_fields
from parsers.layout import Line, Word
from parsers.letterhead import from_letterhead
from parsers.prose import find_in_prose
from parsers.types import Box, Candidate, Method, Part
from parsers.unlabelled import unlabelled

_LABEL_LINE = re.compile(r"^\s*[^:\n]{1,60}:\s*\S")  # as parsers.body: `Label: value`


def _lines(words: list[Word], *, text: bool = False, ocr: bool = False) -> list[Line]:
    """Lines of a page; in a text layer a column gap ends a label as a tab stop does; in an OCR'd
    page a gap far wider than a word space is a tab stop inside the line."""
    return layout.lines_from_words(words, gap_word=text, tabs=ocr)


def _locate(raw: str, lines: list[Line]) -> tuple[int | None, Box | None]:
    """Page and box of the words on one line that hold `raw` (prose finders give text only)."""
    raw = " ".join(raw.split())
    if not raw:
        return None, None
    for line in lines:
        text = line.text
        at = text.find(raw)
        if at < 0:
            continue
        end, pos, picked = at + len(raw), 0, []
        for w in line.words:  # the words the text's span [at, end) touches
            if pos < end and pos + len(w.text) > at:
                picked.append(w)
            pos += len(w.text) + 1
        if picked:
            return picked[0].page, Box.union([w.box for w in picked if w.box is not None])
    return None, None


def _overlaps(a: Box | None, b: Box | None) -> bool:
    return a is not None and b is not None and a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def find_on_page(
    lines: list[Line], part: Part, method: Method, page: int, sure: set[str]
) -> tuple[list[Candidate], str]:
    """The label finder on positioned lines, then prose on the rest; (candidates, page text).

    As in `parsers.body`, `Label: value` lines are blanked for prose ("Dependent: Anna Doe, born
    2/3/2012" is not the worker's birth), and so are the lines a dependent was read from (labels
    above their values have no colon). A labelled name keeps prose name parts out. `sure` holds
    the fields already read without doubt on earlier pages (updated here): prose does not add a
    second reading of them. A labelled value the finder itself doubts ("Social Security number is
    123-45-6789; I was born") gives way to a value prose reads without doubt.
    """
    text = "\n".join(line.text for line in lines)
    found = from_letterhead(lines, list(find_fields(lines, part=part.name, method=method)), part.name, page, method)
    dependents = [c.provenance.box for c in found if c.field.startswith("dependents") and c.uncertain is None]
    # a value the label finder read (beside or under its label) is no prose: "Jane Q. Doe" over the
    # next label's line would read as a name running into "Worker's"
    read = {(c.raw.strip(), c.provenance.box) for c in found
            if c.provenance.label not in (None, "letterhead", "signature")}
    prose_lines = [
        ""
        if (_LABEL_LINE.match(line.text) and labels.match_label(line.text.strip()) is not None)
        or any(_overlaps(line.box, b) for b in dependents)
        or any(raw == line.text.strip() and _overlaps(line.box, b) for raw, b in read)
        else line.text
        for line in lines
    ]
    have = {c.field for c in found}
    sure |= {c.field for c in found if c.uncertain is None}
    names = bool(sure & {"worker.first_name", "worker.last_name"})
    for c in find_in_prose("\n".join(prose_lines), part=part.name, method=method):
        if c.field in sure or (names and c.field.startswith("worker.") and c.field.endswith("_name")):
            continue
        if c.field in have:
            if c.uncertain is not None:
                continue
            found = [f for f in found if f.field != c.field]
        if c.uncertain is None:
            sure.add(c.field)
        if c.provenance.box is None:
            where, box = _locate(c.raw, lines)
            prov = c.provenance.model_copy(update={"page": where or page, "box": box})
            found.append(c.model_copy(update={"provenance": prov}))
        else:
            found.append(c)
    extra = unlabelled(found, "\n".join(prose_lines), text, part=part.name, method=method, letter=page == 1,
                       sure={f for f in sure if not f.startswith("request_type")})
    sure |= {c.field for c in extra}
    for c in extra:
        where, box = _locate(c.raw, lines)
        found.append(c.model_copy(update={"provenance": c.provenance.model_copy(
            update={"page": where or page, "box": box})}))
    return found, text
