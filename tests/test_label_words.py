"""Whole labels: segmented at their separator and classified from their words (parsers.label_words).

The phrasings here are our own or from the *may teach* column of phrasings.md, never the tests-only
column: the vocabulary must not learn those, and these tests must not either.
"""

from __future__ import annotations

import pytest

from parsers.fields import find_fields
from parsers.label_words import OFFER, PLACE, classify, segment
from parsers.layout import lines_from_text


def _fields(text: str) -> dict[str, tuple[str, str | None]]:
    return {c.field: (c.value, c.uncertain) for c in find_fields(lines_from_text(text), part="body", method="text")}


@pytest.mark.parametrize(("line", "want"), [
    # a known label at the start of a longer one must not win and leave the rest as the value
    ("Full name of employee: Jane Doe", {"worker.first_name": "Jane", "worker.last_name": "Doe"}),
    ("Name of the person to be covered .......... Jane Doe", {"worker.first_name": "Jane", "worker.last_name": "Doe"}),
    ("Name of employer's contact person: Nora Doe", {"employer.contact_name": "Nora Doe"}),
    ("Telephone number of contact person\t(208) 555-0100", {"employer.contact_phone": "(208) 555-0100"}),
    ("Start date of the assignment abroad: 03/07/2027", {"assignment.start_date": "2027-03-07"}),
    ("Date of birth of the employee ____ 04/24/1985", {"worker.date_of_birth": "1985-04-24"}),
    ("Hired in the U.S.? Yes", {"assignment.hired_in_us": "true"}),
    ("Name of the transferee:   Jane Doe", {"worker.first_name": "Jane", "worker.last_name": "Doe"}),
])
def test_the_label_is_everything_before_the_separator(line: str, want: dict[str, str]) -> None:
    got = _fields(line)
    assert {k: v for k, (v, _) in got.items()} == want, got
    assert not any(why for _, why in got.values()), got


@pytest.mark.parametrize(("label", "field"), [
    ("Affiliate abroad", "assignment.host_name"), ("D/O/B", "worker.date_of_birth"),
    ("Worker's given names", "worker.first_name"), ("Family name of the worker", "worker.last_name"),
    ("Employee's Social Security #", "worker.ssn"), ("Federal tax ID of the employer", "employer.ein"),
    ("City of birth (employee)", "worker.place_of_birth"),
    ("Remains on the U.S. payroll", "assignment.remains_employee"),
    ("Effective date of assignment", "assignment.start_date"), ("Host country of the assignment", "assignment.country"),
    ("Expatriate's full name", "worker.name"), ("Date of hire of the employee", "assignment.hire_date"),
])
def test_labels_the_vocabulary_never_saw_are_classified_by_their_words(label: str, field: str) -> None:
    found = classify(label)
    assert found is not None and found[0] == field and found[1] >= OFFER, found


def test_an_ocr_slip_in_a_label_word_is_forgiven() -> None:
    found = classify("Citizenshlp of the employee")
    assert found is not None and found[0] == "worker.citizenship"


@pytest.mark.parametrize("text", ["Dear Sir or Madam", "Subject", "Please find attached", "Note"])
def test_words_that_are_no_label_are_not_classified(text: str) -> None:
    found = classify(text)
    assert found is None or found[1] < OFFER


def test_a_label_scored_low_offers_its_value_flagged_never_placed_silently() -> None:
    got = _fields("Citizenship status: United States")
    found = classify("Citizenship status")
    assert found is not None and found[1] < PLACE
    assert got["worker.citizenship"][0] == "US" and got["worker.citizenship"][1]  # offered, low confidence


def test_text_that_holds_a_value_before_the_colon_is_not_a_label() -> None:
    """ "Employee Jane Doe  SSN ..." : the words after a known label are a value, not more label."""
    got = _fields("Employee Jane Doe, SSN: 123-45-6789")
    assert got.get("worker.ssn", ("", None))[0] != "Jane Doe"
    assert "Marital status" not in str(_fields("Marital status: married"))
    assert _fields("Marital status: married\nStatus: single") == {}


def test_segment_reads_hints_and_separators() -> None:
    text = "Full name (last, first) ....... Smith, John"
    end, start, hints = segment(text) or (0, 0, ())
    assert text[:end].strip() == "Full name (last, first)" and text[start:] == "Smith, John"
    assert hints == ("last, first",)
    assert segment("Jane Doe works for us") is None


@pytest.mark.parametrize(("line", "want"), [
    ("Name (last, first): Smith John A.", {"worker.first_name": "John", "worker.middle_name": "A",
                                           "worker.last_name": "Smith"}),
    ("Name (Last / First / MI): Smith / John / A", {"worker.first_name": "John", "worker.middle_name": "A",
                                                    "worker.last_name": "Smith"}),
    ("Full name (surname, given name) ..... Smith, John", {"worker.first_name": "John", "worker.last_name": "Smith"}),
    ("Employee name: SMITH John", {"worker.first_name": "John", "worker.last_name": "SMITH"}),
    ("Date of birth (dd/mm/yyyy): 07/03/1985", {"worker.date_of_birth": "1985-03-07"}),
    ("Date of birth (mm/dd/yyyy): 07/03/1985", {"worker.date_of_birth": "1985-07-03"}),
    ("Number in the other country (if known): 12345", {"worker.foreign_id": "12345"}),
])
def test_hints_in_a_label_say_how_its_value_is_read_and_never_enter_it(line: str, want: dict[str, str]) -> None:
    assert {k: v for k, (v, _) in _fields(line).items()} == want


@pytest.mark.parametrize(("line", "field"), [
    ("Employer: Nordlicht GmbH", "employer.name"), ("Host company: Acme Widget Inc.", "assignment.host_name"),
    ("Place of birth: 03/07/1985", "worker.place_of_birth"),
])
def test_a_value_whose_type_disagrees_with_its_label_is_flagged(line: str, field: str) -> None:
    got = _fields(line)
    assert got[field][1], got  # the label says one thing, the value another: for staff


@pytest.mark.parametrize("line", ["Employer: Blue Harbor Logistics LLC", "Host company: Fenwick Ltd",
                                  "Foreign company: Kirin K.K.", "Employer: Acme Widget Corporation"])
def test_a_value_whose_type_agrees_with_its_label_is_not_flagged(line: str) -> None:
    assert not any(why for _, why in _fields(line).values())
