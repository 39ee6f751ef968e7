"""Mail bodies, `.txt` files and letters: the new text of a message, read as labels and as sentences.

A reply quotes the message it answers, and the quoted part may hold another worker's SSN; only what
the sender wrote now is read. A *forwarded* message is the opposite: the employee's request that HR
passes on is the content, so it is read. HTML bodies are turned into the same lines (a two-cell
table row becomes `label: value`) so that one path reads both.
"""

from __future__ import annotations

import re

from parsers.body_html import (
    html_to_text,
)
from parsers.body_quotes import (
    _FORWARD,
    _header_block,
    _is_wrote,
    strip_quoted,
    strip_quoted_keeping_signature,
)
from parsers.fields import find_fields
from parsers.labels import match_label
from parsers.layout import lines_from_text
from parsers.prose import find_in_prose
from parsers.prose_text import clean_punctuation
from parsers.several import several, table_rows, with_shared
from parsers.typed import by_type, date_order, employer_address
from parsers.types import Candidate, Extraction, PartProblem
from parsers.unlabelled import unlabelled

# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------

_REQUEST_PREFIXES = ("worker.", "assignment.", "dependents", "request_type")
_LABEL_LINE = re.compile(r"^\s*[^:\n]{1,60}:\s*\S")


def _labelled_lines(lines: list[str]) -> set[int]:
    """Indexes of lines that start with a known label: prose reading leaves them to the label finder
    ("Dependent: Anna Doe, born 2/3/2012" is not the worker's birth date)."""
    out: set[int] = set()
    for i, line in enumerate(lines):
        if _LABEL_LINE.match(line) and match_label(line.strip()) is not None:
            out.add(i)
    return out


def _read(text: str, part: str, signature: list[str] | None = None) -> list[Candidate]:
    lines = text.split("\n")
    labelled = list(find_fields(lines_from_text(text), part=part, method="text"))
    skip = _labelled_lines(lines)
    prose_text = "\n".join("" if i in skip else ln for i, ln in enumerate(lines))
    have = {c.field for c in labelled}
    prose = [c for c in find_in_prose(prose_text, part=part, method="text") if c.field not in have]
    # a labelled full name beats prose name parts, and the reverse pieces never mix
    if have & {"worker.first_name", "worker.last_name"}:
        prose = [c for c in prose if not c.field.startswith("worker.") or not c.field.endswith("_name")]
    found = labelled + prose
    found = found + unlabelled(found, prose_text, text, part=part, method="text", after_dashes=signature)
    typed = by_type([ln for i, ln in enumerate(lines) if i not in skip], {c.field for c in found}, part)
    return date_order(employer_address(found + typed))


def _extraction(text: str, part: str, media_type: str, cands: list[Candidate]) -> Extraction:
    ext = Extraction(part=part, media_type=media_type, text=text)
    if cands:
        ext.records = [cands]
    if not any(c.field.startswith(_REQUEST_PREFIXES) for c in cands):
        what = "only values that belong to the employer or the reply" if cands else "no request values"
        ext.problems.append(PartProblem(code="no_request", part=part,
                                        message=f"{part}: {what}; no worker or assignment found."))
    return ext


def _forward_at(lines: list[str]) -> int | None:
    """The line where a forwarded message starts below a note of the forwarder's own, else None."""
    for i, line in enumerate(lines):
        if line.lstrip().startswith(">"):
            continue
        if _FORWARD.match(line):
            return i
        block = _header_block(lines, i)
        if block is not None:
            return i if block[1] else None  # a quoted reply starts here, not a forward
        if _is_wrote(lines, i):
            return None
    return None


# What a forwarder's note may say in sentences and so correct: not names or mail addresses (its
# greeting and signature are the forwarder's own), which the note can still give with a label.
_NOTE_PROSE_FIELDS = ("assignment.", "worker.ssn", "worker.date_of_birth", "worker.citizenship", "employer.ein")


def _with_note(ext: Extraction, note: str, part: str) -> Extraction:
    """Values in the forwarder's note add to or correct the forwarded request's ("One correction:
    the assignment now ends on 1 May 2029, not on the date given below")."""
    labelled = find_fields(lines_from_text(note), part=part, method="text")
    have = {c.field for c in labelled}
    said = [c for c in find_in_prose(note, part=part, method="text")
            if c.field not in have and c.uncertain is None and c.field.startswith(_NOTE_PROSE_FIELDS)]
    notes = [c.model_copy(update={"provenance": c.provenance.model_copy(update={"label": "forwarder's note"})})
             for c in labelled + said]
    if not notes:
        return ext
    fixed = {c.field for c in notes}
    ext.records = [[c for c in rec if c.field not in fixed] + notes for rec in ext.records] or [notes]
    ext.problems = [p for p in ext.problems if p.code != "no_request"] if ext.records else ext.problems
    return ext


def _shifted(cands: list[Candidate], by: int) -> list[Candidate]:
    """Candidates read from a text that is shown `by` characters further on: their spans moved."""
    out = []
    for c in cands:
        span = c.provenance.span
        out.append(c if span is None else c.model_copy(update={"provenance": c.provenance.model_copy(
            update={"span": (span[0] + by, span[1] + by)})}))
    return out


def _read_body(text: str, part: str, media_type: str) -> Extraction:
    lines = clean_punctuation(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    at = _forward_at(lines)
    if at is not None and at > 0:
        note = strip_quoted("\n".join(lines[:at]))
        inner, signature = strip_quoted_keeping_signature("\n".join(lines[at:]))
        if note.strip() and inner.strip():
            ext = _one_or_several(inner, signature, part, media_type)
            ext.records = [_shifted(rec, len(note) + 2) for rec in ext.records]  # offsets in the text below
            ext = _with_note(ext, note, part)
            ext.text = note + "\n\n" + inner
            return ext
    clean, signature = strip_quoted_keeping_signature(text)
    return _one_or_several(clean, signature, part, media_type)


def _one_or_several(clean: str, signature: list[str], part: str, media_type: str) -> Extraction:
    def read(text: str, part: str) -> list[Candidate]:
        return _read(text, part, signature)

    return several(clean, part, media_type, read, _extraction)


def parse_text(text: str, part: str) -> Extraction:
    """A plain mail body, `.txt` file or letter's text -> one record (the request), or one per
    worker when it names several; a forwarded request is read with its forwarder's note."""
    return _read_body(text, part, "text/plain")


def parse_html(html: str, part: str) -> Extraction:
    """An HTML body (Outlook, Gmail, Apple Mail) -> the same as `parse_text` on its readable lines.

    A table of several workers gives one record per row (`multi`), each with the body's other
    values (employer, contact) added.
    """
    raw, tables = html_to_text(html)
    if not tables:
        return _read_body(raw, part, "text/html")
    clean, signature = strip_quoted_keeping_signature(raw)
    cands = _read(clean, part, signature)
    return Extraction(part=part, media_type="text/html", text=clean, multi=True,
                      records=with_shared(table_rows(tables, part), cands))
