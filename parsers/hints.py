"""What a label's brackets say about its value: name order, date order.

A label like `Name (last, first)`, `Name (Last / First / MI)` or `Date of birth (dd/mm/yyyy)` tells
how its value is written; `label_words.segment` hands the hints over and the value is rewritten
into the form `values.normalize` reads before it is normalised (`Smith John A.` under
`(last, first)` becomes `Smith, John A.`; `07/03/1985` under `(dd/mm/yyyy)` becomes `03/07/1985`).
A name written `SMITH John` (the family name in capitals first, as many countries write it) needs
no hint: the capitals say it.
"""

from __future__ import annotations

import re

_LAST_FIRST = re.compile(r"\b(?:last|surname|family)\b.*\b(?:first|given|forename)", re.I)
_DAY_FIRST = re.compile(r"\bd{1,2}\b.*\bm{1,2}\b.*\by{2,4}\b|\bday\b.*\bmonth\b", re.I)
# A date's pattern as OCR reads it off a fax: letters glued to a part (`dd/mmv/yyyy`, `inm/dd/yyyy`),
# a part doubled or a slash lost (`dd/mmvyyyyy`). Its first two parts still say the order: `d` then `m`.
_PATTERN = re.compile(r"(?<![a-z])([a-z]{1,3})\s*[/.\-]\s*([a-z]{1,9})", re.I)
_NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})([./-])(\d{1,2})\2(\d{2,4})\s*$")
_NUMBER_LEAVES = {"ssn", "ein", "phone", "contact_phone", "postal_code", "foreign_id"}
_NAME_FIELDS = {"worker.name", "dependents.name", "employer.contact_name"}


def day_first(text: str) -> bool:
    """Whether a label's hints say its date is written day first (`(dd/mm/yyyy)`, `(day month
    year)`), also as OCR garbles the pattern; a pattern whose first part is the month says not."""
    for m in _PATTERN.finditer(text):
        first, second = m.group(1).casefold(), m.group(2).casefold()
        if "d" in first and "m" not in first and second.startswith("m"):
            return True
        if "m" in first and second.startswith("d"):
            return False
    return bool(_DAY_FIRST.search(text))


def _last_first(raw: str) -> str:
    """`Smith John A.` or `Smith / John / A` -> `Smith, John A.` (a comma already there stays)."""
    if "," in raw:
        return raw
    parts = [p.strip() for p in raw.split("/")] if "/" in raw else raw.split()
    parts = [p for p in parts if p]
    if len(parts) < 2:
        return raw
    return f"{parts[0]}, {' '.join(parts[1:])}"


def apply_hints(field: str, raw: str, hints: tuple[str, ...]) -> str:
    """`raw` rewritten as its label's hints say it is written."""
    text = " ".join(hints)
    leaf = field.rsplit(".", 1)[-1]
    if field == "worker.name" and _LAST_FIRST.search(text):
        return _last_first(raw)
    if field == "worker.name" and "," not in raw:
        words = raw.split()
        # `SMITH John A.`: the family name in capitals, the given names not
        if len(words) >= 2 and len(words[0]) > 1 and words[0].isupper() and not all(w.isupper() for w in words[1:]):
            return _last_first(raw)
    # a date under a label read as some other field still has the order its hint gives (its field is
    # settled from its place among the dates later)
    if leaf not in _NUMBER_LEAVES and day_first(text):
        m = _NUMERIC_DATE.match(raw)
        if m and m.group(2) in "/-":  # dotted dates are read day first already
            day, month, year = m.group(1), m.group(3), m.group(4)
            return f"{month}/{day}/{year}"
    return raw


_ONE_PART = {"worker.last_name": re.compile(r"^\s*(?:last|surname|family|family\s+name|last\s+name)\s*$", re.I),
             "worker.first_name": re.compile(r"^\s*(?:first|given|forename|first\s+name|given\s+names?)\s*$", re.I),
             "worker.middle_name": re.compile(r"^\s*(?:middle|middle\s+name)\s*$", re.I)}


def hinted_field(field: str, hints: tuple[str, ...]) -> str:
    """`Name (family)` is the last name, `Name (given)` the first: a hint naming one part of a name."""
    if field != "worker.name" or len(hints) != 1:
        return field
    return next((f for f, rx in _ONE_PART.items() if rx.match(hints[0])), field)
