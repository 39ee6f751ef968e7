"""A label with its value one space after it, no separator: a typewriter's tab past its stop.

In a letter laid out with tabs, a label longer than its column has its value one space after it
("Name of the worker going on assignment ROE, Jo A.", "Remains on payroll YES",
"Anticipated return date of the assignment 25 May 2028"): no separator says where the label ends.
It ends where a value of a kind that can be checked begins (a capitalised name after words written
small, a yes or no as the last word, a date, number, address or e-mail address), and only when the
words before name one field for certain and the rest reads as that field's value.
"""

from __future__ import annotations

import re

from parsers.label_words import _HINTS, PLACE, _for_meaning, _labelish, classify
from parsers.labels import LabelMatch
from parsers.value_dates import parse_date, parse_period
from parsers.values import normalize

# Words a sentence starts with, never a label: a sentence with a date in it is prose's to read.
_SENTENCE_STARTS = frozenset({"the", "we", "our", "he", "she", "it", "this", "they", "i", "please", "his", "her",
                              "their", "as", "from", "on", "in", "she's", "he's", "kindly", "will"})


def _written_small(head: str) -> bool:
    """A label's words after its first are written small, but for abbreviations ("U.S.") and its
    hints: a capitalised word among them is a value's ("... (abroad) Keathciethlaan 101": a street)."""
    words = _HINTS.sub(" ", head).split()[1:]
    return all(not w[:1].isupper() or "." in w or w.isupper() for w in words)


def after_words(text: str, m: LabelMatch | None, section: str | None, offset: int) -> LabelMatch | None:
    """The label of `text` (no separator in it; `m` a known label at its start, if any) ended before
    its value, as the module says; else None."""
    return _name_after_words(text, m, section, offset) or _answer_after_words(text, m, section, offset) or \
        _typed_after_words(text, m, section, offset)


# A name as a label's value starts it: a capitalised word (the family name in capitals, with its
# comma, when it goes first), then up to three more, an initial's dot allowed.
_NAME_VALUE = re.compile(r"[A-Z][\w'\u2019-]*,?(?:\s+[A-Z][\w'\u2019.-]*){1,3}\s*")


def _name_after_words(text: str, m: LabelMatch | None, section: str | None, offset: int) -> LabelMatch | None:
    """A long label for the worker's name with its value one space after it, no separator ("Name of
    the worker going on assignment ROE, Jo A.": a typewriter's tab past its stop): the label
    is the words written small after the known label's start, up to the first capitalised word,
    when they name the worker's name and what follows reads as one; else None."""
    if m is None or m.separator or m.field != "worker.name":
        return None
    at = offset + len(m.label) if text[offset:].startswith(m.label) else m.end
    for word in re.finditer(r"\S+", text[at:]):
        if word.group()[:1].isupper():
            at += word.start()
            break
        if not word.group().isalpha() or not word.group().islower():
            return None
    else:
        return None
    label = text[offset:at].strip()
    if len(label.split()) < 3 or not _NAME_VALUE.fullmatch(text[at:]):
        return None
    found = classify(_for_meaning(label), section)
    if found is None or found[0] != "worker.name" or found[1] < PLACE:
        return None
    return LabelMatch("worker.name", at, label, True, False, found[1], ())


# The answers a yes/no question's value is written as, alone after its words.
_ANSWERS = frozenset({"yes", "no", "y", "n"})
_YES_NO_LEAVES = ("hired_in_us", "remains_employee")


def _answer_after_words(text: str, m: LabelMatch | None, section: str | None, offset: int) -> LabelMatch | None:
    """A yes/no question with its answer one space after it, no separator ("Remains on payroll YES":
    the colon lost): the words before the answer, when they name a yes/no field for certain; else None."""
    if m is not None and m.separator:
        return None
    head, _sp, answer = text[offset:].rstrip().rpartition(" ")
    if answer.casefold() not in _ANSWERS or len(head.split()) < 2 or not _labelish(head) or not _written_small(head):
        return None
    found = classify(_for_meaning(head), section)
    if found is None or not found[0].endswith(_YES_NO_LEAVES) or found[1] < PLACE:
        return None
    return LabelMatch(found[0], offset + len(head) + 1, head, True, False, found[1], ())


_MONTH_START = re.compile(r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?,?$", re.I)
_TYPED_LEAVES = ("date", "date_of_birth", "ssn", "ein", "address", "work_address", "email")


def _typed_after_words(text: str, m: LabelMatch | None, section: str | None, offset: int) -> LabelMatch | None:
    """A long label with a value of a checkable type one space after it, no separator ("Anticipated
    return date of the assignment 25 May 2028", "Address of the company 12 Main St, Boise, ID 83702"):
    the label ends before the first word a value of that type starts with (a digit, a month, an
    address's at sign), when the words before name the field for certain and the rest reads as it."""
    if m is not None and m.separator:
        return None
    tokens = list(re.finditer(r"\S+", text[offset:]))
    for k in range(2, len(tokens)):
        tok = tokens[k].group()
        starts = tok[:1].isdigit() or "@" in tok or (
            _MONTH_START.match(tok) is not None and k + 1 < len(tokens) and tokens[k + 1].group()[:1].isdigit())
        if not starts:
            continue
        head = text[offset:offset + tokens[k].start()].strip()
        value = text[offset + tokens[k].start():].strip()
        if not _labelish(head) or head.split()[0].casefold() in _SENTENCE_STARTS or value.endswith(".") or \
                not _written_small(head):
            return None  # "The posting runs from 6 March 2027 until ...": a sentence, prose's to read
        found = classify(_for_meaning(head), section)
        pairs, doubt = normalize(found[0], value) if found is not None else ([], "no field")
        if found is None or found[1] < PLACE or not found[0].endswith(_TYPED_LEAVES) or doubt is not None or \
                any(f.endswith((".street", ".city")) and not re.search(r"[^\W\d_]", v) for f, v in pairs) or \
                (found[0].endswith("date") and (parse_date(value) is None or parse_period(value) is not None)):
            return None
        return LabelMatch(found[0], offset + tokens[k].start(), head, True, False, found[1], ())
    return None
