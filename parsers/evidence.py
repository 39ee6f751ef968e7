"""The value's own type is evidence about its label.

A date can only be a date field's value; a company with a foreign legal form (GmbH, S.p.A., K.K.,
B.V., Ltd, Sp. z o.o.) is the host abroad, not the U.S. employer, and one with Inc. or LLC is the
U.S. employer, not the host. When label and value disagree the value is flagged (and, for a label
read only from its words, moved to the field its type says), never placed silently.
"""

from __future__ import annotations

import re

from parsers.values import parse_date

_FOREIGN_FORM = re.compile(
    r"\b(?:GmbH|AG|S\.?p\.?A\.?|S\.?r\.?l\.?|K\.?K\.?|B\.?V\.?|N\.?V\.?|Ltd\.?|Limited|plc|S\.?A\.?S\.?|SARL|"
    r"S\.?L\.?|S\.?A\.?|Sp\. z o\.o\.|Pty|Ltda|AB|A/S|Oy|Oyj|KG|GmbH & Co\. KG|Kft\.?|Zrt\.?|Nyrt\.?|ApS|AS|ASA|"
    r"s\.r\.o\.|a\.s\.|d\.o\.o\.|S\.?p\.?A|SE|Pte\.? Ltd\.?|Pvt\.? Ltd\.?|Co\., Ltd\.?|S\.?A\.? de C\.?V\.?)\s*$", re.I)
_US_FORM = re.compile(r"\b(?:Inc\.?|Incorporated|LLC|L\.L\.C\.|Corp\.?|Corporation|LLP|PLLC|Co\.|Company)\s*$", re.I)
_DATE_LEAVES = {"date_of_birth", "start_date", "end_date", "hire_date", "irs_3121l_date"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
# "Contact's mailbox: jane@acme.com" read as the contact's name: the address is the same party's e-mail
_EMAIL_OF = {"employer.contact_name": "employer.contact_email", "worker.name": "worker.email",
             "worker.first_name": "worker.email", "worker.last_name": "worker.email"}
_DATE_ONLY = re.compile(r"^[\d\s./,-]+$|^\w+\.? \d{1,2}(?:st|nd|rd|th)?,? \d{4}$|^\d{1,2} \w+\.? \d{4}$")


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
