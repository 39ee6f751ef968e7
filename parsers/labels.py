"""The label vocabulary: every way people write a field's label, mapped to the canonical field path.

Employers write "Soc. Sec. No.", "Employee's SSN#", "S.S.N." or "Social Security Number" for the
same thing; forms, letters, spreadsheets and faxes all go through this one table, so adding a
variant here teaches every parser at once. The vocabulary is data (`parsers.label_vocab`, read
and re-exported here): `LABELS` (labels that mean the
same wherever they stand), `SECTION_LABELS` (bare "Name", "Address", "Phone"... whose meaning
depends on the heading above them) and `SECTIONS` (those headings).

Besides the canonical paths of domain.md, a label can name a pseudo-field whose value
`values.normalize` expands: `worker.name` (a full name: first/middle/last), `employer.address`,
`worker.address`, `assignment.work_address` (an address: its parts), `assignment.period` (both
dates), `dependents` (a whole "Anna Doe, spouse, born 2/3/1986" line) and, under a dependents
heading, `dependents.name` / `.date_of_birth` / `.relationship` (numbered by `fields.find_fields`).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache

from parsers.label_vocab import (  # the vocabulary, re-exported: `from parsers.labels import LABELS` stays
    _FIELD_SECTION,
    _NUMBER_SUFFIX_LEAVES,
    _SECTION_PREFIXES,
    CANONICAL_FIELDS,
    LABELS,
    SECTION_LABELS,
    SECTIONS,
)

__all__ = ["CANONICAL_FIELDS", "LABELS", "SECTIONS", "SECTION_LABELS", "LabelMatch", "header_field", "match_label",
           "match_label_at", "match_section"]


# --------------------------------------------------------------------------------------------------
# tokens: case-, accent- and punctuation-insensitive words with their place in the original text

_CANON_TOKENS = {
    "employees": "employee", "workers": "worker", "employers": "employer", "no": "number",
    "nr": "number", "num": "number", "nbr": "number", "nos": "number", "numbers": "number",
    "telephone": "phone", "tel": "phone", "ph": "phone", "postcode": "postal code",
    "zipcode": "zip code", "birthdate": "birth date", "dateofbirth": "date of birth",
}


@dataclass(frozen=True)
class _Tok:
    text: str
    start: int
    end: int


def _fold_char(c: str) -> str:
    """One character case- and accent-folded; an ASCII character has no decomposition: it is only
    lowered (the NFKD of every character of every line was a fifth of a text body's label reading)."""
    if c.isascii():
        return c.lower()
    return _fold_other(c)


@lru_cache(maxsize=4096)
def _fold_other(c: str) -> str:
    return "".join(x for x in unicodedata.normalize("NFKD", c) if not unicodedata.combining(x)).lower()


def _tokens(text: str) -> list[_Tok]:  # noqa: C901  (each kind of token a label holds: words, initialisms, hints, numbers)
    """Words of `text`, folded and canonical, each with its [start, end) in the original text.

    Dots and slashes inside initialisms vanish ("U.S." is `us`, "S.S.N." is `ssn`, "D/O/B" is
    `dob`: one letter after another, each alone), a possessive "'s" vanishes
    ("Employee's" is `employee`), "#" is the word `number`, runs of dots are separators.
    """
    out: list[_Tok] = []
    buf: list[str] = []
    start = -1
    last_end = -1
    n = len(text)
    joined = False  # the word in `buf` is initials joined so far ("S.S" of "S.S.N.")

    def flush() -> None:
        nonlocal buf, start, joined
        if buf:
            out.append(_Tok("".join(buf), start, last_end))
        buf, start, joined = [], -1, False

    i = 0
    while i < n:
        c = text[i]
        f = _fold_char(c)
        if f and f.isalnum():
            if not buf:
                start = i
            buf.append(f)
            last_end = i + 1
        elif c in "'’" and buf:
            if i + 1 < n and text[i + 1] in "sS" and (i + 2 >= n or not text[i + 2].isalnum()):
                i += 2  # possessive 's
                last_end = i
                continue
            # an apostrophe inside a word ("O'Brien") or after it ("employers'") joins
        elif c in ".,/" and buf and (len(buf) == 1 or joined) and i + 1 < n and text[i + 1].isalpha() and (
            i + 2 >= n or not text[i + 2].isalnum()
        ):
            joined = True  # "U.S", "D/O/B": the mark between two initials (OCR reads some dots as commas)
        elif c == "." and buf and (joined or (out and len(buf) == 1 and i > 1 and text[i - 2] == ".")):
            last_end = i + 1  # the final dot of "S.S.N." belongs to the label
            flush()
        elif c == "#":
            flush()
            out.append(_Tok("number", i, i + 1))
        else:
            flush()
        i += 1
    flush()
    return _merge_initialisms(out, text)


def _merge_initialisms(toks: list[_Tok], text: str) -> list[_Tok]:
    """Join "e mail" into `email` and canonicalise synonyms ("Tel" is `phone`, "No." is `number`)."""
    merged: list[_Tok] = []
    for t in toks:
        if merged and merged[-1].text == "e" and t.text == "mail" and t.start - merged[-1].end <= 1:
            merged[-1] = _Tok("email", merged[-1].start, t.end)
            continue
        merged.append(t)
    out: list[_Tok] = []
    for t in merged:
        canon = _CANON_TOKENS.get(t.text)
        if canon is None:
            out.append(t)
        else:
            out.extend(_Tok(w, t.start, t.end) for w in canon.split())
    return out


def _key(text: str) -> tuple[str, ...]:
    return tuple(t.text for t in _tokens(text))


# --------------------------------------------------------------------------------------------------
# compiled tables


@dataclass(frozen=True)
class _Entry:
    tokens: tuple[str, ...]
    field: str
    strict: bool  # needs an explicit separator (":" ...) after it: a common word that opens prose


# Multi-word labels that also open ordinary sentences ("Going to Germany next week").
_PROSE_LABELS = {"going to", "transferred to", "hired in", "hired at", "born in", "born on",
                 "citizen of", "resident of", "accompanied by", "prepared by", "submitted by",
                 "requested by", "request for", "certificate for", "confirm to", "period from",
                 "period to", "from date", "to date", "send confirmation", "send confirmation to",
                 "confirmation to", "please confirm to", "send the confirmation to", "social security",
                 "first given name", "email confirmation", "date employed"}
_NOT_STRICT_SINGLE = {"ssn", "ein", "fein", "dob", "tin", "pob", "pesel", "cpr", "socsec"}


def _entry(variant: str, field: str) -> _Entry:
    toks = _key(variant)
    folded = " ".join(toks)
    strict = (len(toks) == 1 and folded not in _NOT_STRICT_SINGLE) or " ".join(
        t.text for t in _tokens(variant.lower())
    ) in _PROSE_LABELS or folded in _PROSE_LABELS
    return _Entry(toks, field, strict)


@cache
def _table(section: str | None) -> dict[str, list[_Entry]]:  # noqa: C901, PLR0912  (each source of labels in turn: the vocabulary, sections, their variants)
    """First token -> entries, longest first; a section's own labels shadow the generic ones."""
    entries: dict[tuple[str, ...], _Entry] = {}
    for field, variants in LABELS.items():
        for v in variants:
            e = _entry(v, field)
            entries.setdefault(e.tokens, e)
    for sec, prefixes in _SECTION_PREFIXES.items():
        for field, variants in SECTION_LABELS.get(sec, {}).items():
            for v in variants:
                for p in prefixes:
                    e = _entry(f"{p} {v}", field)
                    entries.setdefault(e.tokens, e)
    # "Employee Last Name", "Worker DOB", "Employer Federal Tax ID": a section word before a label
    for field, variants in LABELS.items():
        owner = _FIELD_SECTION.get(field.split(".", 1)[0], "")
        for v in variants:
            for p in _SECTION_PREFIXES.get(owner, []):
                e = _entry(f"{p} {v}", field)
                entries.setdefault(e.tokens, _Entry(e.tokens, field, False))
    if section in SECTION_LABELS:
        for field, variants in SECTION_LABELS[section].items():
            for v in variants:
                e = _entry(v, field)
                entries[e.tokens] = e
    index: dict[str, list[_Entry]] = {}
    for e in entries.values():
        if e.tokens:
            index.setdefault(e.tokens[0], []).append(e)
    for lst in index.values():
        lst.sort(key=lambda e: -len(e.tokens))
    return index


@lru_cache(maxsize=1)
def _section_table() -> dict[tuple[str, ...], str]:
    table: dict[tuple[str, ...], str] = {}
    for sec, variants in SECTIONS.items():
        for v in variants:
            table.setdefault(_key(v), sec)
    return table


# --------------------------------------------------------------------------------------------------
# matching

_ENUM = re.compile(
    r"^\s*(?:(?:section|part|step|item|question|box|block|field|q)\s*[0-9a-z]{1,3}\s*[:.)\-–—]*\s*"
    r"|\(?[0-9]{1,2}[a-z]?[.)]\s*(?:[0-9]{1,2}[.)]\s*)?|\(?[a-hA-H][.)]\s+|\(?[ivxIVX]{1,4}[.)]\s+"
    r"|[\-•*·▪●○■□►>]\s*)",
    re.IGNORECASE,
)
_HINT = re.compile(r"\s*\((?:[^()\d]|\d(?=\s*\)|[a-z]))*\)|\s*\[[^\[\]\d]*\]")
_SEP_CHARS = " \t:;#=>|.…-–—_*"  # ";" is how OCR often reads ":"


FUZZY_SCORE = 0.84  # just under `label_words.SURE_WORDS`: trusted while its value reads as the field's


@dataclass(frozen=True)
class LabelMatch:
    """A label found at the start of a text: the field, where the value starts, and how sure we are."""

    field: str
    end: int  # characters of the text taken by enumeration, label, hints and separator
    label: str  # the label as written
    separator: bool  # an explicit separator (":", "#", dot leaders, "-", tab, several spaces) or nothing
    strict: bool  # a common word: trust it only with a separator, or when its value normalises
    score: float = 1.0  # 1 for a label of the vocabulary; less for one classified from its words
    hints: tuple[str, ...] = ()  # what the label's brackets say: "last, first", "dd/mm/yyyy", "if known"


def _after_label(text: str, pos: int) -> tuple[int, bool]:
    """Skip hints ("(MM/DD/YYYY)") and the separator after a label; did we see a real separator?"""
    while True:
        m = _HINT.match(text, pos)
        if not m:
            break
        pos = m.end()
    start = pos
    while pos < len(text) and text[pos] in _SEP_CHARS:
        pos += 1
    sep = text[start:pos]
    explicit = (
        any(c in sep for c in ":;#=>|…\t-–—_") or ".." in sep or "  " in sep or pos >= len(text)
        or (sep.startswith(".") and sep.strip(" ") == "." and not text[pos:pos + 1].islower())
        or ". ." in sep  # spaced dot leaders ". . . ."
    )  # one dot before a word written small ends an abbreviation ("Social Security no. of the worker")
    return pos, explicit


@cache
def _joined_variants(section: str | None) -> dict[str, _Entry]:
    return {" ".join(e.tokens): e for lst in _table(section).values() for e in lst if len(" ".join(e.tokens)) >= 6}


def _slip_of(word: str, variant: list[str]) -> bool:
    """`word` is a letter or two off one of the variant's words ("Citizanship"), not another word
    ("Our company" is not "Host company")."""
    return any(difflib.SequenceMatcher(None, word, v).ratio() >= 0.6 for v in variant)


@cache
def _vocabulary_words(section: str | None) -> frozenset[str]:
    return frozenset(w for k in _joined_variants(section) for w in k.split())


def _fuzzy_label(text: str, offset: int, toks: list[_Tok], section: str | None) -> LabelMatch | None:
    """ "Citizanship: United States": a label OCR misread by a letter or two, trusted only before a
    colon and only when one field is that close."""
    colon = re.search(r"[:;]", text[offset : offset + 50])
    if colon is None:
        return None
    cut = offset + colon.start()
    head = [t for t in toks if offset + t.end <= cut]
    key = " ".join(t.text for t in head)
    if len(key) < 6 or len(head) > 8:
        return None
    variants = _joined_variants(section)
    close = difflib.get_close_matches(key, list(variants), n=3, cutoff=0.86)
    words = _vocabulary_words(section)
    # a word of the vocabulary is no OCR slip of another ("Foreign entity" is not "Foreign city")
    close = [c for c in close
             if all(w not in words and _slip_of(w, c.split()) for w in set(key.split()) - set(c.split()))]
    fields = {variants[c].field for c in close}
    if len(fields) != 1:
        return None
    end, _explicit = _after_label(text, cut)
    # a guess from the letters, not the vocabulary's: a value that does not read as the field's
    # says the guess was wrong ("label_words.SURE_WORDS"), and the value is dropped, not flagged
    return LabelMatch(fields.pop(), end, text[offset:cut].strip(), True, True, score=FUZZY_SCORE)


@lru_cache(maxsize=8192)
def match_label_at(text: str, section: str | None = None) -> LabelMatch | None:
    """Like `match_label`, with the details `find_fields` needs to weigh a match.

    Cached: a body's lines are looked up by the label finder, the worker segmenter and the typed
    reader alike, and the fuzzy look-up of an unknown label is the slow part of reading a mail.
    """
    enum = _ENUM.match(text)
    offset = enum.end() if enum else 0
    toks = _tokens(text[offset:])
    if not toks:
        return None
    words = [t.text for t in toks]
    best: _Entry | None = None
    for e in _table(section).get(words[0], []):
        n = len(e.tokens)
        if tuple(words[:n]) == e.tokens:
            best = e
            break
    if best is None:
        return _fuzzy_label(text, offset, toks, section)
    n = len(best.tokens)
    label_end = offset + toks[n - 1].end
    suffix = False
    leaf = best.field.rsplit(".", 1)[-1]
    if leaf in _NUMBER_SUFFIX_LEAVES and best.tokens[-1] != "number" and len(toks) > n and \
            toks[n].text == "number":
        after = text[offset + toks[n].end : offset + toks[n].end + 1]
        if after in ("", ".", ":", " ", "#", "\t"):
            label_end = offset + toks[n].end
            suffix = True
    end, explicit = _after_label(text, label_end)
    return LabelMatch(best.field, end, text[offset:label_end].strip(), explicit or suffix, best.strict)


def match_label(text: str, section: str | None = None) -> tuple[str, int] | None:
    """(field path, characters taken by the label and its separator) if `text` starts with a label.

    Case, accents and punctuation do not matter ("Soc. Sec. No.", "S.S.N.", "Employee's SSN#");
    trailing ":", "#", "No.", format hints like "(MM/DD/YYYY)" and dot leaders belong to the label.
    `section` (from `match_section`) gives bare labels like "Name" or "Phone" their meaning.
    A common word used as a label ("To", "From", "Country") needs an explicit separator here.
    """
    m = match_label_at(text, section)
    if m is None or (m.strict and not m.separator):
        return None
    return m.field, m.end


@lru_cache(maxsize=8192)
def match_section(text: str) -> str | None:
    """The section key ("worker", "employer", "contact", "work", "dependents") of a heading line."""
    stripped = text.strip()
    if not stripped or len(stripped) > 80:
        return None
    body = _ENUM.sub("", stripped, count=1)
    body = re.sub(r"\([^)]*\)", " ", body)  # "Employer (U.S.)" -> "Employer"
    words = list(_key(body))
    while words and words[-1] in ("information", "info", "details", "data", "section", "particulars"):
        if tuple(words) in _section_table():
            break
        words.pop()
    while words and words[0] in ("the", "a", "about", "section", "part"):
        words.pop(0)
    if not words:
        return None
    return _section_table().get(tuple(words))


_DEPENDENT_HEADER = re.compile(
    r"^(?:dependent|dependant|family member|child|spouse|accompanying family member)s?\s*#?\s*(\d{1,2})?"
    r"\s*[_.\- ]*\s*(name|full name|dob|date of birth|birth date|birthdate|relationship|relation)$",
    re.IGNORECASE,
)
_DEP_SUB = {"name": "name", "full name": "name", "date_of_birth": "date_of_birth",
             "dob": "date_of_birth", "date of birth": "date_of_birth",
            "birth date": "date_of_birth", "birthdate": "date_of_birth", "relationship": "relationship",
            "relation": "relationship"}


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


@lru_cache(maxsize=1)
def _canonical_squashed() -> dict[str, str]:
    return {_squash(f): f for f in CANONICAL_FIELDS}


def header_field(text: str) -> str | None:  # noqa: C901, PLR0911  (each way a header names its field returns at once)
    """The field path of a whole spreadsheet column header or PDF form field name.

    "Employee SSN", "ssn", "worker.ssn", "Worker_SSN", "Start Date (MM/DD/YYYY)", "Host Country",
    "EmployerName", "topmostSubform[0].Page1[0].SSN[0]" and "Dependent 1 DOB" all work; the label
    must take the whole header (a header that merely starts with a label is not that field).
    """
    raw = (text or "").strip()
    if not raw:
        return None
    squashed = _canonical_squashed()
    if _squash(raw) in squashed:
        return squashed[_squash(raw)]
    # model paths count from 0 ("dependents.0.name", "dependents_1_dob"); people from 1 ("Dependent 1 DOB")
    m = re.fullmatch(r"dependents[\[._](\d+)\]?[._](name|date_of_birth|relationship)", raw, re.IGNORECASE)
    if m:
        return f"dependents[{int(m[1])}].{m[2].lower()}"
    m = re.fullmatch(r"(?:dependent|dependant|family member)?\s*(name|full name|date of birth|dob|birth date|"
                     r"relationship|relation)\s*(?:of dependent\s*)?\((\d{1,2})\)", raw, re.IGNORECASE)
    if m and (raw.lower().startswith(("dependent", "dependant", "family")) or m[1].lower() != "name"):
        return f"dependents[{max(int(m[2]) - 1, 0)}].{_DEP_SUB[m[1].lower()]}"
    # PDF form field names: "topmostSubform[0].Page1[0].SSN[0]" -> "SSN"
    name = re.sub(r"\[\d+\]", "", raw)
    if "." in name and not re.search(r"\s", name) and not re.fullmatch(r"(?:[A-Za-z]\.)+", name):
        name = name.rsplit(".", 1)[-1] or name
    name = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)", " ", name)
    name = re.sub(r"[_]+", " ", name).strip(" *:")
    if _squash(name) in squashed and "." in name:
        return squashed[_squash(name)]
    dep = _DEPENDENT_HEADER.match(name.replace("_", " "))
    if dep:
        index = int(dep[1]) - 1 if dep[1] else 0
        return f"dependents[{max(index, 0)}].{_DEP_SUB[dep[2].lower()]}"
    for candidate in (name, raw):
        lm = match_label_at(candidate)
        if lm is None:
            continue
        rest = candidate[lm.end :].strip(_SEP_CHARS + "()")
        # "Request type: employee / self-employed": the choices printed after the label
        if not rest or ("/" in rest and ":" in candidate[: lm.end] and re.fullmatch(r"[\w\s/,.\-]+", rest)):
            return lm.field
    return None
