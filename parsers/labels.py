"""The label vocabulary: every way people write a field's label, mapped to the canonical field path.

Employers write "Soc. Sec. No.", "Employee's SSN#", "S.S.N." or "Social Security Number" for the
same thing; forms, letters, spreadsheets and faxes all go through this one table, so adding a
variant here teaches every parser at once. The vocabulary is data: `LABELS` (labels that mean the
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

# --------------------------------------------------------------------------------------------------
# the vocabulary

LABELS: dict[str, list[str]] = {
    "request_type": [
        "Request type", "Type of request", "Requester type", "Type of requester", "Applicant type",
        "Type of applicant", "Employment status", "Employment type", "Type of employment",
        "Request for", "Certificate for", "Certificate type", "Type of certificate",
        "Worker type", "Coverage type", "Type of coverage",
    ],
    "worker.name": [
        "Employee name", "Name of employee", "Name of the employee", "Employee's full name",
        "Employee full name", "Worker name", "Name of worker", "Name of the worker", "Worker",
        "Employee", "Name", "Full name", "Name in full", "Applicant name", "Name of applicant", "Applicant",
        "Self-employed person", "Name of self-employed person", "Self-employed name",
        "Name of person", "Person", "Name (first, middle, last)", "Transferee", "Transferee name",
        "Employee/worker name", "Name of employee/worker", "Name of transferred employee",
        "Assignee", "Assignee name", "Name of assignee", "Insured person", "Name of insured person",
    ],
    "worker.first_name": [
        "First name", "Given name", "Given names", "Forename", "Forenames", "First", "First given name",
        "Christian name", "Vorname", "Prenom",
    ],
    "worker.middle_name": [
        "Middle name", "Middle initial", "Middle name/initial", "Middle name or initial",
        "Middle names", "Middle", "MI", "M.I.", "Middle init", "Second name",
    ],
    "worker.last_name": [
        "Last name", "Surname", "Family name", "Last", "Nachname", "Nom", "Nom de famille",
        "Last name (surname)",
    ],
    "worker.ssn": [
        "SSN", "S.S.N.", "Soc. Sec. No.", "Soc Sec No", "Soc. Sec. #", "Soc. Sec. Number",
        "Social Security Number", "Social Security No.", "Social Security #", "Social Sec. No.",
        "Social Security", "Social security account number", "U.S. Social Security Number",
        "US SSN", "SS#", "SS No.", "SS number", "Social Security Card Number", "SocSec",
        "Employee's SSN", "Employee SSN", "Worker SSN", "Worker's SSN", "SSN/ITIN",
    ],
    "worker.date_of_birth": [
        "DOB", "D.O.B.", "Date of birth", "Birth date", "Birthdate", "Born", "Born on", "Birthday",
        "Date born", "Employee's date of birth", "Geburtsdatum", "Date de naissance",
    ],
    "worker.place_of_birth": [
        "Place of birth", "Birthplace", "Birth place", "POB", "City of birth", "Born in",
        "Place and country of birth", "City and country of birth", "City and state of birth",
        "Country of birth", "Geburtsort", "Lieu de naissance",
    ],
    "worker.citizenship": [
        "Citizenship", "Nationality", "Country of citizenship", "Citizen of", "Citizenship country",
        "Country of nationality", "Citizen", "Staatsangehorigkeit", "Nationalite",
    ],
    "worker.email": ["Email", "E-mail", "Email address", "E-mail address", "Mail", "Applicant email"],
    "worker.phone": [
        "Phone", "Telephone", "Tel", "Tel.", "Phone number", "Telephone number", "Phone no.",
        "Daytime phone", "Daytime telephone", "Mobile", "Mobile phone", "Cell", "Cell phone",
        "Applicant phone",
    ],
    "worker.address": [
        "Home address", "Address", "Residence address", "Residential address", "Mailing address",
        "U.S. address", "US home address", "U.S. home address", "Permanent address",
        "Street address", "Address in the U.S.", "U.S. business address", "Business address",
        "Home/business address", "Address of residence", "Private address",
    ],
    "worker.address.street": ["Street", "Street and number", "Street and house number", "Address line 1"],
    "worker.address.city": ["City", "Town", "City/town", "Home city"],
    "worker.address.state": ["State", "Home state"],
    "worker.address.postal_code": ["ZIP", "ZIP code", "Zip+4", "Postal code", "Postcode"],
    "worker.foreign_id": [
        "Foreign ID", "Foreign ID number", "Foreign identification number", "Foreign SSN",
        "Foreign social security number", "Foreign insurance number", "Foreign tax ID",
        "ID number in host country", "ID number in the other country", "Local ID number",
        "Host country ID", "Host country ID number", "Social insurance number abroad",
        "Insurance number abroad", "Social security number in the other country", "CPR number",
        "CPR No.", "CPR", "Birth number", "Czech birth number", "Rodne cislo", "Personal identity number",
        "Personnummer", "PESEL", "Codice fiscale", "National insurance number", "NI number",
        "Sozialversicherungsnummer", "Rentenversicherungsnummer", "Number in the other country",
        "Foreign personal number",
    ],
    "worker.residence_country": [
        "Country of residence", "Residence country", "Country of permanent residence",
        "Permanent residence", "Resident of", "Country of domicile", "Residence",
    ],
    "worker.business": [
        "Nature of business", "Nature of the business", "Type of business", "Kind of business",
        "Trade or business", "Nature of trade or business", "Nature of the trade or business",
        "Business activity", "Line of business", "Self-employment activity", "Business",
        "Description of business", "Type of self-employment", "Nature of self-employment",
    ],
    "employer.name": [
        "Employer", "Employer name", "Name of employer", "Name of the employer", "Employer's name",
        "Company name", "Company", "U.S. employer", "Name of U.S. employer", "U.S. company",
        "Legal name of employer", "Employer legal name", "Employing company", "Firm", "Firm name",
        "Organization", "Organization name", "Employer (U.S.)", "US employer name",
        "Name of the U.S. employer", "Corporation",
    ],
    "employer.ein": [
        "EIN", "E.I.N.", "Employer Identification Number", "Employer ID number", "Employer ID",
        "FEIN", "F.E.I.N.", "Federal EIN", "Federal Tax ID", "Federal Tax ID number",
        "Federal tax identification number", "Federal Employer Identification Number",
        "Federal ID", "Federal ID number", "Tax ID", "Tax ID number", "TIN", "IRS EIN",
        "IRS employer identification number", "Employer tax ID", "Employer EIN", "Company EIN",
        "Employer's EIN",
    ],
    "employer.address": [
        "Employer address", "Employer's address", "Address of employer", "Address of the employer",
        "Company address", "Employer mailing address", "Address of U.S. employer",
        "Employer street address", "U.S. employer address", "Business address of employer",
        "Corporate address", "Headquarters", "Headquarters address",
    ],
    "employer.contact_name": [
        "Contact person", "Contact name", "Contact", "Employer contact", "Name of contact person",
        "Contact person name", "Person to contact", "Contact at employer", "HR contact", "HR person",
        "Company contact", "Prepared by", "Submitted by", "Requested by", "Authorized representative",
        "Responsible person", "Employer representative", "Contact person at employer",
    ],
    "employer.contact_phone": [
        "Contact phone", "Contact telephone", "Contact phone number", "Contact tel",
        "Contact person phone", "Phone of contact person", "Employer phone", "Employer telephone",
        "Company phone", "Company telephone", "HR phone", "Employer phone number",
    ],
    "employer.contact_email": [
        "Contact email", "Contact e-mail", "Contact email address", "Contact person email",
        "Email of contact person", "Employer email", "Employer e-mail", "Company email", "HR email",
        "Employer email address",
    ],
    "employer.irs_3121l_date": [
        "3121(l) agreement date", "3121(l) date", "Date of 3121(l) agreement",
        "Section 3121(l) agreement", "Section 3121(l) agreement date", "IRS 3121(l) date",
        "Effective date of 3121(l) agreement", "Effective date of section 3121(l) agreement",
        "Date of section 3121(l) agreement", "3121(l) agreement effective date", "3121(l) agreement",
        "3121l date", "Form 2032 date", "Form 2032 effective date", "IRS agreement date",
    ],
    "assignment.country": [
        "Country of assignment", "Host country", "Destination", "Destination country",
        "Country of destination", "Country", "Country of employment", "Assignment country",
        "Country of work", "Country of work abroad", "Country where work is performed",
        "Country where the work is performed", "Foreign country", "Other country",
        "Agreement country", "Country abroad", "Going to", "Transferred to",
        "Country of transfer", "Country of posting", "Posting country", "Host nation",
    ],
    "assignment.start_date": [
        "Start date", "Date of departure", "Departure date", "From", "From date", "Beginning",
        "Beginning date", "Begin date", "Begins", "Period from", "Period of assignment from",
        "Assignment start", "Assignment start date", "Start of assignment", "Date of transfer",
        "Transfer date", "Commencement date", "Starting date", "Start", "Coverage from",
        "Date work begins", "Date assignment begins", "Expected start date", "Anticipated start date",
        "Planned start date", "Date of arrival", "Arrival date", "Assignment begins", "Effective date",
        "Start of work abroad", "Assignment period from", "Period of employment from",
    ],
    "assignment.end_date": [
        "End date", "Return date", "Date of return", "To", "To date", "Until", "Through", "Thru",
        "Period to", "Period of assignment to", "Assignment end", "Assignment end date",
        "End of assignment", "Expected end date", "Anticipated end date", "Planned end date",
        "Expected return date", "Expected date of return", "Ending date", "End", "Ends", "Coverage to",
        "Date work ends", "Date assignment ends", "Completion date", "Assignment ends",
        "Assignment period to", "Period of employment to", "End of work abroad",
    ],
    "assignment.period": [  # both dates in one value; `values.normalize` splits it
        "Period of assignment", "Assignment period", "Period", "Period of coverage", "Coverage period",
        "Dates of assignment", "Assignment dates", "Duration of assignment", "Duration", "Period of stay",
        "Period of employment abroad", "Period of work abroad", "Dates", "Time period",
        "Period of the assignment", "Expected period of assignment",
    ],
    "assignment.host_name": [
        "Host company", "Host company name", "Name of host company", "Host employer", "Host",
        "Host entity", "Host organization", "Foreign company", "Name of foreign company",
        "Foreign employer", "Foreign affiliate", "Affiliate", "Name of affiliate", "Client",
        "Client abroad", "Company abroad", "Employer abroad", "Foreign subsidiary", "Subsidiary",
        "Receiving company", "Receiving entity", "Company in host country", "Foreign client",
        "Name of company abroad", "Name of the foreign company", "Host company/client",
    ],
    "assignment.work_address": [
        "Work address abroad", "Work address", "Address abroad", "Place of work", "Place of work abroad",
        "Worksite", "Work site", "Worksite address", "Work site address", "Work location",
        "Location", "Location of work", "Address of work", "Address of place of work",
        "Address where work is performed", "Address where the work is performed", "Foreign address",
        "Foreign work address", "Host company address", "Host address", "Address in host country",
        "Address of host company", "Address of foreign company", "Address of employment abroad",
        "Address of work abroad", "Work place", "Workplace", "Workplace address",
    ],
    "assignment.work_address.country": [
        "Work country", "Work address country", "Worksite country", "Work site country",
        "Country of work address", "Country of worksite", "Work location country",
    ],
    "assignment.work_address.street": ["Street abroad", "Work street", "Work street address"],
    "assignment.work_address.city": ["City abroad", "Work city", "Worksite city"],
    "assignment.work_address.postal_code": ["Postal code abroad", "Work postal code"],
    "assignment.hired_in_us": [
        "Hired in the U.S.", "Hired in US", "Hired in the United States", "Hired in U.S.",
        "Was the employee hired in the U.S.", "Employee hired in the U.S.",
        "Hired in the U.S. or working for the employer in the U.S. before the transfer",
        "Hired or working in the U.S. before the transfer", "Working in the U.S. before the transfer",
        "Employed in the U.S. before transfer", "Employed in the U.S. before the transfer",
        "Worked for employer in the U.S. before transfer", "U.S. hire",
    ],
    "assignment.remains_employee": [
        "Remains employee of U.S. employer", "Remains employee", "Remains an employee",
        "Remains an employee of the U.S. employer", "Remains on U.S. payroll", "Remains on payroll",
        "Will remain employee", "Will remain an employee", "Will remain an employee of the U.S. employer",
        "Stays employee", "Continues as employee", "Remains employed by U.S. employer",
        "Remain employee of U.S. employer during assignment", "Remains employed",
        "Employee remains employee of U.S. employer", "Employment relationship continues",
    ],
    "assignment.hire_date": [
        "Date of hire", "Hire date", "Hired on", "Date hired", "Employment start date",
        "Employed since", "Start of employment", "Date employed", "Date of employment",
        "Original hire date",
    ],
    "assignment.hire_place": [
        "Place of hire", "Hire place", "Where hired", "Hired at", "Location of hire", "City of hire",
        "Hired in", "Place hired",
    ],
    "dependents": [
        "Dependent", "Dependents", "Family member", "Family members", "Accompanying family member",
        "Accompanying family members", "Accompanying dependent", "Accompanying dependents",
        "Accompanied by", "Spouse", "Child", "Children", "Wife", "Husband", "Son", "Daughter",
    ],
    "confirmation_email": [
        "Send confirmation to", "Confirmation email", "Confirmation e-mail", "Send confirmation",
        "Confirmation to", "Email for confirmation", "Email confirmation to", "Confirm to",
        "Send approval confirmation to", "Confirmation of approval to", "Notify", "Notification email",
        "Email confirmation", "Please confirm to", "Send the confirmation to",
        "Send the confirmation of approval to", "Send confirmation of approval to",
        "Email for the confirmation of approval",
    ],
}

# Bare labels whose field depends on the heading above them.
_ADDRESS_PARTS: dict[str, list[str]] = {
    "street": ["Street", "Street address", "Street and number", "Address line 1", "Address 1"],
    "city": ["City", "Town", "City/town", "Municipality"],
    "state": ["State", "State/province", "Province", "Region", "County"],
    "postal_code": ["ZIP", "ZIP code", "Zip+4", "Postal code", "Postcode", "Post code", "PLZ"],
}
SECTION_LABELS: dict[str, dict[str, list[str]]] = {
    "worker": {
        "worker.name": ["Name", "Full name"],
        "worker.address": ["Address", "Home address", "Business address", "Mailing address"],
        "worker.address.country": ["Country"],
        "worker.phone": ["Phone", "Telephone", "Tel", "Phone number", "Mobile", "Cell"],
        "worker.email": ["Email", "E-mail", "Email address"],
        "worker.business": ["Business", "Nature of business", "Trade"],
        **{f"worker.address.{k}": v for k, v in _ADDRESS_PARTS.items()},
    },
    "employer": {
        "employer.name": ["Name", "Legal name", "Company", "Company name", "Business name"],
        "employer.address": ["Address", "Business address", "Mailing address", "Street address"],
        "employer.address.country": ["Country"],
        "employer.contact_phone": ["Phone", "Telephone", "Tel", "Phone number"],
        "employer.contact_email": ["Email", "E-mail", "Email address"],
        "employer.contact_name": ["Contact", "Contact person", "Contact name"],
        **{f"employer.address.{k}": v for k, v in _ADDRESS_PARTS.items()},
    },
    "contact": {
        "employer.contact_name": ["Name", "Contact", "Contact person", "Person"],
        "employer.contact_phone": ["Phone", "Telephone", "Tel", "Phone number", "Mobile"],
        "employer.contact_email": ["Email", "E-mail", "Email address"],
    },
    "work": {
        "assignment.period": [  # both dates in one value; `values.normalize` splits it
        "Period of assignment", "Assignment period", "Period", "Period of coverage", "Coverage period",
        "Dates of assignment", "Assignment dates", "Duration of assignment", "Duration", "Period of stay",
        "Period of employment abroad", "Period of work abroad", "Dates", "Time period",
        "Period of the assignment", "Expected period of assignment",
    ],
    "assignment.host_name": ["Name", "Company", "Company name", "Employer", "Client", "Host"],
        "assignment.work_address": ["Address", "Street address", "Location"],
        "assignment.country": ["Country"],
        **{f"assignment.work_address.{k}": v for k, v in _ADDRESS_PARTS.items()},
    },
    "dependents": {
        "dependents.name": ["Name", "Full name", "Name of dependent"],
        "dependents.date_of_birth": ["Date of birth", "DOB", "D.O.B.", "Born", "Birth date", "Birthdate"],
        "dependents.relationship": ["Relationship", "Relation", "Relationship to employee",
                                    "Relationship to worker", "Relationship to applicant"],
    },
}

# Headings that open a section.
SECTIONS: dict[str, list[str]] = {
    "worker": [
        "Employee", "Worker", "Employee information", "Worker information", "Employee details",
        "Worker details", "Employee data", "Personal information", "Personal data",
        "Personal details", "Information about the employee", "About the employee", "Applicant",
        "Applicant information", "Self-employed person", "Self-employed", "Self-employed individual",
        "Information about the self-employed person", "Employee/worker", "Worker/employee",
        "Employee/self-employed person", "The employee", "The worker", "Transferee", "Assignee",
        "Person to be covered", "Insured person", "Worker/Employee information",
        "Employee or self-employed person",
    ],
    "employer": [
        "Employer", "Employer information", "U.S. employer", "Employer details", "Employer data",
        "Company information", "Company details", "Company", "Information about the employer",
        "About the employer", "The employer", "U.S. employer information", "Employer (U.S.)",
        "Employing company",
    ],
    "contact": [
        "Contact person", "Contact", "Employer contact", "Contact information", "Contact details",
        "Person to contact", "HR contact", "Contact at employer", "Company contact",
    ],
    "work": [
        "Work abroad", "Work address abroad", "Place of work", "Place of work abroad", "Assignment",
        "Assignment information", "Assignment details", "Details of assignment", "Foreign assignment",
        "Assignment abroad", "Employment abroad", "Host company", "Host employer", "Host company abroad",
        "Work in the other country", "Foreign employer", "Transfer", "Transfer details",
        "Period of assignment", "Work site abroad", "Worksite abroad", "Foreign affiliate",
        "Client abroad", "Work location", "Posting", "Posting details", "Employment in the other country",
        "Information about the assignment", "About the assignment", "Secondment",
    ],
    "dependents": [
        "Dependents", "Family members", "Accompanying family members", "Family members accompanying",
        "Accompanying dependents", "Spouse and children", "Family", "Dependents accompanying",
        "Accompanying family", "Family members who go along",
    ],
}

# Words that prefix a section's bare labels in a column header or form field name ("Employer
# Phone", "Host City"), so `header_field` can read them without a heading above.
_SECTION_PREFIXES: dict[str, list[str]] = {
    "worker": ["Employee", "Worker", "Applicant", "Employee's", "Home"],
    "employer": ["Employer", "Company", "Employer's", "U.S. employer"],
    "contact": ["Contact", "Employer contact", "Contact person"],
    "work": ["Host", "Host company", "Work", "Worksite", "Work site", "Assignment", "Foreign"],
}

_FIELD_SECTION = {"worker": "worker", "employer": "employer", "assignment": "work"}

# Fields for which a following "No." / "#" / "Number" is part of the label ("SSN No.", "Tel. #").
_NUMBER_SUFFIX_LEAVES = {"ssn", "ein", "foreign_id", "phone", "contact_phone", "name"}

# Every canonical field path (for header_field's exact matches).
CANONICAL_FIELDS: tuple[str, ...] = (
    "request_type", "worker.first_name", "worker.middle_name", "worker.last_name", "worker.ssn",
    "worker.date_of_birth", "worker.place_of_birth", "worker.citizenship", "worker.email",
    "worker.phone", "worker.address", "worker.foreign_id", "worker.residence_country",
    "worker.business", "employer.name", "employer.ein", "employer.address", "employer.contact_name",
    "employer.contact_phone", "employer.contact_email", "employer.irs_3121l_date",
    "assignment.country", "assignment.start_date", "assignment.end_date", "assignment.host_name",
    "assignment.work_address", "assignment.hired_in_us", "assignment.remains_employee",
    "assignment.hire_date", "assignment.hire_place", "confirmation_email", "worker.name",
    *(f"{base}.{k}" for base in ("worker.address", "employer.address", "assignment.work_address")
      for k in ("street", "city", "state", "postal_code", "country")),
)

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
    return "".join(x for x in unicodedata.normalize("NFKD", c) if not unicodedata.combining(x)).lower()


def _tokens(text: str) -> list[_Tok]:
    """Words of `text`, folded and canonical, each with its [start, end) in the original text.

    Dots inside initialisms vanish ("U.S." is `us`, "S.S.N." is `ssn`), a possessive "'s" vanishes
    ("Employee's" is `employee`), "#" is the word `number`, runs of dots are separators.
    """
    out: list[_Tok] = []
    buf: list[str] = []
    start = -1
    last_end = -1
    n = len(text)

    def flush() -> None:
        nonlocal buf, start
        if buf:
            out.append(_Tok("".join(buf), start, last_end))
        buf, start = [], -1

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
        elif c in ".," and buf and len(buf) == 1 and i + 1 < n and text[i + 1].isalpha() and (
            i + 2 >= n or not text[i + 2].isalnum()
        ):
            pass  # "U.S": the dot between two initials (OCR reads some of them as commas)
        elif c == "." and buf and out and len(buf) == 1 and i > 1 and text[i - 2] == ".":
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
def _table(section: str | None) -> dict[str, list[_Entry]]:
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
        or (sep.startswith(".") and sep.strip(" ") == ".") or ". ." in sep  # spaced dot leaders ". . . ."
    )
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


def header_field(text: str) -> str | None:
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
