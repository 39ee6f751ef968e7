"""A value whose label was not recognised, read by its own type, and always offered for a check.

"Where the work is done: Calle Mayor 12, 28013 Madrid, Spain" has a label the vocabulary may never
have seen, but its value is an address abroad, and in a request an address abroad is the place of
work; "Our location: 12 Main St, Boise, ID 83702" is a U.S. address, the employer's; a company
with a foreign legal form (GmbH, S.A., Pty Ltd) is the host abroad, one with Inc. or LLC the U.S.
employer. Each such value is offered with `uncertain` set (a `low_confidence` problem), never
placed silently: the label said nothing for certain. Also: in an employee's request, an address
labelled as the worker's where the employer gave none is the employer's (again flagged).
"""

from __future__ import annotations

import re

from parsers.evidence import _FOREIGN_FORM, _US_FORM
from parsers.label_whole import whole_label
from parsers.label_words import segment
from parsers.labels import match_label_at
from parsers.prose_contact import _US_ADDRESS, _address_abroad
from parsers.types import Candidate, Provenance
from parsers.values import normalize

_WHY = "the label {label!r} was not recognised; the value reads as {what}"
_HOME = re.compile(r"\b(?:home|residen\w*|private|personal|mailing|live|lives|living)\b", re.I)


def _offer(fields: list[tuple[str, str]], raw: str, label: str, what: str, part: str) -> list[Candidate]:
    prov = Provenance(part=part, method="text", label=label)
    why = _WHY.format(label=label, what=what)
    return [Candidate(field=f, value=v, raw=raw, confidence=0.6, provenance=prov, uncertain=why) for f, v in fields]


def by_type(lines: list[str], have: set[str], part: str) -> list[Candidate]:
    """Values of lines whose label is unknown, placed by their type where the field is still empty."""
    out: list[Candidate] = []
    taken = set(have)
    for line in lines:
        text = line.strip()
        seg = segment(text) if len(text) < 300 else None
        if seg is None or whole_label(text, match_label_at(text), None) is not None:
            continue
        label, value = text[: seg[0]].strip(), text[seg[1]:].strip()
        if not value or len(label) > 80:
            continue
        found: tuple[str, str] | None = None
        if _US_ADDRESS.fullmatch(value.rstrip(".")):
            found = ("employer.address", "a U.S. address")
        elif (abroad := _address_abroad(value, 0)) is not None and abroad[1] >= len(value.rstrip(". ")) \
                and re.search(r"\d", value):
            found = ("assignment.work_address", "an address abroad")
        elif _FOREIGN_FORM.search(value) and len(value) <= 80 and not _US_FORM.search(value):
            found = ("assignment.host_name", "a company with a foreign legal form")
        elif _US_FORM.search(value) and len(value) <= 80:
            found = ("employer.name", "a U.S. company")
        if found is None or any(h == found[0] or h.startswith(found[0] + ".") for h in taken):
            continue
        pairs, why = normalize(found[0], value)
        if why is None and pairs:
            out.extend(_offer(pairs, value, label, found[1], part))
            taken.add(found[0])
    return out


def employer_address(cands: list[Candidate]) -> list[Candidate]:
    """An employee's request with a worker's address and none of the employer: the address labelled
    "Office address in the U.S." or "Registered address" is the employer's, offered for a check.
    A home or mailing address stays the worker's."""
    fields = {c.field for c in cands}
    if any(c.field == "request_type" and c.value == "self_employed" for c in cands) or \
            not ({"employer.name", "employer.ein"} & fields) or any(f.startswith("employer.address") for f in fields):
        return cands
    out = []
    for c in cands:
        if c.field.startswith("worker.address") and not _HOME.search(c.provenance.label or "home"):
            why = f"the label {c.provenance.label!r} reads as the worker's address; an employee's request gives " \
                  "the employer's"
            out.append(c.model_copy(update={"field": "employer.address" + c.field[len("worker.address"):],
                                            "uncertain": c.uncertain or why}))
        else:
            out.append(c)
    return out


def date_order(cands: list[Candidate]) -> list[Candidate]:
    """The earlier of two assignment dates is the start: two different end dates and no start
    ("Beginning of assignment" read as an end), or a start after the end, are put in order, flagged."""
    ends = [c for c in cands if c.field == "assignment.end_date"]
    starts = [c for c in cands if c.field == "assignment.start_date"]
    why = "the earlier of the two assignment dates is taken as the start; please check both"
    if len(starts) == 0 and len({c.value for c in ends}) == 2:
        first = min(ends, key=lambda c: c.value)
        return [c.model_copy(update={"field": "assignment.start_date", "uncertain": c.uncertain or why})
                if c is first else (c.model_copy(update={"uncertain": c.uncertain or why}) if c in ends else c)
                for c in cands]
    if len(starts) == 1 and len(ends) == 1 and starts[0].value > ends[0].value:
        s, e = starts[0], ends[0]
        return [c.model_copy(update={"field": "assignment.end_date" if c is s else "assignment.start_date",
                                     "uncertain": c.uncertain or why}) if c is s or c is e else c for c in cands]
    return cands
