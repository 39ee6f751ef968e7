"""The label vocabulary: label variants, sections, column headers and form field names."""

from __future__ import annotations

import pytest

from parsers.labels import CANONICAL_FIELDS, LABELS, header_field, match_label, match_section

VARIANTS = [
    ("SSN", "worker.ssn"), ("Soc. Sec. No.", "worker.ssn"), ("Social Security Number", "worker.ssn"),
    ("Employee's SSN#", "worker.ssn"), ("S.S.N.", "worker.ssn"), ("Social Security #", "worker.ssn"),
    ("Social Security No.", "worker.ssn"), ("SS#", "worker.ssn"),
    ("EIN", "employer.ein"), ("Employer Identification Number", "employer.ein"), ("FEIN", "employer.ein"),
    ("Federal Tax ID", "employer.ein"), ("Federal Tax ID No.", "employer.ein"),
    ("DOB", "worker.date_of_birth"), ("Date of Birth", "worker.date_of_birth"),
    ("Birth date", "worker.date_of_birth"), ("Born", "worker.date_of_birth"),
    ("Start date", "assignment.start_date"), ("Date of departure", "assignment.start_date"),
    ("From", "assignment.start_date"), ("Beginning", "assignment.start_date"),
    ("Period from", "assignment.start_date"),
    ("End date", "assignment.end_date"), ("Return date", "assignment.end_date"), ("To", "assignment.end_date"),
    ("Until", "assignment.end_date"), ("Through", "assignment.end_date"),
    ("Country of assignment", "assignment.country"), ("Host country", "assignment.country"),
    ("Destination", "assignment.country"), ("Country", "assignment.country"),
    ("Employer", "employer.name"), ("Company name", "employer.name"), ("Name of employer", "employer.name"),
    ("Employee name", "worker.name"), ("Worker", "worker.name"), ("Name of employee", "worker.name"),
    ("First name", "worker.first_name"), ("Given name", "worker.first_name"),
    ("Last name", "worker.last_name"), ("Surname", "worker.last_name"), ("Family name", "worker.last_name"),
    ("Middle name/initial", "worker.middle_name"), ("M.I.", "worker.middle_name"),
    ("Request type", "request_type"), ("Place of birth", "worker.place_of_birth"),
    ("Citizenship", "worker.citizenship"), ("Nationality", "worker.citizenship"),
    ("E-mail", "worker.email"), ("Phone", "worker.phone"), ("Tel.", "worker.phone"),
    ("Home address", "worker.address"), ("Foreign ID number", "worker.foreign_id"),
    ("Country of residence", "worker.residence_country"), ("Nature of business", "worker.business"),
    ("Employer address", "employer.address"), ("Contact person", "employer.contact_name"),
    ("Contact phone", "employer.contact_phone"), ("Contact e-mail", "employer.contact_email"),
    ("Date of 3121(l) agreement", "employer.irs_3121l_date"), ("Host company", "assignment.host_name"),
    ("Work address abroad", "assignment.work_address"), ("Place of work", "assignment.work_address"),
    ("Hired in the U.S.", "assignment.hired_in_us"),
    ("Remains employee of U.S. employer", "assignment.remains_employee"),
    ("Date of hire", "assignment.hire_date"), ("Place of hire", "assignment.hire_place"),
    ("Dependent", "dependents"), ("Send confirmation to", "confirmation_email"),
]


@pytest.mark.parametrize(("label", "field"), VARIANTS)
@pytest.mark.parametrize("sep", [": ", ":\t", " ....... ", " # ", "  ", " - "])
def test_every_variant_with_separators(label: str, field: str, sep: str) -> None:
    text = f"{label}{sep}VALUE"
    assert match_label(text) == (field, len(text) - len("VALUE"))


@pytest.mark.parametrize(("label", "field"), VARIANTS)
def test_case_and_punctuation_do_not_matter(label: str, field: str) -> None:
    text = f"{label.upper().replace('.', '')}: x"
    assert match_label(text) is not None and match_label(text)[0] == field  # type: ignore[index]


def test_label_alone_on_its_line() -> None:
    assert match_label("Social Security Number:") == ("worker.ssn", 23)
    assert match_label("Date of birth") == ("worker.date_of_birth", 13)


def test_hints_numbering_and_suffixes_belong_to_the_label() -> None:
    text = "3. Date of birth (MM/DD/YYYY): 4/24/1985"
    assert match_label(text) == ("worker.date_of_birth", text.index("4/24"))
    text = "Social Security No.: 123-45-6789"
    assert match_label(text) == ("worker.ssn", text.index("123"))
    text = "SSN No. 123-45-6789"
    assert match_label(text) == ("worker.ssn", text.index("123"))
    text = "a) Employee's SSN#123-45-6789"
    assert match_label(text) == ("worker.ssn", text.index("123"))


def test_ocr_commas_in_initialisms() -> None:
    assert match_label("Hired in the U,S.: Yes") == ("assignment.hired_in_us", 19)
    assert match_label("SSN; 123-45-6789") == ("worker.ssn", 5)


def test_initials_between_slashes_or_dots_are_one_word() -> None:
    assert match_label("D/O/B: 24/10/1990") == ("worker.date_of_birth", 7)
    assert match_label("D.O.B. 24/10/1990") == ("worker.date_of_birth", 7)
    assert match_label("S.S.N: 123-45-6789") == ("worker.ssn", 7)
    assert match_label("Date (mm/dd/yyyy): 1/2/1990") is None  # words between slashes are no initials


def test_labels_misread_by_ocr_before_a_colon() -> None:
    assert match_label("Citizanship: United States") == ("worker.citizenship", 13)
    assert match_label("Conntry of assignment: Spain") == ("assignment.country", 23)
    assert match_label("Date of hirth: 1/2/1990") is None  # birth or hire: too close to call
    assert match_label("Emplyee name: Jane") is None  # employee or employer
    assert match_label("Citizanship United States") is None  # no colon, no guess
    for text in ("Remarks: none", "Signature: Jane Doe", "Job title: Engineer", "Marital status: single",
                 "Subject: Certificate", "Department: HR"):
        assert match_label(text) is None


def test_common_words_need_a_separator() -> None:
    assert match_label("To whom it may concern") is None
    assert match_label("From our office in Boise we send") is None
    assert match_label("Country music") is None
    assert match_label("Tobias Harlow") is None
    assert match_label("SSN 123-45-6789") == ("worker.ssn", 4)  # an acronym is no common word


def test_words_merely_starting_like_a_label_do_not_match() -> None:
    assert match_label("SSNs must be valid") is None
    assert match_label("Employers: many") is not None  # plural of a label is that label
    assert match_label("Destinations are many") is None


@pytest.mark.parametrize(
    ("section", "label", "field"),
    [
        ("employer", "Name", "employer.name"), ("employer", "Address", "employer.address"),
        ("employer", "City", "employer.address.city"), ("employer", "Phone", "employer.contact_phone"),
        ("employer", "Email", "employer.contact_email"), ("employer", "ZIP code", "employer.address.postal_code"),
        ("worker", "Name", "worker.name"), ("worker", "Address", "worker.address"),
        ("worker", "City", "worker.address.city"), ("worker", "Phone", "worker.phone"),
        ("worker", "E-mail", "worker.email"),
        ("work", "Name", "assignment.host_name"), ("work", "Address", "assignment.work_address"),
        ("work", "City", "assignment.work_address.city"), ("work", "Country", "assignment.country"),
        ("work", "Postal code", "assignment.work_address.postal_code"),
        ("contact", "Name", "employer.contact_name"), ("contact", "Phone", "employer.contact_phone"),
        ("contact", "Email", "employer.contact_email"),
        ("dependents", "Name", "dependents.name"), ("dependents", "Date of birth", "dependents.date_of_birth"),
        ("dependents", "Relationship", "dependents.relationship"),
        (None, "Name", "worker.name"), (None, "Address", "worker.address"),
    ],
)
def test_section_dependent_labels(section: str | None, label: str, field: str) -> None:
    assert match_label(f"{label}: x", section) == (field, len(label) + 2)


def test_specific_labels_win_over_the_section() -> None:
    assert match_label("Employee name: Jane Doe", "employer") == ("worker.name", 15)
    assert match_label("SSN: 123-45-6789", "work") == ("worker.ssn", 5)


@pytest.mark.parametrize(
    ("heading", "section"),
    [
        ("Employer information", "employer"), ("EMPLOYER", "employer"), ("Section B - Employee", "worker"),
        ("Self-employed person", "worker"), ("Work abroad", "work"), ("Part 1: Employee information", "worker"),
        ("2. Employer details:", "employer"), ("Place of work abroad", "work"), ("Contact person", "contact"),
        ("Dependents", "dependents"), ("Accompanying family members", "dependents"),
        ("Information about the assignment", "work"), ("U.S. Employer (information)", "employer"),
    ],
)
def test_sections(heading: str, section: str) -> None:
    assert match_section(heading) == section


@pytest.mark.parametrize("text", ["SSN: 123-45-6789", "Dear Sir or Madam,", "", "Employer name: Acme"])
def test_not_a_section(text: str) -> None:
    assert match_section(text) is None


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Employee SSN", "worker.ssn"), ("SSN", "worker.ssn"), ("ssn", "worker.ssn"), ("worker.ssn", "worker.ssn"),
        ("Worker_SSN", "worker.ssn"), ("Start Date", "assignment.start_date"),
        ("Start Date (MM/DD/YYYY)", "assignment.start_date"), ("Host Country", "assignment.country"),
        ("Employer EIN", "employer.ein"), ("EmployerName", "employer.name"), ("employer_name", "employer.name"),
        ("worker_first_name", "worker.first_name"), ("WorkerFirstName", "worker.first_name"),
        ("First Name", "worker.first_name"), ("Last Name*", "worker.last_name"), ("DOB", "worker.date_of_birth"),
        ("Employer Phone", "employer.contact_phone"), ("Host City", "assignment.work_address.city"),
        ("Work Address", "assignment.work_address"), ("Contact Email", "employer.contact_email"),
        ("topmostSubform[0].Page1[0].SSN[0]", "worker.ssn"), ("Dependent 1 DOB", "dependents[0].date_of_birth"),
        ("Dependent 2 Name", "dependents[1].name"), ("Spouse Relationship", "dependents[0].relationship"),
        ("assignment.work_address.postal_code", "assignment.work_address.postal_code"),
        ("Hired in US", "assignment.hired_in_us"), ("End", "assignment.end_date"),
        ("Employee Last Name", "worker.last_name"), ("Work Country", "assignment.work_address.country"),
        ("Work Street", "assignment.work_address.street"), ("Employer ZIP", "employer.address.postal_code"),
        ("Assignment Start", "assignment.start_date"), ("Remains Employee", "assignment.remains_employee"),
        ("Confirmation Email", "confirmation_email"), ("Middle", "worker.middle_name"),
        ("dependents.0.name", "dependents[0].name"), ("dependents_1_relationship", "dependents[1].relationship"),
        ("Dependent name (2)", "dependents[1].name"), ("Date of birth (1)", "dependents[0].date_of_birth"),
        ("Request type: employee / self-employed", "request_type"),
        ("Send the confirmation of approval to", "confirmation_email"),
    ],
)
def test_header_field(header: str, field: str) -> None:
    assert header_field(header) == field


@pytest.mark.parametrize("header", ["Notes", "Employee SSN verified by", "", "Row", "Comments"])
def test_header_field_unknown(header: str) -> None:
    assert header_field(header) is None


def test_every_canonical_field_has_labels() -> None:
    parts = (".street", ".city", ".state", ".postal_code", ".country")
    missing = {f for f in CANONICAL_FIELDS if not f.endswith(parts) and f not in LABELS}
    assert missing == set()
