"""Merging an answer into the request it answers (see `intake.conversation` for finding it).

What an answer gave (`answer_values`) is placed on the requests it names (`assign`); what it
confirms in words is found (`confirmations`) and kept apart from new values; then each request's
values are merged (`merge_answer`): a value written again or confirmed settles the doubt we asked
about, a value read for certain corrects a doubtful one, and a value that contradicts one already
read is a `conflict` for staff, never a silent overwrite. Every change is returned for the trail.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from intake import plausible
from intake.conversation import KEPT_CODES, SECRET_PATHS, get_path, label, norm, same_value, set_path, show
from intake.model import CertificateRequest, Problem
from intake.reference import help_for
from intake.store.store import RequestRecord
from intake.validate import validate
from parsers.pii import mask_ssns
from parsers.signature import is_weak

_SAID_LEN = 4  # a form of a value this long is the value said again, not a word that happens to match


@dataclass
class AnswerValues:
    """What one answer (or one section of it) gave: values by path, their provenance and confidence."""

    values: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)  # the answer's own conflicts, doubts
    identity: dict[str, str] = field(default_factory=dict)  # ssn / last name, when the answer names a worker


def answer_values(item: Mapping[str, Any], part_prefix: str) -> AnswerValues:
    """The values an answer's extraction read (`RequestResult` as JSON), provenance renamed to the
    answer's part (`answer 12: body`) so the request shows where each value came from."""
    request = item.get("request") or {}
    out = AnswerValues()
    for path, prov in (item.get("provenance") or {}).items():
        value = get_path(request, path)
        if value is None or value in ("", []):
            continue
        out.values[path] = value
        p = dict(prov or {})
        p["part"] = f"{part_prefix}: {p.get('part') or 'message'}"
        out.provenance[path] = p
        if path in (item.get("confidence") or {}):
            out.confidence[path] = float(item["confidence"][path])
    for p in item.get("problems") or []:
        if isinstance(p, dict) and p.get("code") in ("conflict", "low_confidence") and p.get("field") in out.values:
            out.problems.append(dict(p))
    for path in ("worker.ssn", "worker.last_name"):
        if path in out.values:
            out.identity[path] = norm(out.values[path])
    return out


@dataclass
class Merged:
    """A request after an answer: fields, problems, provenance, state, and the changes for the trail."""

    fields: dict[str, Any]
    problems: list[dict[str, Any]]
    provenance: dict[str, Any]
    confidence: dict[str, Any]
    state: str
    changes: list[tuple[str, str | None, str | None]]
    added: list[str]
    conflicts: list[str]


# A sentence that confirms what we read ("Packdymlaan 81 is correct", "Yes, Neaneo is right"), and
# one that denies it. Plain English, not any writer's list: a confirmation names the value we quoted.
_CONFIRMING = re.compile(r"\b(?:correct|right|confirm(?:s|ed)?|accurate|exact(?:ly)?|yes|ok(?:ay)?)\b", re.I)
_DENYING = re.compile(r"\b(?:not|incorrect|wrong|isn'?t|mistaken?|error)\b", re.I)
# Problems we asked the sender to settle ("please confirm", "tell us which is right", "send it again"):
# an answer that gives or confirms the value settles them.
ASKED_CODES = frozenset({"low_confidence", "conflict", "invalid"})
_ADDRESS = re.compile(r"^(.*\.address|assignment\.work_address)\.[a-z_]+$")
_NAME = re.compile(r"^worker\.(?:first|middle|last)_name$")


def _unit(path: str) -> str:
    """The value a person confirms as one: an address or a name as a whole, any other field alone."""
    m = _ADDRESS.match(path)
    return m.group(1) if m else "worker.name" if _NAME.match(path) else path


def _words(text: str) -> str:
    """Text for finding a value in a sentence: case, punctuation and spacing aside."""
    return " ".join(re.sub(r"[^\w@]+", " ", text.casefold()).split())


def _forms(path: str, value: Any) -> set[str]:
    """The ways a confirming person writes a value back: as read, and as our reply showed it."""
    from intake.wording import shown  # noqa: PLC0415 - replies' wording, only for confirmations

    text = str(value)
    out = {_words(text), _words(shown(path, text).strip("'"))}
    return {f for f in out if f}


def confirmations(rec: RequestRecord, lines: Iterable[str],  # noqa: C901, PLR0912  (each way a sentence confirms a doubtful value: whole name, one part, an address, yes or no)
                  answers: Iterable[AnswerValues] = ()) -> dict[str, str]:
    """Doubtful values of `rec` that a line of the answer confirms in words: {path: the line}.

    A line confirms when it names the value as read (or as our reply quoted it), says so
    ("correct", "right", "confirmed", "yes") and denies nothing. A line that names the values of
    several doubtful fields confirms the one it names most of (an address line: its pieces; never
    two dates alike). Yes/no values and the SSN (our reply shows only its last four digits) are
    confirmed by writing them again, not by a sentence. A field the answer gives another value
    for is not the one a sentence confirms (two dates read alike, one of them corrected). Two
    doubtful fields holding the same value (one address as the contact's and the confirmation's)
    are both confirmed by a sentence naming it; a whole name said to be right confirms its middle
    initial too when the sentence writes it.
    """
    lines = list(lines)
    corrected = _corrected(rec, list(answers), lines)
    doubtful: dict[str, set[str]] = {}
    for p in rec.problems_json():
        path = p.get("field")
        if not path or p.get("code") not in ASKED_CODES or path in SECRET_PATHS \
                or path in corrected:
            continue
        value = get_path(rec.fields, path)
        if value in (None, "", []) or isinstance(value, bool | dict | list):
            continue
        doubtful[path] = _forms(path, value)
    out: dict[str, str] = {}
    for line in lines:
        if not _CONFIRMING.search(line) or _DENYING.search(line):
            continue
        padded = f" {_words(line)} "
        weight: dict[str, int] = {}
        hits: dict[str, list[str]] = {}
        for path, forms in doubtful.items():
            # A value of one letter (a middle initial) only as the sentence's subject: "P is right".
            found = [f for f in forms if (f" {f} " in padded if len(f) > 1 else padded.startswith(f" {f} "))]
            if found:
                unit = _unit(path)
                weight[unit] = weight.get(unit, 0) + max(len(f) for f in found)
                hits.setdefault(unit, []).append(path)
        if not weight:
            continue
        best = max(weight.values())
        winners = [u for u, w in weight.items() if w == best]
        if len(winners) > 1 and len({_words(str(get_path(rec.fields, p))) for u in winners for p in hits[u]}) == 1:
            for u in winners:  # one value, doubtful in two fields: the sentence says the value is right
                for path in hits[u]:
                    out.setdefault(path, line.strip()[:200])
            continue
        if len(winners) == 1:
            unit = winners[0]
            named = hits[unit]
            if unit == "worker.name" and {"worker.first_name", "worker.last_name"} <= set(named):
                # The whole name said to be right: its middle initial too, where the sentence writes it.
                named = named + [p for p in doubtful if _unit(p) == unit and p not in named
                                 and any(f" {f} " in padded for f in doubtful[p])]
            if not {f"{unit}.street", f"{unit}.city"} <= set(named):
                for path in named:
                    out.setdefault(path, line.strip()[:200])
                continue
            # An address written out and said to be right (street and city as we quoted them):
            # the person confirmed the address, its country too when they left it out.
            for path in doubtful:
                if _unit(path) == unit:
                    out.setdefault(path, line.strip()[:200])
    return out


def _corrected(rec: RequestRecord, answers: list[AnswerValues], lines: list[str]) -> set[str]:
    """Fields the answer gives another value for, for certain: not an unlabelled echo of a value it
    gives under a label (`_drop_echoes`), not a value its own reading doubts (two addresses in a
    sentence, each read as either field), not a value a confirming sentence names (the other
    field's value, said to be right). Only such a value makes a sentence confirm another field."""
    said = [f" {_words(line)} " for line in lines if _CONFIRMING.search(line) and not _DENYING.search(line)]
    out: set[str] = set()
    for ans in _drop_echoes(answers):
        doubted = {p.get("field") for p in ans.problems if p.get("code") in ("low_confidence", "conflict")}
        for path, value in ans.values.items():
            if same_value(path, value, get_path(rec.fields, path) or "") or path in doubted:
                continue
            forms = set() if isinstance(value, bool) else {f for f in _forms(path, value) if len(f) >= _SAID_LEN}
            if not any(f" {f} " in line for f in forms for line in said):
                out.add(path)
    return out


def _address_echoes(rec: RequestRecord, answers: list[AnswerValues]) -> dict[str, str]:
    """Doubtful address pieces the answer writes again under a label read as another address (the
    employer's office address read as the worker's): the same street and city are the same address
    given again. Those answer values are removed (they belong to the address we asked about);
    returns {confirmed path: why}."""
    units = {_unit(str(p.get("field"))) for p in rec.problems_json() if p.get("field")
             and p.get("code") in ("low_confidence", "conflict") and _ADDRESS.match(str(p.get("field")))}
    out: dict[str, str] = {}
    for unit in units:
        street, city = get_path(rec.fields, f"{unit}.street"), get_path(rec.fields, f"{unit}.city")
        if not street or not city:
            continue
        for ans in answers:
            for other in {_unit(p) for p in ans.values if _ADDRESS.match(p) and _unit(p) != unit}:
                if _words(str(ans.values.get(f"{other}.street", ""))) == _words(str(street)) and \
                        _words(str(ans.values.get(f"{other}.city", ""))) == _words(str(city)):
                    for p in [p for p in ans.values if _unit(p) == other]:
                        ans.values.pop(p)
                        ans.provenance.pop(p, None)
                        ans.confidence.pop(p, None)
                    ans.problems[:] = [x for x in ans.problems if x.get("field") in ans.values]
                    for q in rec.problems_json():
                        f = q.get("field")
                        if f and _unit(f) == unit and q.get("code") in ("low_confidence", "conflict"):
                            out[f] = "the same address, given again"
    return out


def without_confirming_lines(answers: list[AnswerValues], lines: Iterable[str]) -> list[AnswerValues]:
    """The answer's values less those its confirming sentences account for: "Confirmed: May 23,
    2027" or "Neaneo Molford - that is correct" say a value is right; a reader that takes them for
    label and value ("Confirmed" as a date's label) must not make them new values."""
    said = [f" {_words(line)} " for line in lines]
    if not said:
        return answers
    out = []
    for ans in answers:
        keep = AnswerValues(identity=dict(ans.identity))
        for path, value in ans.values.items():
            lab = _words(str((ans.provenance.get(path) or {}).get("label") or ""))
            forms = set() if isinstance(value, bool) or str(value).lower() in ("true", "false") else \
                {f for f in _forms(path, value) if len(f) >= _SAID_LEN}
            if any((lab and f" {lab} " in line) or any(f" {f} " in line for f in forms) for line in said):
                continue
            keep.values[path] = value
            if path in ans.provenance:
                keep.provenance[path] = ans.provenance[path]
            if path in ans.confidence:
                keep.confidence[path] = ans.confidence[path]
        keep.problems = [p for p in ans.problems if p.get("field") in keep.values]
        out.append(keep)
    return out


def _drop_echoes(answers: list[AnswerValues]) -> list[AnswerValues]:
    """An answer's value read without a label (from its sentences: "two dates with no from/through
    words") that another of its values gives under a label, for another field, is the same line
    read twice: the labelled reading stands, the echo is dropped."""
    out = []
    for ans in answers:
        labelled = {(norm(v)) for p, v in ans.values.items() if (ans.provenance.get(p) or {}).get("label")}
        echo = {p for p, v in ans.values.items() if not (ans.provenance.get(p) or {}).get("label")
                and norm(v) in labelled and not isinstance(v, bool)}
        if not echo:
            out.append(ans)
            continue
        out.append(AnswerValues({p: v for p, v in ans.values.items() if p not in echo},
                                {p: v for p, v in ans.provenance.items() if p not in echo},
                                {p: v for p, v in ans.confidence.items() if p not in echo},
                                [dict(x) for x in ans.problems if x.get("field") not in echo], dict(ans.identity)))
    return out


def _is_date(path: str) -> bool:
    return path.endswith(("_date", "date_of_birth"))


def _to_asked(rec: RequestRecord, answers: list[AnswerValues], asked: set[str], settled: set[str],
              twice: set[str]) -> dict[str, str]:
    """Move a date the answer read with doubt, under a field already holding another date, to the
    one date we asked for that the answer gives nowhere else: an answer answers our questions, and
    a label we could not place ("Assignment commencing", "D/O/B") under the date we asked for is
    the likelier reading than a second value for a date we had. Returns {new path: old path}."""
    given = {p for ans in answers for p in ans.values}
    open_dates = [q for q in asked if _is_date(q) and q not in given and q not in settled]
    moved: dict[str, str] = {}
    for ans in answers:
        for path in list(ans.values):
            old = get_path(rec.fields, path)
            unsure = any(p.get("field") == path and p.get("code") == "low_confidence" for p in ans.problems)
            if (ans.provenance.get(path) or {}).get("method") != "text":
                continue  # a box of a form or return page names its field; only a label read in text may mislead
            if not (_is_date(path) and unsure and path not in twice and old not in (None, "", [])
                    and norm(old) != norm(ans.values[path])):
                continue
            targets = [q for q in open_dates if q not in moved]
            if len(targets) != 1:
                continue
            q = targets[0]
            ans.values[q] = ans.values.pop(path)
            if path in ans.provenance:
                ans.provenance[q] = ans.provenance.pop(path)
            if path in ans.confidence:
                ans.confidence[q] = ans.confidence.pop(path)
            for p in ans.problems:
                if p.get("field") == path:
                    p["field"] = q
            moved[q] = path
    return moved


def _one_line_two_fields(answers: list[AnswerValues]) -> set[str]:
    """Fields an answer filled from one line with one value (the same label and value under two
    fields: "Assignment commencing ... 1 January 2027" read as both dates): none of them is sure."""
    seen: dict[tuple[str, str], set[str]] = {}
    for ans in answers:
        for path, value in ans.values.items():
            prov = ans.provenance.get(path) or {}
            lab = prov.get("label")
            if lab and not is_weak(lab) and prov.get("method") == "text":  # a box is one field by construction
                seen.setdefault((str(lab), norm(value)), set()).add(_unit(path))
    return {p for ans in answers for p in ans.values
            if len(seen.get((str((ans.provenance.get(p) or {}).get("label")), norm(ans.values[p])), set())) > 1}


def merge_answer(rec: RequestRecord, answers: list[AnswerValues], *, where: str,  # noqa: C901, PLR0915  (the merge's steps in order: values, conflicts, confirmations, validation, provenance)
                 confirmed_lines: Mapping[str, str] | None = None) -> Merged:
    """Merge an answer's values into a request and validate the whole again.

    A field the request lacks takes the answer's value; a doubt of the answer's own reading on a
    field we asked for is lifted (the answer gives it where we asked for it), unless one line of
    the answer gave it to two fields or the value was read by OCR (then the doubt may be about its
    characters, not its place: it stays for staff). A field whose value we asked the sender to confirm or settle
    (`low_confidence`, `conflict`, `invalid`) is settled by the same value written again, by a line
    confirming it in words (`confirmations`, passed as `confirmed_lines`), or replaced by a value
    the answer reads for certain (the old one kept in the trail); an answer value that is itself
    doubtful never replaces it: that is a `conflict` for staff. A field read for certain and
    answered differently keeps its value and gets a `conflict`.
    """
    fields: dict[str, Any] = _copy(rec.fields)
    provenance = dict(rec.provenance or {})
    confidence = dict(rec.confidence or {})
    old_problems = rec.problems_json()
    # We asked the sender to confirm a doubtful value and to correct an invalid one: the answer's
    # value takes their place (the old one kept in the trail), not a conflict.
    doubtful = {p.get("field") for p in old_problems if p.get("code") in ASKED_CODES}
    missing = {p.get("field") for p in old_problems if p.get("code") == "missing"}
    changes: list[tuple[str, str | None, str | None]] = []
    added: list[str] = []
    conflicts: list[str] = []
    new_problems: list[dict[str, Any]] = []
    answered: set[str] = set()
    self_employed = get_path(fields, "request_type") == "self_employed"
    confirmed: set[str] = set()
    lifted: set[str] = set()  # the answer's doubt on a value we asked for, gone
    answers = _drop_echoes(answers)
    twice = _one_line_two_fields(answers)
    answers = [AnswerValues(dict(a.values), dict(a.provenance), dict(a.confidence), [dict(p) for p in a.problems],
                            dict(a.identity)) for a in answers]
    said_right = set(confirmed_lines or {})  # confirmed in a sentence naming the value as we quoted it
    confirmed_lines = {**_address_echoes(rec, answers), **(confirmed_lines or {})}
    settled = set(confirmed_lines)
    moved = _to_asked(rec, answers, (doubtful | missing) - {None}, settled, twice)  # type: ignore[arg-type]
    for q, p in moved.items():
        changes.append((q, None, f"read under a label taken for the {label(p)}; placed where we asked for the "
                                 f"{label(q)}"))
    for path, line in (confirmed_lines or {}).items():
        old = get_path(fields, path)
        if old in (None, "", []):
            continue
        answered.add(path)
        confirmed.add(path)
        changes.append((path, show(path, old), f"{show(path, old)} (confirmed by the answer, {where}: "
                                               f"{mask_ssns(line)[:120]!r})"))
    for ans in answers:
        for path, value in ans.values.items():
            old = get_path(fields, path)
            unsure = path in twice or any(p.get("field") == path and p.get("code") in ("low_confidence", "conflict")
                                          for p in ans.problems)
            if old not in (None, "", []) and same_value(path, old, value):
                answered.add(path)  # confirmed
                confirmed.add(path)
                continue
            if is_weak((ans.provenance.get(path) or {}).get("label")) and (
                    old not in (None, "", []) or (self_employed and path.startswith("employer."))):
                continue  # the answer's signature fills a gap; it never contradicts what was read
            if path in confirmed:
                unsure = True  # confirmed in words, and another value besides: staff decide
            if old in (None, "", []) or (path in doubtful and not unsure):
                set_path(fields, path, value)
                provenance[path] = ans.provenance.get(path)
                if path in ans.confidence:
                    confidence[path] = ans.confidence[path]
                changes.append((path, None if old in (None, "", []) else show(path, old), show(path, value)))
                added.append(path)
                answered.add(path)
                if old in (None, "", []) and (path in missing or _unit(path) in missing) and path not in twice \
                        and not _read_by_ocr(ans, path):
                    lifted.add(path)
                continue
            conflicts.append(path)
            doubt = " (itself read with doubt)" if unsure else ""
            new_problems.append(Problem(
                field=path, code="conflict", help=help_for(path),
                message=f"The answer ({where}) gives {show(path, value)} for the {label(path)}{doubt}, but "
                        f"{show(path, old)} was read before; the request keeps the first until a "
                        f"person decides.").model_dump())
        # A doubtful reading of the answer that gives the value already read is no doubt left: two
        # readings (two faxes of one value, each a little unsure) agree; nor is one that gives a
        # value where we asked for it.
        new_problems.extend(p for p in ans.problems if p.get("field") in answered
                            and not (p.get("code") == "low_confidence" and p.get("field") in confirmed | lifted))
        new_problems.extend(Problem(field=p, code="low_confidence", help=help_for(p),
                                    message=f"The answer ({where}) gave one line's value to two fields; "
                                            f"please check this value.").model_dump()
                            for p in sorted(twice & set(ans.values)) if p in added)
    kept = [p for p in old_problems if p.get("code") in KEPT_CODES
            and not (p.get("code") in ASKED_CODES and p.get("field") in answered and p.get("field") not in conflicts)]
    try:
        request = CertificateRequest.model_validate(fields)
        fields = request.model_dump(mode="json")
        checked = [p.model_dump() for p in validate(request)]
        # A value we said looked wrong ("holds a word of a label"), quoted back, and the sender wrote
        # that it is right ("de la Worker is correct"): their word settles our guess, not a reading
        # of it again (a label misread twice is misread alike, so a restated value does not).
        guessed = {(path, message) for path, message in plausible.problems(request) if path in said_right
                   and path not in conflicts and path not in added}
        checked = [p for p in checked if not (p.get("code") == "invalid" and (p.get("field"), p.get("message"))
                                              in guessed)]
    except Exception as exc:  # noqa: BLE001 - values the model refuses go to staff, never lost
        checked = [Problem(field=None, code="invalid",
                           message=f"The answer's values could not be put together with the request "
                                   f"({type(exc).__name__}); a specialist will read it.").model_dump()]
    problems = _dedupe(kept + new_problems + checked)
    state = "accepted" if not problems else "needs_review"
    return Merged(fields, problems, provenance, confidence, state, changes, added, conflicts)


def _read_by_ocr(ans: AnswerValues, path: str) -> bool:
    """The answer's value was read off a page image, so a doubt on it may be about its characters
    (a faxed `5` read as `2`), which the place it was written in cannot settle."""
    return (ans.provenance.get(path) or {}).get("method") == "ocr"


def _copy(data: Mapping[str, Any]) -> dict[str, Any]:
    import copy  # noqa: PLC0415

    return copy.deepcopy(dict(data))


def _dedupe(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[tuple[Any, Any]] = set()
    out = []
    for p in problems:
        key = (p.get("field"), p.get("code"))
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def assign(answers: list[tuple[str | None, AnswerValues]], targets: list[RequestRecord],
           references: Mapping[int, str]) -> tuple[dict[int, list[AnswerValues]], list[AnswerValues]]:
    """Which answer values go to which request of a thread.

    A section of the answer that names a reference goes to that request; values that name a worker
    (SSN, last name) go to that worker's request; with one request, everything goes to it; values
    that name neither, in an answer to several requests, are common to all (the employer's EIN).
    Returns ({request id: values}, values that fit no request).
    """
    by_ref = {ref: rid for rid, ref in references.items()}
    out: dict[int, list[AnswerValues]] = {t.id: [] for t in targets}
    unplaced: list[AnswerValues] = []
    for ref, ans in answers:
        if not ans.values:
            continue
        if ref and ref.upper() in by_ref and by_ref[ref.upper()] in out:
            out[by_ref[ref.upper()]].append(ans)
        elif len(targets) == 1:
            out[targets[0].id].append(ans)
        elif ans.identity:
            hit = [t for t in targets if _same_worker(t, ans.identity)]
            if len(hit) == 1:
                out[hit[0].id].append(ans)
            else:
                unplaced.append(ans)
        else:
            for t in targets:
                out[t.id].append(ans)
    return out, unplaced


def _same_worker(rec: RequestRecord, identity: Mapping[str, str]) -> bool:
    ssn = identity.get("worker.ssn")
    if ssn:
        return re.sub(r"\D", "", ssn) == re.sub(r"\D", "", str(get_path(rec.fields, "worker.ssn") or ""))
    last = identity.get("worker.last_name")
    return bool(last) and last == norm(get_path(rec.fields, "worker.last_name") or "")
