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
    r"S\.?L\.?|S\.?A\.?|Sp\. z o\.o\.|Pty|Ltda|AB|A/S|Oy|KG|GmbH & Co\. KG|"
    r"a\.\s?s\.|s\.\s?r\.\s?o\.|ASA|AS|Oyj|Kft\.?|Zrt\.?|Nyrt\.?|DAC|ApS|SE|S\.?C\.?A\.?|Pte\.? Ltd\.?|"
    r"Sdn\.? Bhd\.?|Co\., Ltd\.?|S\.A\. de C\.V\.|SRL|d\.o\.o\.|OÜ|UAB|SIA|Lda\.?)\s*$", re.I)
_US_FORM = re.compile(r"\b(?:Inc\.?|Incorporated|LLC|L\.L\.C\.|Corp\.?|Corporation|LLP|PLLC)\s*$", re.I)
_DATE_LEAVES = {"date_of_birth", "start_date", "end_date", "hire_date", "irs_3121l_date"}
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
    if leaf not in _DATE_LEAVES and "dependents" not in field and _DATE_ONLY.match(text) and \
            parse_date(text) is not None and leaf not in ("ssn", "ein", "phone", "contact_phone", "postal_code",
                                                           "foreign_id", "period"):
        return field, "a date, read for a field that holds no date"
    return field, None
