"""Candidates from every part of a submission -> one set of values per request.

A submission can carry the same field twice (the mail body and its attachment) and can carry many
requests (a spreadsheet, two forms). Values are grouped by worker, the better method wins (form over
text over OCR), and two different values for one field become a `conflict` problem: a person
decides, the gateway never chooses silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from intake.model import Problem
from intake.reference import help_for
from intake.validate import mask_ssn
from parsers.ocr import LOW_CONFIDENCE as OCR_LOW_CONFIDENCE
from parsers.signature import is_weak
from parsers.types import METHOD_RANK, Candidate, Extraction, Provenance

# A value read with less confidence than this is shown to staff. OCR has its own, stricter bar
# (its weakest word), measured on generated faxes by the OCR tests.
LOW_CONFIDENCE = 0.80

_IDENTITY = ("worker.ssn", "worker.last_name")
_SECRET_FIELDS = {"worker.ssn"}


@dataclass
class MergedRequest:
    values: dict[str, str] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, Provenance] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


@dataclass
class _Group:
    records: list[list[Candidate]] = field(default_factory=list)

    def identity(self) -> dict[str, str]:
        ident: dict[str, str] = {}
        for rec in self.records:
            for c in rec:
                if c.field in _IDENTITY and c.field not in ident:
                    ident[c.field] = c.value.casefold()
        return ident


def _identity(record: list[Candidate]) -> dict[str, str]:
    return {c.field: c.value.casefold() for c in record if c.field in _IDENTITY}


def _same_worker(a: dict[str, str], b: dict[str, str]) -> bool:
    """Two records describe one worker unless they name different people.

    The last name decides before the SSN: an OCR misreading of one digit must become a conflict on
    one request, not a second request.
    """
    if "worker.last_name" in a and "worker.last_name" in b:
        return a["worker.last_name"] == b["worker.last_name"]
    if "worker.ssn" in a and "worker.ssn" in b:
        return a["worker.ssn"] == b["worker.ssn"]
    return True


def merge(extractions: list[Extraction]) -> list[MergedRequest]:
    """Group every record by worker and merge each group's candidates field by field."""
    rows: list[list[Candidate]] = []
    singles: list[list[Candidate]] = []
    shared: list[list[Candidate]] = []
    for ext in extractions:
        for record in ext.records:
            if not record:
                continue
            if ext.multi:
                rows.append(record)
            elif _identity(record):
                singles.append(record)
            else:
                shared.append(record)

    groups: list[_Group] = [_Group([row]) for row in rows]
    for record in singles:
        ident = _identity(record)
        target = next((g for g in groups[len(rows):] if _same_worker(g.identity(), ident)), None)
        if target is None:
            groups.append(_Group([record]))
        else:
            target.records.append(record)
    if not groups and shared:
        groups.append(_Group([]))
    for group in groups:
        group.records.extend(shared)
    return [_merge_group(g) for g in groups]


def _merge_group(group: _Group) -> MergedRequest:
    by_field: dict[str, list[Candidate]] = {}
    for record in group.records:
        for cand in record:
            by_field.setdefault(cand.field, []).append(cand)
    out = MergedRequest()
    for path, found in by_field.items():
        cands = found
        if any(not is_weak(c.provenance.label) for c in found):
            # a signature or letterhead says who wrote, not what the request names: it fills a gap only
            cands = [c for c in found if not is_weak(c.provenance.label)]
        best = max(cands, key=lambda c: (METHOD_RANK.get(c.provenance.method, 0), c.confidence))
        out.values[path] = best.value
        out.confidence[path] = round(best.confidence, 3)
        out.provenance[path] = best.provenance
        others = {c.value for c in cands if _norm(c.value) != _norm(best.value)}
        if others:
            out.problems.append(_conflict(path, best, [c for c in cands if c.value in others]))
        elif best.uncertain:
            out.problems.append(Problem(field=path, code="low_confidence",
                                        message=f"{_where(best)}: {best.uncertain}; please check this value.",
                                        help=help_for(path)))
        elif best.confidence < _threshold(best):
            out.problems.append(Problem(
                field=path, code="low_confidence",
                message=f"{_where(best)}: read with {best.confidence:.0%} confidence; please check.",
                help=help_for(path)))
    return out


def _threshold(c: Candidate) -> float:
    return OCR_LOW_CONFIDENCE if c.provenance.method == "ocr" else LOW_CONFIDENCE


def _norm(value: str) -> str:
    return " ".join(value.casefold().split())


def _where(c: Candidate) -> str:
    p = c.provenance
    page = f", page {p.page}" if p.page else ""
    return f"{p.part}{page} ({p.method})"


def _show(path: str, value: str) -> str:
    return mask_ssn(value) if path in _SECRET_FIELDS else repr(value)


def _conflict(path: str, best: Candidate, others: list[Candidate]) -> Problem:
    seen = [f"{_show(path, best.value)} in {_where(best)}"]
    seen += [f"{_show(path, c.value)} in {_where(c)}" for c in others]
    return Problem(field=path, code="conflict",
                   message=f"Different values were read for {path}: " + "; ".join(seen) + ".",
                   help=help_for(path))
