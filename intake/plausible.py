"""Plausibility: values that have the right type but cannot be what the person meant.

The extractor reads what people really write, and what it gets wrong it mostly gets wrong in a few
shapes: part of a label taken as the value (`of`, `first): Smith`), a fax mark glued to it
(`[John`), a value that *is* a label word (`Employer`), a place that runs on into the next
sentence. None of them fails a type check, so each would leave without a flag; here each becomes an
`invalid` problem with the field's help, so no such value leaves unflagged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from intake.model import CertificateRequest

# Words that open a label and never stand alone as a person's name.
_LABEL_WORDS = frozenset(
    "name names first last middle surname given family full employee employees worker applicant "
    "ssn dob date birth initial social security number no employer company host contact person "
    "citizenship nationality country address email phone".split()
)
# Function words: a value that is one of them is a piece of a sentence or a label ("Name of").
_STOP_WORDS = frozenset(
    "of the and or to in for on at by a an is as from with be will who which that this his her "
    "their our your my".split()
)
_PERSON_PATHS = ("worker.first_name", "worker.middle_name", "worker.last_name", "employer.contact_name")
_FREE_TEXT_PATHS = ("employer.name", "assignment.host_name", "worker.business", "worker.place_of_birth",
                    "assignment.hire_place")
# "Boise, Idaho and he will work": words no place name holds ("Trinidad and Tobago" holds "and")
_SENTENCE_RUN = re.compile(r"\b(?:who|will|is|was|has|he|she|they|we|please|then|since)\b", re.I)


@cache
def _label_keys() -> frozenset[str]:
    """Every label of the vocabulary, folded: a value equal to one is a label read as a value."""
    from parsers.labels import LABELS, SECTION_LABELS  # noqa: PLC0415 - the parsers' vocabulary

    keys = {_fold(v) for variants in LABELS.values() for v in variants}
    keys |= {_fold(v) for sec in SECTION_LABELS.values() for variants in sec.values() for v in variants}
    return frozenset(k for k in keys if k)


_SHORT_NAME_WORDS = 2  # a stop word in a name this short is the name ("of", "The Smith")
_PLACE_WORDS = 6  # a place of birth longer than this has run into the next sentence
_WHOLE_NAME_WORDS = 3  # a middle name of three words is a whole name


def _fold(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.casefold().replace("'s", "")))


def person_name_problem(value: str, path: str) -> str | None:  # noqa: PLR0911  (each reason a name is no name returns at once)
    """Why a person's name (first, middle, last, contact) cannot be a name, or None."""
    text = value.strip()
    if re.search(r"\d", text):
        return "holds digits"
    if re.search(r"[()\[\]{}<>|:;@#=_]", text):
        return "holds a bracket, colon or other mark that is part of a label or a fax line, not of a name"
    if re.search(r"[^\W\d_]\.[a-z]", text):
        # an initial's stop runs on into small letters ("J.ee"): a stroke read as a stop, or two
        # words run together; an initial stands alone ("J. Lee") and a name goes on capitalised
        return "holds a stop inside a word, as a misread letter leaves it"
    words = _fold(text).split()
    if not words:
        return "holds no letters"
    if any(w in _STOP_WORDS and len(w) > 1 for w in words) and len(words) <= _SHORT_NAME_WORDS:  # not `A`
        return "is a word of a sentence or label, not a name"
    if any(w in _LABEL_WORDS for w in words):
        return "holds a word of a label"
    if path in ("worker.last_name", "worker.first_name", "employer.contact_name") and \
            len(re.sub(r"[^A-Za-z]", "", text)) <= 1:
        return "is a single letter"
    return None


def free_text_problem(value: str, path: str) -> str | None:
    """Why an organisation, business or place cannot be what was meant, or None."""
    text = value.strip()
    if not text:
        return None
    if _fold(text) in _label_keys():
        return "is a label, not a value"
    if re.match(r"^[)\]}|:;,.]", text) or re.search(r"[\[{|]$", text):
        return "starts or ends with a mark that belongs to a label or a fax line"
    if _fold(text) in _STOP_WORDS:
        return "is a word of a sentence, not a value"
    if path.endswith(("place_of_birth", "hire_place")) and (
            len(text.split()) > _PLACE_WORDS or _SENTENCE_RUN.search(text)):
        return "runs on into the next sentence"
    return None


_LEGAL_FORM = re.compile(
    r"\b(?:GmbH|AG|Ltd|Limited|Inc|LLC|Corp|Co|S\.?A|B\.?V|K\.?K|plc|Pty|Ltda|S\.?r\.?l|AB|Oy)\.?$", re.I)
_STREET_LABEL = re.compile(r"\b(?:abroad|office|address)\b", re.I)


# A word of letters and digits together (`C3L`, `1015CX`) is a postal code's, never a town's; a
# town's district is digits with at most an ordinal's ending (`Dublin 2`, `Lyon 3e`, `Wien 1.`).
_MIXED_CODE = re.compile(r"[^\W_]*(?:\d[^\W_]*[A-Za-z]|[A-Za-z][^\W_]*\d)[^\W_]*[.,]?")
_DISTRICT = re.compile(r"\d{1,2}(?:e|er|re|st|nd|rd|th|º)?[.,]?")


def address_problem(value: str, part: str) -> str | None:
    """Why an address's city or street cannot be one, or None."""
    text = value.strip()
    if part == "city" and re.search(r"\d{3,}", text):
        return "holds a number (a postal code run into the city?)"
    if part == "city" and any(_MIXED_CODE.fullmatch(w) and not _DISTRICT.fullmatch(w) for w in text.split()):
        return "holds a code of letters and digits (a postal code run into the city?)"
    if _LEGAL_FORM.search(text) and not re.search(r"\d", text):
        return "reads as a company's name, not a place"
    if re.search(r"\.{3,}|_{3,}|…", text) or (part == "street" and _STREET_LABEL.search(text)):
        return "holds a label or leader dots"
    return None


def foreign_id_problem(value: str) -> str | None:
    """Why a number abroad (a CPR, a birth number, an NIE) cannot be one: every such number has
    digits; words without any are part of a label or a sentence ("of the worker (9")."""
    if not re.search(r"\d", value):
        return "holds no digits"
    if re.search(r"[()\[\]{}<>|;@=_]", value):
        return "holds a bracket or other mark that is part of a label or a fax line"
    words = _fold(value).split()
    if any(w in _STOP_WORDS and len(w) > 1 for w in words):
        return "holds words of a sentence or a label"
    return None


def _domain(email: str | None) -> str | None:
    return email.rsplit("@", 1)[1].casefold() if email and "@" in email else None


def _one_apart(a: str, b: str) -> bool:
    """One character changed, added or dropped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def problems(req: CertificateRequest) -> Iterator[tuple[str, str]]:  # noqa: C901, PLR0912  (one check per field group, in the order the clerk reads them)
    """(field path, message) for every value that is not plausible."""
    for path in _PERSON_PATHS:
        value = req.get(path)
        if isinstance(value, str) and value.strip():
            why = person_name_problem(value, path) or (
                "is a label, not a name" if _fold(value) in _label_keys() else None)
            if why:
                yield path, f"The name {value!r} {why}; please check it."
    middle = req.get("worker.middle_name")
    if isinstance(middle, str) and ("," in middle or len(middle.split()) >= _WHOLE_NAME_WORDS):
        yield "worker.middle_name", f"The middle name {middle!r} reads as a whole name; please check it."
    for base in ("worker.address", "employer.address", "assignment.work_address"):
        for part in ("city", "street"):
            value = req.get(f"{base}.{part}")
            if isinstance(value, str) and value.strip() and (why := address_problem(value, part)):
                yield f"{base}.{part}", f"{value!r} {why}; please check it."
    for i, dep in enumerate(req.dependents):
        if dep.name and (why := person_name_problem(dep.name, "dependents.name")):
            yield f"dependents[{i}].name", f"The name {dep.name!r} {why}; please check it."
    for path in _FREE_TEXT_PATHS:
        value = req.get(path)
        if isinstance(value, str) and (why := free_text_problem(value, path)):
            yield path, f"{value!r} {why}; please check it."
    foreign = req.get("worker.foreign_id")
    if isinstance(foreign, str) and foreign.strip() and (why := foreign_id_problem(foreign)):
        yield "worker.foreign_id", f"The number abroad {foreign!r} {why}; please check it."
    emails = {p: _domain(req.get(p)) for p in ("worker.email", "employer.contact_email", "confirmation_email")}
    seen = [(p, d) for p, d in emails.items() if d]
    for p, d in seen:
        if any(_one_apart(d, other) for q, other in seen if q != p):
            yield p, f"The e-mail domain {d!r} differs by one character from another address in the request; " \
                     "please check it."
