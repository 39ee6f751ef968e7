"""Value normalisers: the ways people write a value, reduced to the one canonical string.

Every parser reads values as text (a form field, a line of a letter, an OCRed word, a spreadsheet
cell); they all hand that text to `normalize`, so "4/24/85" and "April 24th, 1985" reach the request
model as the same ISO date whatever file they came from. Normalisers check *shape* only (nine digits
for an SSN); whether a value is allowed (area 666, an unassigned EIN prefix) is for validation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date

from parsers.ssn_grammar import SEPARATOR_CHARS, SSN_IN_TEXT, SSN_VALUE, canonical, is_ssn
from parsers.value_dates import parse_date, parse_period
from parsers.value_people import DEP_DATE, name_initial, parse_dependent, parse_name, parse_relationship
from parsers.value_places import US_STATES, fix_place, parse_address, parse_country, parse_state, parse_zip
from parsers.value_text import clean as _clean
from parsers.value_text import fold as _fold

# The value normalisers of every kind, those of the value_* modules too: parsers import them from here.
__all__ = [
    "US_STATES", "fix_company", "fix_place", "has_shape", "normalize", "only_particles", "parse_address",
    "parse_bool", "parse_country", "parse_date", "parse_dependent", "parse_ein", "parse_email",
    "parse_name", "parse_period", "parse_phone", "parse_relationship", "parse_request_type",
    "parse_ssn", "parse_state", "parse_zip", "typed_value",
]

# --------------------------------------------------------------------------------------------------
# helpers


_OCR_DIGITS = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "l": "1", "I": "1", "|": "1",
                             "i": "1", "!": "1", "S": "5", "s": "5", "\u00a7": "5", "B": "8", "Z": "2", "z": "2"})


def _digits_value(raw: str, groups: tuple[int, ...]) -> str | None:
    """Digits in `groups` sizes from text like "123 45 6789", "123.45.6789" or "123456789"."""
    text = _clean(raw)
    total = sum(groups)
    if not text:
        return None
    letters = sum(c.isalpha() or c == "\u00a7" for c in text)  # a section sign is an S, or a 5
    digits = sum(c.isdigit() for c in text)
    if letters and digits >= total - 2:  # a few OCR look-alikes among real digits
        text = text.translate(_OCR_DIGITS)
    if not re.fullmatch(r"[#\s]*[\d\s.\-/–—_]+", text):
        return None
    only = re.sub(r"\D", "", text)
    if len(only) != total:
        return None
    # The separators written must fall on group boundaries (or be absent).
    parts = [p for p in re.split(r"[\s.\-/–—_]+", text.strip("# ")) if p]
    if len(parts) > 1:
        sizes = [len(p) for p in parts]
        ok_boundaries: set[int] = set()
        acc = 0
        for g in groups[:-1]:
            acc += g
            ok_boundaries.add(acc)
        acc = 0
        for s in sizes[:-1]:
            acc += s
            if acc not in ok_boundaries:
                return None
    out: list[str] = []
    pos = 0
    for g in groups:
        out.append(only[pos : pos + g])
        pos += g
    return "-".join(out)


# --------------------------------------------------------------------------------------------------
# identifiers


def parse_ssn(raw: str) -> str | None:
    """An SSN as `NNN-NN-NNNN` from "123-45-6789", "123 45 6789", "123456789", "123.45.6789",
    "123 / 45 / 6789", "123–45–6789": the one grammar of `parsers.ssn_grammar`, which the mask uses
    too (so whatever is read as an SSN is masked). Whitespace inside is kept as written, not
    collapsed, so that the mask, which sees the text as written, finds the same number."""
    # Separators left at the ends by a form box or OCR ("123-45-6789.") are not part of the number.
    text = unicodedata.normalize("NFKC", raw or "").strip().strip(" \t:;,|" + SEPARATOR_CHARS).strip()
    letters = sum(c.isalpha() or c == "\u00a7" for c in text)  # a section sign is an S, or a 5
    if letters and sum(c.isdigit() for c in text) >= 7:  # a few OCR look-alikes among real digits
        text = text.translate(_OCR_DIGITS)
    m = SSN_VALUE.fullmatch(text)
    return canonical(m) if m and is_ssn(m) else None


def parse_ein(raw: str) -> str | None:
    """An EIN as `NN-NNNNNNN` from "12-3456789", "12 3456789" or "123456789"."""
    return _digits_value(raw, (2, 7))


# --------------------------------------------------------------------------------------------------
# booleans, contact details, request type

_TRUE = {"yes", "y", "x", "checked", "true", "t", "1", "on", "ja", "oui", "si", "sí", "[x]", "(x)",
         "☒", "☑", "✓", "✔", "✗", "✘", "selected", "yes ✓", "affirmative", "correct"}
_FALSE = {"no", "n", "false", "f", "0", "off", "unchecked", "nein", "non", "[ ]", "( )", "☐", "[]",
          "()", "not checked", "none", "negative"}


def parse_bool(raw: str) -> bool | None:  # noqa: PLR0911  (each way of saying yes or no returns at once)
    """A yes/no answer: "Yes", "Y", "X", "checked", "true", "No", "N", "☐" ... ("Yes, since 2019" too)."""
    text = _clean(raw).casefold().strip(" .!")
    # A question's mark or the separator after it, left before the answer: "Hired here? > Y".
    text = re.sub(r"^(?:\?\s*)?[:>=\-\u2013\u2014]?\s*", "", text)
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    # a marked option among printed ones: "[X] Yes [ ] No", "Yes ☐ No ☒"
    mark = r"(?:\[\s*[x✓✔×]\s*\]|\(\s*[x✓✔×]\s*\)|[☒☑■✓✔✗✘])"
    if re.match(r"[\[(☐□☒☑■✓✔✗✘]", text):  # boxes before their options
        chosen: set[str] = set(re.findall(mark + r"\s*(yes|no)\b", text))
    else:
        chosen = set(re.findall(r"\b(yes|no)\s*" + mark, text))
    if len(chosen) == 1:
        return chosen.pop() == "yes"
    if chosen:
        return None
    m = re.match(r"^(yes|no|true|false)\b[\s,;.\-–(]", text + " ")
    if m and not re.search(r"[\[☐□(]", text):
        return m[1] in ("yes", "true")
    return None


_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")


_SPACED_DOT = re.compile(
    r"(@[\w-]+(?:\.[\w-]+)*)(?: ?\. ?(?=(?:[a-z][\w-]*\s?[.,]\s?)*[a-z]{2,4}\b(?![\w.-]*@))"
    r"| ?, ?(?=(?:[a-z][\w-]*\s?[.,]\s?)+[a-z]{2,4}\b(?![\w.-]*@)))"
)


def parse_email(raw: str) -> str | None:
    """The one e-mail address in the text ("Jane <jane@x.org>", "mailto:..."), domain in lower case."""
    text = _clean(raw)
    # OCR: "jane. doe@x.org" (a space after a dot), "x,org" (a comma for the dot before the TLD)
    text = re.sub(r"([\w+-])\.\s(?=[\w.+-]+@)", r"\1.", text)
    text = re.sub(r"(@[\w.,-]+)", lambda m: re.sub(r"[.,]{2,}", ".", m[1]), text)  # "example,.com"
    text = re.sub(r"(@[\w.-]+),([A-Za-z]{2,6})\b", r"\1.\2", text)
    while (fixed := _SPACED_DOT.sub(r"\1.", text, count=1)) != text:
        text = fixed  # "x@mail .example. com": spaces OCR put around the domain's dots
    found = _EMAIL.findall(text)
    if len(set(f.casefold() for f in found)) != 1:
        return None
    addr = found[0].strip(".")
    local, domain = addr.rsplit("@", 1)
    if "." not in domain or len(domain.rsplit(".", 1)[1]) < 2:
        return None
    return f"{local}@{domain.lower()}"


def parse_phone(raw: str) -> str | None:
    """A phone number as written (trimmed), if it holds 7 to 15 digits and nothing but phone characters."""
    text = _clean(raw).rstrip(".")
    if not text:
        return None
    digits = sum(c.isdigit() for c in text)
    if not 7 <= digits <= 15:
        return None
    if not re.fullmatch(r"(?:tel:?\s*)?\+?[\d\s().\-–/]+(?:\s*(?:x|ext\.?|extension)\s*\d{1,6})?", text,
                        re.IGNORECASE):
        return None
    return text


def parse_request_type(raw: str) -> str | None:
    """`employee` or `self_employed` from "Employee", "Self-employed", "self employed person", ..."""
    key = re.sub(r"[^a-z]+", " ", _fold(_clean(raw))).strip()
    if not key:
        return None
    if re.search(r"\bs\w?l\w? ?[ec]mploy|\bfree ?lanc|\bsole proprietor|\bindependent contractor\b|"
                 r"\bown business\b", key):
        return "self_employed"
    if re.search(r"\b(?:employee|employed|worker|staff|transferred|detached|posted|secondment|"
                 r"seconded)\b", key):
        return "employee"
    return None


# --------------------------------------------------------------------------------------------------
# the dispatcher

_DATE_FIELDS = {"date_of_birth", "start_date", "end_date", "hire_date", "irs_3121l_date"}
_COUNTRY_FIELDS = {"citizenship", "residence_country"}
_BOOL_FIELDS = {"hired_in_us", "remains_employee"}
_EMAIL_FIELDS = {"email", "contact_email", "confirmation_email"}
_PHONE_FIELDS = {"phone", "contact_phone"}
_ADDRESS_FIELDS = {"employer.address", "worker.address", "assignment.work_address"}
_ADDRESS_KEYS = ("street", "city", "state", "postal_code", "country")


_EIN_IN_TEXT = re.compile(r"(?<![\d-])\d{2}[ .\-]?\d{7}(?![\d-])")


def _only(pattern: re.Pattern[str], text: str, parse: Callable[[str], str | None], group: int = 0) -> str | None:
    """The value when exactly one stretch of `text` reads as one ("123-45-6789 (on file)")."""
    found = {v for m in pattern.finditer(text) if (v := parse(m[group])) is not None}
    return found.pop() if len(found) == 1 else None


def has_shape(field: str) -> bool:
    """Whether `normalize` checks the shape of this field's values (a date, an SSN) or takes any text.

    A label that is also a common word ("Born", "To") is believed without a separator only when
    its value has a shape that confirms it; names and addresses have none that prose lacks.
    """
    leaf = field.rsplit(".", 1)[-1]
    return (
        leaf in {"ssn", "ein", "state", "postal_code", "country", "request_type", "relationship"}
        | _DATE_FIELDS | _COUNTRY_FIELDS | _BOOL_FIELDS | _EMAIL_FIELDS | _PHONE_FIELDS
        or field in ("assignment.country", "assignment.period")
    )


# Company-form suffixes OCR gets wrong in a fixed way (letters read as digits). The shapes on the
# left never occur in a company name as typed, so the repair cannot change a right value.
_COMPANY_REPAIRS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(Sp\.?\s*z)\s*[0oO][.,]\s*[0oO][.,]?(?=\s|$)"), r"\1 o.o."),
    (re.compile(r"\bS\.\s?r\.\s?[1lI|]\.(?=\s|$)"), "S.r.l."),
    (re.compile(r"\bB[.,]\s?V[.,](?=\s|$)"), "B.V."),
    (re.compile(r"\bGmb[Hh]\b|\bGrnbH\b|\bGmbll\b"), "GmbH"),
    (re.compile(r"\bCo,,(?=\s)"), "Co.,"),  # "Co., Ltd." with its dot read as a second comma
    (re.compile(r"§(?=\.)"), "S"),  # "S.A." with its S read as a section sign
    (re.compile(r"\bs\.\s?r[.,]\s?[0o][.,](?=\s|$)"), "s.r.o."),  # "s.r,0." with its o read as a zero
    (re.compile(r"\bS\.\s?R[.,]\s?[0O][.,](?=\s|$)"), "S.R.O."),
    (re.compile(r"\b(Pty\.?\s+)L[-\u2013]d\b"), r"\1Ltd"),  # "Pty L-d": the t's thin stem lost
]


def fix_company(text: str) -> str:
    """Undo the OCR slips that company-form suffixes suffer ("Sp. z 0.0." -> "Sp. z o.o.")."""
    for pattern, repl in _COMPANY_REPAIRS:
        text = pattern.sub(repl, text)
    return text


# The particles a family name starts with; none is a given or a family name alone ("Le", "Du" or
# "Di" are, so they are not here).
_PARTICLE_WORDS = frozenset({"van", "von", "der", "den", "de", "del", "della", "dos", "das", "ter", "ten", "zu", "vom"})


def only_particles(part: str) -> bool:
    """`part` (a first or last name read) is particles and nothing else: the name was cut off."""
    words = part.casefold().split()
    return bool(words) and all(w in _PARTICLE_WORDS for w in words)


def normalize(field: str, raw: str) -> tuple[list[tuple[str, str]], str | None]:  # noqa: C901, PLR0911, PLR0912, PLR0915  (one case per field kind: each kind's rules stay together)
    """Canonical (field, value) pairs for a raw value read for `field`, and why it failed, if it did.

    A full name (`worker.name`) yields first/middle/last name; an address yields its sub-fields;
    a dependent line (`dependents[0]`) yields name, relationship and date of birth. When the value
    cannot be normalised the list holds `(field, raw stripped)` so staff still see it, and the reason
    says why (never quoting an SSN).
    """
    text = _clean(raw)
    leaf = field.rsplit(".", 1)[-1]
    if not text:
        return [], "empty value"
    fail: list[tuple[str, str]] = [(field, text)]

    if leaf == "ssn":
        ssn = parse_ssn(text) or _only(SSN_IN_TEXT, text, parse_ssn)
        return ([(field, ssn)], None) if ssn else (fail, "not an SSN: expected 9 digits as NNN-NN-NNNN")
    if leaf == "ein":
        ein = parse_ein(text) or _only(_EIN_IN_TEXT, text, parse_ein)
        return ([(field, ein)], None) if ein else (fail, "not an EIN: expected 9 digits as NN-NNNNNNN")
    if leaf in _DATE_FIELDS:
        d = parse_date(text)
        if d is None:  # "04/24/1985 (age 41)"
            found = _only(DEP_DATE, text, lambda t: (x.isoformat() if (x := parse_date(t)) else None), group=1)
            d = date.fromisoformat(found) if found else None
        return ([(field, d.isoformat())], None) if d else (fail, "not a date")
    if field == "assignment.country" or leaf in _COUNTRY_FIELDS or field.endswith("address.country"):
        code = parse_country(text)
        return ([(field, code)], None) if code else (fail, "unknown country")
    if field.endswith("address.state"):
        if field.startswith("assignment."):  # a region abroad is free text
            return [(field, text)], None
        state = parse_state(text)
        return ([(field, state)], None) if state else (fail, "not a U.S. state")
    if field.endswith("address.postal_code"):
        zip_code = parse_zip(text)
        if zip_code:
            return [(field, zip_code)], None
        if field.startswith("assignment.") and re.fullmatch(r"[A-Za-z0-9 \-]{2,12}", text):
            return [(field, text)], None
        return fail, "not a ZIP code"
    if leaf in _BOOL_FIELDS:
        b = parse_bool(text)
        if b is None:
            return fail, "not a yes/no answer"
        return [(field, "true" if b else "false")], None
    if leaf in _EMAIL_FIELDS:
        email = parse_email(text)
        return ([(field, email)], None) if email else (fail, "not an e-mail address")
    if leaf in _PHONE_FIELDS:
        phone = parse_phone(text)
        return ([(field, phone)], None) if phone else (fail, "not a phone number")
    if field == "request_type":
        kind = parse_request_type(text)
        return ([(field, kind)], None) if kind else (fail, "unknown request type")
    if field == "worker.name":
        parts = parse_name(text)
        if "first_name" not in parts or "last_name" not in parts or re.search(r"\d", text) \
                or len(text.split()) > 6:
            return fail, "not a full name"
        if any(only_particles(parts[k]) for k in ("first_name", "last_name")):
            return fail, "not a full name: a part of it is only a particle (\"van der\", its name cut off?)"
        return [(f"worker.{k}", parts[k]) for k in ("first_name", "middle_name", "last_name")
                if k in parts], None
    if field == "assignment.period":
        period = parse_period(text)
        if period is None:
            return fail, "not a period: expected two dates, from and to"
        return [("assignment.start_date", period[0].isoformat()),
                ("assignment.end_date", period[1].isoformat())], None
    if field in ("worker.place_of_birth", "assignment.hire_place"):
        return [(field, fix_place(text))], None
    if field in ("worker.first_name", "worker.middle_name", "worker.last_name"):
        return [(field, name_initial(text))], None
    if field in ("employer.name", "assignment.host_name"):
        return [(field, fix_company(text))], None
    if field in _ADDRESS_FIELDS:
        default = "US" if field != "assignment.work_address" else None
        addr = parse_address(text, default_country=default)
        if "street" not in addr or "city" not in addr:
            return fail, "address not understood"
        out = [(f"{field}.{k}", addr[k]) for k in _ADDRESS_KEYS if k in addr]
        us = field != "assignment.work_address" and addr.get("country") == "US"
        if us and ("state" not in addr or "postal_code" not in addr):
            return out, "U.S. address without state or ZIP code"
        return out, None
    if field == "dependents" or field.startswith("dependents."):  # the label finder's unnumbered form
        return normalize(field.replace("dependents", "dependents[0]", 1), raw)
    m = re.fullmatch(r"(dependents\[\d+\])(?:\.(\w+))?", field)
    if m:
        base, sub = m[1], m[2]
        if sub is None:
            dep = parse_dependent(text)
            pairs = [(f"{base}.{k}", dep[k]) for k in ("name", "date_of_birth", "relationship") if k in dep]
            if "name" not in dep:
                return fail, "dependent not understood"
            return pairs, None
        if sub == "relationship":
            rel = parse_relationship(text)
            return ([(field, rel)], None) if rel else (fail, "unknown relationship")
        return [(field, text)], None
    return [(field, text)], None


def typed_value(path: str, raw: str) -> str:
    """A value a person typed (a clerk on the review page, a requester on the online form) in the
    model's form where the readers understand it ("03/01/2027" -> 2027-03-01, "Germany" -> DE,
    "yes" -> true); otherwise as typed, so that validation names what is wrong with it (an SSN
    starting 9)."""
    leaf = path.rsplit(".", 1)[-1]
    out: object = None
    if leaf == "ssn":
        out = parse_ssn(raw)
    elif leaf == "ein":
        out = parse_ein(raw)
    elif leaf.endswith("date") or leaf.endswith("date_of_birth"):
        parsed = parse_date(raw)
        out = parsed.isoformat() if parsed else None
    elif leaf in ("country", "citizenship", "residence_country"):
        out = parse_country(raw)
    elif leaf in ("hired_in_us", "remains_employee"):
        b = parse_bool(raw)
        out = None if b is None else ("true" if b else "false")
    elif path == "request_type":
        out = parse_request_type(raw)
    elif leaf == "state" and len(raw) > 2:
        out = parse_state(raw)
    return str(out) if out else raw
