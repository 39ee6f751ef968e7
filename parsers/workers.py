"""Several workers in one text body: the lines of each worker, and the lines every worker shares.

An HR clerk sending three people on one assignment writes the employer and the dates once and then
a block per person: numbered or headed blocks ("1. Employee 1", "Employee #2", "Second worker:"), or
just the same group of labels again for the next person; or a table typed or pasted into the body
(columns split by `|`, tabs or runs of spaces); or a sentence such as "The same applies to her
colleague Jane Doe, SSN ...". Each worker becomes a request of their own, carrying the shared values.

The segmenter works on lines and on what their labels mean (`parsers.labels`), never on the words
of one mail: a new worker starts where a field of the worker repeats, or at a block heading once the
current block has a worker's fields.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace

from parsers.evidence import _DATE_ONLY
from parsers.field_checks import _ASSIGNMENT_DATES as _DATES
from parsers.field_checks import _DATE_LEAVES, _FAMILY_WORDS, _PERSON_WORDS, by_type
from parsers.hints import hinted_field
from parsers.label_whole import whole_label
from parsers.label_words import OFFER, classify
from parsers.labels import header_field, match_label_at, match_section
from parsers.values import normalize, parse_date

# The fields that say whose block it is; one of them repeating starts the next worker.
_IDENTITY = {"worker.name", "worker.first_name", "worker.last_name", "worker.ssn", "worker.date_of_birth"}
_GROUP = {"worker.name": "name", "worker.first_name": "name", "worker.last_name": "name", "worker.ssn": "ssn",
          "worker.date_of_birth": "dob"}
_PERSON = (r"(?:employee|worker|person|traveller|traveler|staff\s+member|colleague|assignee|secondee|"
           r"expatriate|individual|member\s+of\s+staff|applicant|team\s+member)")
_ORDINAL = (r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|next|another|other|"
            r"\d{1,2}(?:st|nd|rd|th))")
_ENUMERATOR = r"(?:\(?\d{1,2}[.)]|\(?[A-Ha-h][.)]|#\s?\d{1,2}[.:)]?|[ivxIVX]{1,4}[.)])"
# "1. Employee 1", "Employee #2", "Second worker:", "B) Worker 2 - details", "3.", "Worker no. 3"
_HEADING = re.compile(
    rf"^\s*(?:{_ENUMERATOR}\s*)?(?:(?:the\s+)?{_ORDINAL}\s+)?{_PERSON}s?\s*(?:#|no\.?|nr\.?|number)?\s*"
    rf"(?:\d{{1,2}}|[A-H](?![a-z]))?\s*(?:[:.\-–—)]\s*(?:details|data|information)?)?\s*$"
    rf"|^\s*{_ENUMERATOR}\s*$",
    re.IGNORECASE,
)
_CELL_SPLIT = re.compile(r"\s*\|\s*|\t+|\s{2,}")
_RULE_ROW = re.compile(r"^[\s|:+\-=_]+$")


@dataclass
class WorkerTable:
    """A table of several workers in a mail body: a header row of field labels and a row per worker."""

    fields: list[str | None]
    rows: list[list[str]]


@dataclass
class Split:
    """Line numbers of `text.split("\\n")`: the shared lines and one list per worker."""

    shared: list[int] = field(default_factory=list)
    workers: list[list[int]] = field(default_factory=list)


def is_heading(line: str) -> bool:
    """A line that opens one worker's block and says nothing else."""
    return len(line) <= 60 and bool(_HEADING.match(line))


def _label_field(line: str, section: str | None) -> str | None:  # noqa: PLR0911  (each kind of label line returns at once)
    """The field a labelled line is about (its value may be on the next line)."""
    text = line.strip()
    if not text or len(text) > 300:
        return None
    m = whole_label(text, match_label_at(text, section), section)
    if m is None or (m.strict and not m.separator):
        return None
    value = text[m.end:].strip()
    m = replace(m, field=hinted_field(m.field, m.hints))  # "Name (given)": the first name
    if m.field.startswith("dependents") and section != "dependents" and not _FAMILY_WORDS.search(m.label or ""):
        return "worker.name"  # "Staff member": a member of staff, as the label finder reads it
    if m.score < 1 and m.field.rsplit(".", 1)[-1] not in _DATE_LEAVES and _DATE_ONLY.match(value) and \
            parse_date(value) is not None:
        # "First day abroad: 03.07.2027" is no first name: the date field the label's words name
        dated = classify(m.label, section, _DATES)
        return dated[0] if dated is not None and dated[1] >= OFFER else "worker.other"
    if m.field == "worker.email" and m.score < 1 and not _PERSON_WORDS.search(m.label or ""):
        return "employer.contact_email"  # "Reply e-mail": the writer's address, as the label finder reads it
    if value and m.label and normalize(m.field, value)[1] is not None and \
            (other := by_type(m.label, m.field, value, section)) is not None:
        return other[0]  # "Who is going: Jane Doe": the field the value reads as, as the label finder reads it
    if m.field in _IDENTITY and value and normalize(m.field, value)[1] is not None:
        return "worker.other"  # "Born at: Boise, ID" read as a birth date: no identity of a worker
    return m.field


def _fields(lines: list[str]) -> list[str | None]:
    out: list[str | None] = []
    section: str | None = None
    for line in lines:
        sec = match_section(line)
        if sec is not None and ":" not in line:
            section = sec
            out.append(None)
            continue
        if not line.strip() or is_heading(line):
            out.append(None)
            continue
        out.append(_label_field(line, section))
    return out


def split_blocks(text: str) -> Split | None:  # noqa: C901, PLR0912  (the block split's steps in order: starts, ends, shared lines)
    """The workers' blocks of a body that names two or more workers by labels, else None.

    Each worker needs two of their own fields at least, one of them an identity field (name, SSN,
    date of birth); a labelled line that is not the worker's and appears in one block only (the
    employer written once between two workers) is shared.
    """
    lines = text.split("\n")
    fields = _fields(lines)
    starts: list[int] = []
    seen: set[str] = set()
    for i, f in enumerate(fields):
        heading = is_heading(lines[i])
        if heading and seen:
            starts.append(i)
            seen = set()
            continue
        if f is None or not f.startswith("worker."):
            continue
        if f in seen and f in _IDENTITY:
            starts.append(_heading_before(lines, fields, i))
            seen = set()
        if not starts:
            if f not in _IDENTITY:
                continue  # an address or mail before the first worker: not a worker's block yet
            starts.append(_heading_before(lines, fields, i))
        seen.add(f)
    if len(starts) < 2:
        return None
    bounds = [*starts, len(lines)]
    blocks = [list(range(a, b)) for a, b in itertools.pairwise(bounds)]
    blocks[-1] = _trim_last(blocks[-1], lines, fields)
    own = [[i for i in b if (fields[i] or "").startswith("worker.")] for b in blocks]
    headed = sum(any(is_heading(lines[i]) for i in b[:4]) for b in blocks) >= len(blocks) - 1
    # each worker shows two of name, SSN and date of birth (one under a heading of its own); a
    # stretch that does not ("HR person: ..." read as a worker's name above the first block) is shared
    valid = [len({_GROUP.get(fields[i] or "") for i in o} - {None}) >=
             (1 if headed and any(is_heading(lines[i]) for i in b[:4]) else 2) and len(o) >= 2
             for b, o in zip(blocks, own, strict=True)]
    if sum(valid) < 2:
        return None
    loose = [i for b, ok in zip(blocks, valid, strict=True) if not ok for i in b]
    blocks = [b for b, ok in zip(blocks, valid, strict=True) if ok]
    per_block: dict[str, int] = {}
    for b in blocks:
        for f in {fields[i] or "" for i in b} - {""}:
            per_block[f] = per_block.get(f, 0) + 1
    split = Split()
    taken: set[int] = set()
    for b in blocks:
        mine = []
        for i in b:
            f = fields[i]
            if f is not None and not f.startswith("worker.") and per_block.get(f, 0) < 2:
                split.shared.append(i)  # the assignment or employer written once, between workers
                if i + 1 < len(lines) and i + 1 in b and fields[i + 1] is None and lines[i + 1].strip():
                    split.shared.append(i + 1)  # its value under it
                    taken.add(i + 1)
            elif i not in taken:
                mine.append(i)
        split.workers.append(mine)
    in_blocks = {i for b in blocks for i in b}
    split.shared = sorted(set(split.shared) | {i for i in range(len(lines)) if i not in in_blocks} | set(loose))
    return split


def _heading_before(lines: list[str], fields: list[str | None], i: int) -> int:
    """The block starts at its heading when one stands just above its first label (an unlabelled
    line or two between them, such as the worker's name under "Employee 1", belong to it)."""
    k = i - 1
    others = 0
    while k >= 0 and (fields[k] is None or fields[k] not in _IDENTITY) and others <= 3:
        if is_heading(lines[k]):
            return k
        others += bool(lines[k].strip())
        k -= 1
    return i


def _trim_last(block: list[int], lines: list[str], fields: list[str | None]) -> list[int]:
    """The last worker's block ends after its last labelled line (and a value under it): the
    closing and the signature below are shared."""
    labelled = [i for i in block if fields[i] is not None]
    if not labelled:
        return block
    end = labelled[-1]
    if end + 1 in block and fields[end + 1] is None and lines[end + 1].strip():
        end += 1
    return [i for i in block if i <= end]


# ---------------------------------------------------------------------------------------------
# A table typed or pasted into a text body
# ---------------------------------------------------------------------------------------------


@dataclass
class TextTable:
    """A header row of field paths and a row of cells per worker, and the lines it took."""

    fields: list[str | None]
    rows: list[list[str]]
    lines: range


def cells(line: str) -> list[str]:
    s = line.strip().strip("|")
    return [c.strip() for c in _CELL_SPLIT.split(s)] if s else []


def find_tables(text: str) -> list[TextTable]:
    """Tables of workers in plain text: a header line naming two worker fields or more, in cells
    split by `|`, tabs or several spaces, then a line per worker with as many cells."""
    lines = text.split("\n")
    out: list[TextTable] = []
    i = 0
    while i < len(lines):
        head = cells(lines[i])
        if len(head) < 3 or ":" in lines[i]:
            i += 1
            continue
        fields = [header_field(h) for h in head]
        if sum(1 for f in fields if f and f.startswith("worker.")) < 2 or sum(f is not None for f in fields) < 3:
            i += 1
            continue
        rows: list[list[str]] = []
        j = i + 1
        while j < len(lines):
            if _RULE_ROW.match(lines[j]) and lines[j].strip():
                j += 1
                continue
            row = cells(lines[j])
            if len(row) != len(head):
                break
            rows.append(row)
            j += 1
        if rows:
            out.append(TextTable(fields, rows, range(i, j)))
            i = j
        else:
            i += 1
    return out


# ---------------------------------------------------------------------------------------------
# "The same applies to her colleague ..."
# ---------------------------------------------------------------------------------------------

_COLLEAGUE = re.compile(
    r"(?:(?:the\s+same|this|that|likewise|similarly)\b[^.\n]{0,60}?\b(?:applies|goes|holds|is\s+true|"
    r"is\s+needed|is\s+requested)\b[^.\n]{0,20}?\bfor\b|(?:the\s+same|likewise|also|as\s+well)\b[^.\n]{0,40}?"
    r"\bfor\b|\b(?:please\s+)?(?:also|additionally)\b[^.\n]{0,60}?\bfor\b|\bapplies\s+(?:also\s+)?to\b|"
    r"\band\s+(?:also\s+)?for\b)\s+(?:(?:his|her|their|our|my)\s+)?(?:colleague|co-?worker|team\s*mate|"
    r"fellow\s+(?:employee|worker)|second\s+(?:employee|worker)|other\s+(?:employee|worker))s?\b[,:]?\s*",
    re.IGNORECASE,
)
_ALSO_GOING = re.compile(
    r"(?:^|(?<=[.!?]\s)|(?<=\n))(?:(?:his|her|their|our)\s+)?(?:colleague|co-?worker)\s+(?=[A-Z])",
)


def colleague_match(text: str) -> re.Match[str] | None:
    """The words that hand the request on to a second worker ("the same applies to her colleague ")."""
    return _COLLEAGUE.search(text) or _ALSO_GOING.search(text)


def colleague_at(text: str) -> int | None:
    """Where a sentence that hands the request on to a second worker begins, else None."""
    for rx in (_COLLEAGUE, _ALSO_GOING):
        m = rx.search(text)
        if m is not None:
            start = max(text.rfind(".", 0, m.start()), text.rfind("\n", 0, m.start()))
            return start + 1
    return None
