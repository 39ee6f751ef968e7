"""What the label finder asks of a value and its words: its type, its shape, where its words lie.

Split from `parsers.fields` so the finder reads as the search it is; these checks hold no state.
"""

from __future__ import annotations

import re
from functools import lru_cache

from parsers.evidence import (
    _FOREIGN_FORM,
    _US_FORM,
)
from parsers.label_words import (
    OFFER,
    PLACE,
    _for_meaning,
    scores,
)
from parsers.layout import Word
from parsers.signature import signature_block
from parsers.types import Box
from parsers.values import (
    has_shape,
    normalize,
)

# Values that mean "nothing here": no candidate at all rather than an uncertain one.
_EMPTY = {"n/a", "na", "none", "-", "--", "—", "–", "not applicable", "nil", "tbd", "unknown", "n.a.",
          "_", "__", "___", "....", "(none)", "not known", "keine", "aucun"}
_ADDRESS_FIELDS = {"employer.address", "worker.address", "assignment.work_address"}
_DATE_LEAVES = {"date_of_birth", "start_date", "end_date", "hire_date", "irs_3121l_date"}
_ASSIGNMENT_DATES = frozenset({"start_date", "end_date", "hire_date", "date_of_birth"})
_DATE_VALUE = re.compile(r"^(?:\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|\d{1,2}[ -][A-Za-z]{3,9}\.?[ ,-]+\d{2,4}|"
                         r"[A-Za-z]{3,9}\.? \d{1,2}(?:st|nd|rd|th)?,? \d{4})$")
_WHOLE_NAMES = {"worker.name", "worker.first_name", "worker.last_name", "worker.middle_name", "employer.contact_name",
                "dependents.name"}
_FAMILY_WORDS = re.compile(r"depend|spouse|child|son\b|daughter|wife|husband|family|partner|relation", re.I)
_US_WORDS = re.compile(r"\bU\.?\s?S\.?(?:A\.?)?(?![\w])|\bUnited States\b|\bAmerican\b")
_PERSON_WORDS = re.compile(r"employee|worker|staff|assignee|transferee|his|her|personal|private|home", re.I)
_BOOL_LEAVES = {"hired_in_us", "remains_employee"}
_SENT_WORDS = {"certificate", "confirmation", "copy"}  # what goes to a confirmation address
_NAME_PARTS = {"worker.first_name", "worker.middle_name", "worker.last_name"}
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
_DEP_HEADER_NAME = re.compile(r"\bname\b", re.IGNORECASE)
_DEP_HEADER_DOB = re.compile(r"\b(?:date of birth|birth ?date|dob|d\.o\.b\.?|born)\b", re.IGNORECASE)
_DEP_HEADER_REL = re.compile(r"\brelation(?:ship)?\b", re.IGNORECASE)


def _is_dependents_header(text: str) -> bool:
    """ "Name | Date of birth | Relationship" (any order), not "Name: Anna, relationship: wife"."""
    return bool(_DEP_HEADER_NAME.search(text) and _DEP_HEADER_DOB.search(text)
                and _DEP_HEADER_REL.search(text)) and ":" not in text and len(text) < 80


_COMPANY_ADDRESS = {"assignment.host_name": "assignment.work_address", "employer.name": "employer.address"}


def by_type(label: str, fld: str, raw: str, section: str | None) -> tuple[str, float, list[tuple[str, str]]] | None:
    """(field, score, pairs) of the next field the words of `label` point to that the value reads
    as, when it does not read as `fld` ("Born at: Boise, ID": a date's label and a place's): the
    value's type breaks the tie. A field that takes any text is evidence only when the words are
    sure of it, or when it is a name (its reader checks the words)."""
    for alt, score in scores(_for_meaning(label), section):
        if score < OFFER:
            break
        if alt == fld or alt.startswith("dependents") or alt == "assignment.period":
            continue
        named = alt in _WHOLE_NAMES and not re.search(r"[\d@]", raw)
        if not has_shape(alt) and not named and (not has_shape(fld) or score < PLACE or "@" in raw
                                                 or not re.search(r"[^\W\d_]{2}", raw)):
            continue
        pairs, reason = normalize(alt, raw)
        if reason is None and pairs:
            return alt, score, pairs
    return None


def _type_confirms(fld: str, raw: str) -> bool:
    """A label read by its words as a company's field, and a value whose legal form says that
    company: abroad (GmbH, S.A., Ltd) for the host, U.S. (Inc., LLC) for the employer."""
    text = raw.strip()
    if re.search(r"\d", text):
        return False
    if fld == "assignment.host_name":
        return bool(_FOREIGN_FORM.search(text)) and not _US_FORM.search(text)
    return fld == "employer.name" and bool(_US_FORM.search(text)) and not _FOREIGN_FORM.search(text)


def _looks_address(text: str) -> bool:
    """A street with its number and a place after a comma ("Hainstythdori 96, 903-3135 Cusril"),
    never a date ("July 20, 2020" has a number and a comma too)."""
    return bool(re.search(r"(?:^|\s)\d{1,5}[A-Za-z]?(?:\s|,)", text)) and "," in text and "@" not in text and \
        not (_FOREIGN_FORM.search(text) or _US_FORM.search(text)) and not _DATE_VALUE.match(text.strip())


def _wants_more(fld: str, text: str) -> bool:
    """An address line that reads but stops short: it ends in a comma, or has no postal code, or
    its city is a number (the code, with the city on the next line)."""
    if text.rstrip().endswith(","):
        return True
    parts = dict(normalize(fld, text)[0])
    if fld == "assignment.work_address" and f"{fld}.country" not in parts:
        return True  # an address abroad names its country, maybe on the next line
    city = parts.get(f"{fld}.city", "")
    return f"{fld}.postal_code" not in parts or not re.search(r"[^\W\d_]", city)


# A word that cannot end a part of an address: a unit's designator waits for its number ("Suite"
# over "733, Boise"), a connector for the rest of the name ("Avenue of" over "the Americas").
_OPEN_END = re.compile(r"(?:\b(?:suite|ste|apt|apartment|unit|room|rm|bldg|building|box|no|and|of|de|the)\.?|[#&])$",
                       re.IGNORECASE)


def _open_end(text: str) -> bool:
    """The line stops inside a part of an address: the next line goes on with that part, no comma."""
    return bool(_OPEN_END.search(text.rstrip()))


def _odd_abroad(fld: str, text: str) -> bool:
    """An address abroad read with a U.S. state in it, or a city that is two capitals ("LU" of
    "7343 LU"): a reading that split the postal code from its letters."""
    parts = dict(normalize(fld, text)[0])
    if parts.get(f"{fld}.country", "US") == "US":
        return False
    return f"{fld}.state" in parts or bool(re.fullmatch(r"[A-Z]{1,3}", parts.get(f"{fld}.city", "")))


def _text(words: list[Word]) -> str:
    return " ".join(w.text for w in words)


def _split_words(words: list[Word], at: int) -> tuple[list[Word], list[Word]]:
    """The words of `_text(words)` before and from character `at`; a word cut in two gets its share
    of the box (proportional to characters), so provenance outlines the value, not the label."""
    head: list[Word] = []
    tail: list[Word] = []
    pos = 0
    for w in words:
        end = pos + len(w.text)
        if end <= at:
            head.append(w)
        elif pos >= at:
            tail.append(w)
        else:
            cut = at - pos
            left_box = right_box = None
            if w.box is not None:
                x = w.box.x0 + (w.box.x1 - w.box.x0) * cut / max(len(w.text), 1)
                left_box = Box(x0=w.box.x0, y0=w.box.y0, x1=x, y1=w.box.y1)
                right_box = Box(x0=x, y0=w.box.y0, x1=w.box.x1, y1=w.box.y1)
            head.append(Word(w.text[:cut], left_box, w.conf, w.page, w.at))
            tail.append(Word(w.text[cut:], right_box, w.conf, w.page, None if w.at is None else w.at + cut))
        pos = end + 1
    return [w for w in head if w.text.strip()], [w for w in tail if w.text.strip()]


def _box(words: list[Word]) -> Box | None:
    return Box.union([w.box for w in words if w.box is not None])


def _span(words: list[Word]) -> tuple[int, int] | None:
    """Where in a plain text the value's words stand (start, end offsets), when every word knows."""
    placed = [w for w in words if w.text.strip()]
    if not placed or any(w.at is None for w in placed):
        return None
    return min(w.at or 0 for w in placed), max((w.at or 0) + len(w.text) for w in placed)


@lru_cache(maxsize=64)
def _signature_lines(texts: tuple[str, ...]) -> frozenset[str]:
    """The lines of the text's signature block (`parsers.signature`), which hold a job title and a
    company under a name: never a label over its value."""
    block = signature_block("\n".join(texts))
    return frozenset(ln.strip() for ln in block.lines) if block is not None else frozenset()


def _v_overlap(a: Box, b: Box) -> float:
    inter = min(a.y1, b.y1) - max(a.y0, b.y0)
    shorter = min(a.y1 - a.y0, b.y1 - b.y0)
    return inter / shorter if shorter > 0 else 0.0
