"""Which field each column of a sheet holds: its header read as a letter's label is, weighed against
what its cells hold.

HR exports name their columns in the writer's own words ("Person being seconded (last, first)",
"Leaves for assignment on", "Stays on U.S. payroll"). A fixed list of headers misses most of them,
so a header is read like a label (`label_words.scores`: its words, stems, synonyms, scored), with
its hints ("(last, first)", "(dd/mm/yyyy)") kept for the values. A sheet also has what a letter has
not: a column of values. Their type is evidence (class 4 of issue 12): a column of dates is no
name, a column of Yes/No no country, companies with a foreign legal form are the host abroad. And
the dates of a row have an order every real request keeps (born before hired, hired before posted,
the posting starts before it ends: the later of two assignment dates is the end), which settles
which date column is which when the words alone do not. Each field goes to one column; a column
whose header was not read for certain, or whose header and values disagree, gives flagged values.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from parsers.evidence import _FOREIGN_FORM, _US_FORM
from parsers.hints import _LAST_FIRST
from parsers.label_words import _HINTS, OFFER, PLACE, _for_meaning, scores
from parsers.labels import header_field
from parsers.value_places import country_key, country_table
from parsers.values import has_shape, normalize, parse_bool, parse_date

IDENTITY_FIELDS = frozenset({"worker.ssn", "worker.name", "worker.first_name", "worker.last_name"})
DATE_FIELDS = ("worker.date_of_birth", "assignment.hire_date", "assignment.start_date", "assignment.end_date")
# born < hired <= posted < back: (earlier, later, strictly) pairs a row's dates keep
_DOB, _HIRE, _START, _END = DATE_FIELDS
_ORDER = ((_DOB, _HIRE, True), (_DOB, _START, True), (_HIRE, _START, False), (_START, _END, True), (_DOB, _END, True))
_NAME_FIELDS = {"worker.name", "worker.first_name", "worker.last_name", "worker.middle_name",
                "employer.contact_name"}
_TEXT_FIELDS = _NAME_FIELDS | {"employer.name", "assignment.host_name", "worker.place_of_birth",
                               "assignment.hire_place", "worker.business"}
_COMPANY_FIELDS = {"employer.name", "assignment.host_name"}
_ONLY_GIVEN = re.compile(r"^\s*(?:first|given|forename)s?(?:\s+names?)?\s*$", re.I)
_ONLY_FAMILY = re.compile(r"^\s*(?:last|surname|family)(?:\s+names?)?\s*$", re.I)
_SSN_LIKE = re.compile(r"^\d{3}[- ]?\d{2}[- ]?\d{4}$")
_EIN_LIKE = re.compile(r"^\d{2}-?\d{7}$")
SAMPLE_ROWS = 20  # data rows looked at for a column's type
LABEL_WEIGHT = 0.7  # how much the header's words count against the cells' type in a column's score


@dataclass(frozen=True)
class Column:
    """A column's reading: its field, the header's hints, and why its values are doubtful (or None)."""

    field: str
    hints: tuple[str, ...]
    doubt: str | None


def _hints(text: str) -> tuple[str, ...]:
    return tuple(h.strip() for a, b in _HINTS.findall(text) if (h := a or b).strip())


def header_scores(text: str, section: str | None = None) -> list[tuple[str, float]]:
    """The fields a header may name, best first: the exact vocabulary, then its words; a name
    header's hint picks the part of the name ("Name (given)", "Employee (last, first)")."""
    return list(_header_scores(text, section))


@lru_cache(maxsize=4096)
def _header_scores(text: str, section: str | None) -> tuple[tuple[str, float], ...]:
    raw = " ".join(text.split())
    hints = _hints(raw)
    out: dict[str, float] = {}
    exact = header_field(raw) if section is None else None
    if exact and "[" not in exact:
        out[exact] = 1.0
    for fld, s in scores(_for_meaning(raw), section)[:6]:
        if "[" not in fld and fld != "dependents":
            out[fld] = max(out.get(fld, 0.0), s)
    name_ish = any(f in _NAME_FIELDS for f in out) or not out
    for h in hints:
        if _LAST_FIRST.search(h):  # whatever the words, "(last, first)" is about a person's name
            out["worker.name"] = max(out.get("worker.name", 0.0), 0.9)
        elif _ONLY_GIVEN.match(h) and name_ish:
            out["worker.first_name"] = max(out.get("worker.first_name", 0.0), 0.95)
            out.pop("worker.name", None)
        elif _ONLY_FAMILY.match(h) and name_ish:
            out["worker.last_name"] = max(out.get("worker.last_name", 0.0), 0.95)
            out.pop("worker.name", None)
    return tuple(sorted(out.items(), key=lambda kv: -kv[1]))


@lru_cache(maxsize=8192)
def _is_date(text: str) -> bool:
    return parse_date(text) is not None


@lru_cache(maxsize=8192)
def _is_country(text: str) -> bool:
    """A country's name or code exactly (no fuzzy match: this runs for every cell of a sample)."""
    return country_key(text) in country_table()


_DIGIT = re.compile(r"\d")
_DIGIT_OR_AT = re.compile(r"\d|@")
_INITIAL = re.compile(r"[A-Za-z]\.?")
_NUMERIC = re.compile(r"[\d\s./-]+")


@lru_cache(maxsize=8192)
def _traits(text: str) -> tuple[bool, bool, bool]:
    """Whether a cell's text reads as a date, as a yes or no, as digits: once a cell, not once for
    every field its column is weighed as (a column is tried as a dozen fields)."""
    looks_date = bool(_DIGIT.search(text)) and len(text) <= 20 and _is_date(text)
    yes_no = len(text) <= 5 and parse_bool(text) is not None  # the length first: most cells are longer
    return looks_date, yes_no, bool(_NUMERIC.fullmatch(text))


@lru_cache(maxsize=8192)
def _text_fit(fld: str, text: str) -> float:
    return _kind_fit(fld, text)


def _kind_fit(fld: str, value: Any) -> float:  # noqa: C901, PLR0911, PLR0912  (one case per kind of field a cell can be)
    """How well one cell reads as `fld`'s value: 1 fits, 0 does not, between: possible."""
    leaf = fld.rsplit(".", 1)[-1]
    if isinstance(value, (datetime, date)):
        return 1.0 if fld in DATE_FIELDS or leaf.endswith("date") else 0.0
    if isinstance(value, bool):
        return 1.0 if leaf in ("hired_in_us", "remains_employee") else 0.0
    if isinstance(value, (int, float)):  # a number cell: an SSN, EIN or ZIP that lost its dashes, a date serial
        if leaf in ("ssn", "ein", "postal_code", "phone", "contact_phone", "foreign_id") or leaf.endswith("date"):
            return 1.0
        return 0.3 if fld in _TEXT_FIELDS or leaf in ("street", "city") else 0.6
    text = " ".join(str(value).split())
    if not text:
        return 0.5
    if fld in DATE_FIELDS or leaf.endswith("date"):
        return 1.0 if _is_date(text) and not _SSN_LIKE.match(text) else 0.0
    looks_date, yes_no, numeric = _traits(text)
    if fld in _TEXT_FIELDS:
        if fld == "worker.middle_name" and _INITIAL.fullmatch(text):
            return 1.0  # an initial ("N", "Y.") is a middle name, not a no or a yes
        if looks_date or yes_no or numeric or "@" in text:
            return 0.0
        if fld in _NAME_FIELDS:
            if _DIGIT.search(text) or _is_country(text) or _FOREIGN_FORM.search(text) or _US_FORM.search(text):
                return 0.0
            return 1.0
        if fld in _COMPANY_FIELDS:
            if _DIGIT.search(text) and "," in text:
                return 0.1  # an address
            if _is_country(text):
                return 0.2  # a country alone names where the worker goes, not the company
            foreign, us = bool(_FOREIGN_FORM.search(text)), bool(_US_FORM.search(text))
            # a name with no legal form ("Summit Ridge Engineering Co") is as plausible as any text
            if fld == "employer.name":
                return 1.0 if us else 0.3 if foreign else 0.8
            return 1.0 if foreign else 0.3 if us else 0.8
        if fld == "worker.place_of_birth":
            return 0.3 if _DIGIT.search(text) else 1.0
        return 0.9
    if leaf == "foreign_id":  # an ID abroad has digits, and is no U.S. SSN
        return 0.2 if _SSN_LIKE.match(text) or not _DIGIT.search(text) else 0.8
    if fld.endswith("address"):
        return 1.0 if _DIGIT.search(text) and ("," in text or len(text.split()) >= 3) and not looks_date else 0.0
    if leaf in ("hired_in_us", "remains_employee"):
        return 1.0 if yes_no else 0.0
    if fld in ("assignment.country", "worker.citizenship", "worker.residence_country"):
        if _is_country(text):
            return 1.0
        if _DIGIT_OR_AT.search(text) or len(text.split()) > 4 or _FOREIGN_FORM.search(text) or _US_FORM.search(text):
            return 0.0
        return 1.0 if normalize(fld, text)[1] is None else 0.0
    if has_shape(fld):
        return 1.0 if normalize(fld, text)[1] is None else 0.0
    if leaf in ("street", "city", "state"):
        return 0.2 if looks_date or yes_no or "@" in text else 0.9
    return 0.8


def _fit(fld: str, cells: Sequence[Any]) -> float:
    vals = [c for c in cells if c is not None and str(c).strip()]
    if not vals:
        return 0.5
    return sum(_text_fit(fld, v) if isinstance(v, str) else _kind_fit(fld, v) for v in vals) / len(vals)


def _as_date(value: Any, hints: tuple[str, ...]) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if value is None:
        return None
    from parsers.hints import apply_hints  # noqa: PLC0415 - hints imports nothing of ours; kept local

    return parse_date(apply_hints("assignment.start_date", " ".join(str(value).split()), hints))


def _order_violations(assign: dict[int, str], rows: Sequence[Sequence[Any]], hints: dict[int, tuple[str, ...]]) -> int:
    col_of = {f: i for i, f in assign.items()}
    bad = 0
    for row in rows:
        for early, late, strict in _ORDER:
            if early in col_of and late in col_of:
                a = _as_date(row[col_of[early]] if col_of[early] < len(row) else None, hints[col_of[early]])
                b = _as_date(row[col_of[late]] if col_of[late] < len(row) else None, hints[col_of[late]])
                if a is not None and b is not None and (a > b or (strict and a == b)):
                    bad += 1
    return bad


def read_columns(header: Sequence[Any], rows: Sequence[Sequence[Any]],  # noqa: C901, PLR0912, PLR0915  (the column reading's steps in order: words, then cells, then the dates' order)
                 sections: dict[int, str] | None = None) -> dict[int, Column]:
    """Column index -> its reading, for a header row and (a sample of) the data rows under it."""
    sections = sections or {}
    titles = {i: " ".join(str(c).split()) for i, c in enumerate(header)
              if isinstance(c, str) and c.strip() and len(c) <= 120}
    cells = {i: [r[i] if i < len(r) else None for r in rows[:SAMPLE_ROWS]] for i in titles}
    hints = {i: _hints(t) for i, t in titles.items()}
    options: list[tuple[float, float, int, str]] = []  # (combined, label score, column, field)
    for i, title in titles.items():
        ranked = header_scores(title, sections.get(i))
        if sections.get(i):
            ranked = sorted({**dict(header_scores(title)), **dict(ranked)}.items(), key=lambda kv: -kv[1])
        exact = bool(ranked) and ranked[0][1] >= 1.0
        for fld, s in ranked:
            if s < OFFER - 0.1:
                continue
            fit = _fit(fld, cells[i])
            if exact and s < 1.0 and fit < 0.9:
                continue  # another reading of a known header only when the values say so clearly
            if fit < 0.5 and s < 1.0:  # a header of the vocabulary keeps its field; its odd values are flagged
                continue
            combined = LABEL_WEIGHT * s + (1 - LABEL_WEIGHT) * fit
            options.append((max(combined, 0.9) if s >= 1.0 and fit >= 0.5 else combined, s, i, fld))
    options.sort(key=lambda o: (-o[0], o[2]))
    assign: dict[int, str] = {}
    label_score: dict[int, float] = {}
    taken: set[str] = set()
    for combined, label, i, best in options:
        if i in assign or best in taken or combined < OFFER:
            continue
        fld, s = best, label
        if fld == "worker.name" and taken & {"worker.first_name", "worker.last_name"}:
            # "Personal name" beside a surname column: the other part of the name, when it holds one word
            other = ({"worker.first_name", "worker.last_name"} - taken)
            if len(other) != 1 or any(c is not None and "," in str(c) for c in cells[i]):
                continue
            fld = other.pop()
            s = min(s, PLACE - 0.01)
        if fld in ("worker.first_name", "worker.last_name") and "worker.name" in taken:
            continue
        assign[i] = fld
        label_score[i] = s
        taken.add(fld)
    typed = _by_type(assign, titles, cells, taken)
    for i, fld in assign.items():  # the country of the work address is the country of assignment
        if fld == "assignment.work_address.country" and "assignment.country" not in taken:
            assign[i] = "assignment.country"
            taken.add("assignment.country")
    moved = _settle_dates(assign, rows[:SAMPLE_ROWS], hints)
    out: dict[int, Column] = {}
    for i, fld in assign.items():
        doubt = None
        if i in typed:
            doubt = f"the column {titles[i]!r} was read as {fld.rsplit('.', 1)[-1].replace('_', ' ')} from its values"
        elif i in moved:
            doubt = f"the column {titles[i]!r} was read as {fld.rsplit('.', 1)[-1].replace('_', ' ')} from its dates"
        elif label_score[i] < PLACE:
            doubt = f"the column header {titles[i]!r} was not recognised for certain"
        elif _fit(fld, cells[i]) < 0.75:
            doubt = f"the values of the column {titles[i]!r} do not all read as its header says"
        out[i] = Column(fld, hints[i], doubt)
    return out


# Fields a column can be given by its values alone, when its header said nothing usable.
_TYPED = (*DATE_FIELDS, "worker.ssn", "employer.ein", "assignment.host_name", "employer.name",
          "assignment.work_address", "assignment.hired_in_us", "assignment.remains_employee", "assignment.country",
          "worker.citizenship", "employer.contact_email")


def _by_type(assign: dict[int, str], titles: dict[int, str], cells: dict[int, list[Any]], taken: set[str]) -> set[int]:
    """Give each column left without a field the one free field its values fit, when only one
    kind fits (the date fields count as one kind: their order settles them); the columns given."""
    given: set[int] = set()
    for i, title in titles.items():
        if i in assign:
            continue
        fits = {f: fit for f in _TYPED if f not in taken and (fit := _fit(f, cells[i])) >= 0.6}
        kinds: dict[str, float] = {}
        for f, fit in fits.items():
            kind = "date" if f in DATE_FIELDS else f
            kinds[kind] = max(kinds.get(kind, 0.0), fit)
        ranked = sorted(kinds.values(), reverse=True)
        if not ranked or (len(ranked) > 1 and ranked[0] - ranked[1] < 0.2):
            continue
        top = max(kinds, key=lambda k: kinds[k])
        free = [f for f in fits if ("date" if f in DATE_FIELDS else f) == top]
        prior = dict(scores(_for_meaning(title)))
        fld = max(free, key=lambda f: (prior.get(f, 0.0), -_TYPED.index(f)))
        assign[i] = fld
        taken.add(fld)
        given.add(i)
    return given


def _settle_dates(assign: dict[int, str], rows: Sequence[Sequence[Any]], hints: dict[int, tuple[str, ...]]) -> set[int]:
    """Reassign the date fields among the date columns so that the rows' dates keep their order
    (the fewest rows out of order; ties keep the headers' reading); the columns moved."""
    cols = [i for i, f in assign.items() if f in DATE_FIELDS]
    if len(cols) < 2 or len(cols) > 5:
        return set()
    fields = [assign[i] for i in cols]
    base = _order_violations(assign, rows, hints)
    if base == 0:
        return set()
    best = (base, 0, tuple(fields))
    for perm in itertools.permutations(fields):
        trial = {**assign, **dict(zip(cols, perm, strict=True))}
        changed = sum(a != b for a, b in zip(perm, fields, strict=True))
        cand = (_order_violations(trial, rows, hints), changed, perm)
        best = min(best, cand)
    if best[2] == tuple(fields):
        return set()
    moved = {i for i, a, b in zip(cols, best[2], fields, strict=True) if a != b}
    for i, f in zip(cols, best[2], strict=True):
        assign[i] = f
    return moved


def header_candidates(row: Sequence[Any]) -> dict[int, str]:
    """A row's cells that read as headers, by their words alone (to find the header row)."""
    out: dict[int, str] = {}
    for i, cell in enumerate(row):
        if not isinstance(cell, str) or not cell.strip() or len(cell) > 120:
            continue
        ranked = header_scores(cell)
        if ranked and ranked[0][1] >= OFFER and not re.search(r"\d{3}", cell):
            out[i] = ranked[0][0]
        elif ranked and any(f in IDENTITY_FIELDS and s >= OFFER for f, s in ranked[:3]):
            out[i] = next(f for f, s in ranked[:3] if f in IDENTITY_FIELDS)
    return out


def is_header(columns: dict[int, str]) -> bool:
    """Two columns or more read as fields, one of them saying who the worker is."""
    return len(columns) >= 2 and any(f in IDENTITY_FIELDS for f in columns.values())


def group_sections(above: Sequence[Any] | None, width: int) -> dict[int, str]:
    """A group row above the headers ("Employee", "Assignment abroad"): each column's section,
    carried to the right over the cells a merge left empty; {} when the row is no such row."""
    from parsers.labels import match_section  # noqa: PLC0415 - labels imports nothing of this module

    if not above:
        return {}
    out: dict[int, str] = {}
    current: str | None = None
    groups = 0
    for i in range(width):
        cell = above[i] if i < len(above) else None
        if cell is not None and str(cell).strip():
            current = match_section(str(cell).strip()) if isinstance(cell, str) else None
            if current is None:
                return {}  # a cell that is no group title: a title line or data, not groups
            groups += 1
        if current:
            out[i] = current
    return out if groups else {}
