"""The value's own type is evidence about its label.

A date can only be a date field's value; a company with a foreign legal form (GmbH, S.p.A., K.K.,
B.V., Ltd, Sp. z o.o.) is the host abroad, not the U.S. employer, and one with Inc. or LLC is the
U.S. employer, not the host. When label and value disagree the value is flagged (and, for a label
read only from its words, moved to the field its type says), never placed silently.
"""

from __future__ import annotations

import itertools
import re

from parsers.values import parse_date

_FOREIGN_FORM = re.compile(
    r"\b(?:GmbH|AG|S\.?p\.?A\.?|S\.?r\.?l\.?|K\.?K\.?|B\.?V\.?|N\.?V\.?|Ltd\.?|Limited|plc|S\.?A\.?S\.?|SARL|"
    r"S\.?L\.?|S\.?A\.?|Sp\. z o\.o\.|Pty|Ltda|AB|A/S|Oy|KG|GmbH & Co\. KG|"
    r"a\.\s?s\.|s\.\s?r\.\s?o\.|ASA|AS|Oyj|Kft\.?|Zrt\.?|Nyrt\.?|DAC|ApS|SE|S\.?C\.?A\.?|Pte\.? Ltd\.?|"
    r"Sdn\.? Bhd\.?|Co\., Ltd\.?|S\.A\. de C\.V\.|SRL|d\.o\.o\.|Pvt\.? Ltd\.?|S\.?p\.?A|OÜ|UAB|SIA|Lda\.?)\s*$", re.I)
_US_FORM = re.compile(r"\b(?:Inc\.?|Incorporated|LLC|L\.L\.C\.|Corp\.?|Corporation|LLP|PLLC|Co\.|Company)\s*$", re.I)
_DATE_LEAVES = {"date_of_birth", "start_date", "end_date", "hire_date", "irs_3121l_date"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
# "Contact's mailbox: jane@acme.com" read as the contact's name: the address is the same party's e-mail
_EMAIL_OF = {"employer.contact_name": "employer.contact_email", "worker.name": "worker.email",
             "worker.first_name": "worker.email", "worker.last_name": "worker.email"}
_DATE_ONLY = re.compile(r"^[\d\s./,-]+$|^\w+\.? \d{1,2}(?:st|nd|rd|th)?,? \d{4}$|^\d{1,2}[ -]\w+\.?[ -]\d{4}$")


def disagreement(field: str, value: str, *, by_words: bool) -> tuple[str, str | None]:
    """(the field the value belongs to, why label and value disagree) for a value read for `field`."""
    leaf = field.rsplit(".", 1)[-1]
    text = value.strip()
    if field == "employer.name" and _FOREIGN_FORM.search(text) and not _US_FORM.search(text):
        why = "a company with a foreign legal form, read as the U.S. employer"
        return ("assignment.host_name" if by_words else field), why
    if field == "assignment.host_name" and _US_FORM.search(text):
        why = "a U.S. company (Inc., LLC), read as the company abroad"
        return ("employer.name" if by_words else field), why
    if _EMAIL.match(text) and field in _EMAIL_OF:
        return (_EMAIL_OF[field] if by_words else field), "an e-mail address, read for a name"
    if leaf not in _DATE_LEAVES and "dependents" not in field and _DATE_ONLY.match(text) and \
            parse_date(text) is not None and leaf not in ("ssn", "ein", "phone", "contact_phone", "postal_code",
                                                           "foreign_id", "period"):
        return field, "a date, read for a field that holds no date"
    return field, None


_ADDRESS_OF = {"assignment.host_name": "assignment.work_address", "employer.name": "employer.address"}
_COMPANY_OF = {v: k for k, v in _ADDRESS_OF.items()}
_PERSON = {"worker.name", "worker.first_name", "worker.last_name", "worker.middle_name", "employer.contact_name"}


def retarget(field: str, raw: str) -> tuple[str, str] | None:
    """(the field, why) when a company's field holds an address or an address field a company.

    "Work site abroad: Storgatan 5, 114 51 Stockholm, Sweden" read as the host's name is the place
    of work; "Place of work abroad (company): Nordlicht GmbH" read as an address is the host. The
    value goes where its type says, always flagged: label and value disagree.
    """
    from parsers.prose_contact import _US_ADDRESS, _address_abroad  # noqa: PLC0415 - no cycle at import

    text = raw.strip().rstrip(".")
    if field in _ADDRESS_OF and re.search(r"\d", text) and "," in text:
        abroad = _address_abroad(text, 0)
        if _US_ADDRESS.fullmatch(text) or (abroad is not None and abroad[1] >= len(text)):
            return _ADDRESS_OF[field], "an address, read for a company's name"
    company = not re.search(r"\d", text) and (_FOREIGN_FORM.search(text) or _US_FORM.search(text))
    if field in _COMPANY_OF and company:
        return _COMPANY_OF[field], "a company's name, read for an address"
    if field in _PERSON and company and len(text.split()) >= 2:
        # "Company employee will join: Nordlicht Software GmbH" read as the worker's name
        host = bool(_FOREIGN_FORM.search(text)) and not _US_FORM.search(text)
        return ("assignment.host_name" if host else "employer.name"), "a company's name, read for a person's"
    return None


# ------------------------------------------------------------------------------ the dates of a request

DATE_FIELDS = ("worker.date_of_birth", "assignment.hire_date", "assignment.start_date", "assignment.end_date")
# born < hired <= posted < back: (earlier, later, strictly) pairs every real request keeps
DATE_ORDER = ((0, 1, True), (0, 2, True), (1, 2, False), (2, 3, True), (0, 3, True))
NO_DATE_FIELD = "a date, read for a field that holds no date"


def _keeps_order(dates: dict[str, str]) -> bool:
    for a, b, strict in DATE_ORDER:
        x, y = dates.get(DATE_FIELDS[a]), dates.get(DATE_FIELDS[b])
        if x is not None and y is not None and (x > y or (strict and x == y)):
            return False
    return True


def settle_dates(cands: list[tuple[str, str, float, str | None]],
                 ranked: list[list[str]]) -> list[tuple[str, str | None]]:
    """(field, doubt) for each of a request's date readings (field, ISO value, label score, doubt);
    `ranked` lists, per reading, the date fields its label's words point to, best first.

    The value's type and the dates' order are evidence the words may lack: the later of two
    assignment dates is the end (two "start" readings, or a start after its end); a date read for
    a field that holds none ("First day abroad" taken for a first name) goes to the one free date
    field its place among the others allows. Whatever moves is flagged.
    """
    out = [(f, d) for f, _v, _s, d in cands]
    start, end = DATE_FIELDS[2], DATE_FIELDS[3]
    period = [k for k, (f, _v, _s, _d) in enumerate(cands) if f in (start, end)]
    loose = [k for k, (f, _v, _s, d) in enumerate(cands) if f not in DATE_FIELDS and d == NO_DATE_FIELD]
    before = [v for f, v, _s, _d in cands if f in DATE_FIELDS[:2]]
    if len(period) == 1 and len(loose) == 1 and all(v < cands[loose[0]][1] for v in before):
        period.append(loose[0])  # one assignment date and a date for no field: the two ends of the period
    if len(period) == 2 and cands[period[0]][1] != cands[period[1]][1]:
        early, late = sorted(period, key=lambda k: cands[k][1])
        why = "the later of the two assignment dates is taken as the end"
        if (out[early][0], out[late][0]) != (start, end):
            out[early] = (start, why if out[early][0] != start or out[early][1] == NO_DATE_FIELD else out[early][1])
            out[late] = (end, why if out[late][0] != end or out[late][1] == NO_DATE_FIELD else out[late][1])
    placed = {out[k][0]: cands[k][1] for k in range(len(cands)) if out[k][0] in DATE_FIELDS}
    loose = [k for k in range(len(cands)) if out[k][0] not in DATE_FIELDS and out[k][1] == NO_DATE_FIELD]
    free = [g for g in DATE_FIELDS if g not in placed]
    if not loose or not free or len(loose) > len(free):
        return out
    best: list[tuple[int, tuple[str, ...]]] = []
    for perm in itertools.permutations(free, len(loose)):
        if not _keeps_order({**placed, **{g: cands[k][1] for k, g in zip(loose, perm, strict=True)}}):
            continue
        liked = sum(len(DATE_FIELDS) - ranked[k].index(g) for k, g in zip(loose, perm, strict=True) if g in ranked[k])
        best.append((liked, perm))
    best.sort(key=lambda b: -b[0])
    if not best or (len(best) > 1 and best[0][0] == best[1][0]):
        return out  # no reading keeps the order, or two do equally well: left as read, flagged
    for k, g in zip(loose, best[0][1], strict=True):
        out[k] = (g, f"read as {g.rsplit('.', 1)[-1].replace('_', ' ')} from the date and "
                     "its place among the request's other dates")
    return out
