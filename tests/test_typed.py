"""Values read by their own type when the label says nothing for certain, and requests written as
sentences: addresses, phones, the contact under the closing, yes/no answers. Made-up data."""

from __future__ import annotations

from parsers.body import parse_text
from parsers.prose import find_in_prose
from parsers.types import Candidate


def _by_field(cands: list[Candidate]) -> dict[str, Candidate]:
    return {c.field: c for c in cands}


def _read(text: str) -> dict[str, Candidate]:
    ext = parse_text(text, "body")
    assert len(ext.records) == 1
    return _by_field(ext.records[0])


_HEAD = "First name: Talia\nLast name: Ormsby\nSSN: 518-22-4790\nEmployer: Harrow Lane Tools LLC\nEIN: 31-4820917\n"


def test_an_address_abroad_under_an_unknown_label_is_the_place_of_work_flagged() -> None:
    got = _read(_HEAD + "Where she sits every day: Calle Mayor 12, 28013 Madrid, Spain\n")
    assert got["assignment.work_address.city"].value == "Madrid"
    assert got["assignment.work_address.country"].value == "ES"
    assert got["assignment.work_address.city"].uncertain  # offered for a check, never placed silently


def test_a_company_by_its_legal_form_under_an_unknown_label_is_the_host_flagged() -> None:
    got = _read(_HEAD + "She will sit with: Kessel Werkzeug GmbH\n")
    assert got["assignment.host_name"].value == "Kessel Werkzeug GmbH" and got["assignment.host_name"].uncertain


def test_an_employees_office_address_is_the_employers_but_a_home_address_stays() -> None:
    got = _read(_HEAD + "Address in the U.S.: 410 Quarry Road, Dover, DE 19901\n")
    assert got["employer.address.city"].value == "Dover" and got["employer.address.city"].uncertain
    assert "worker.address.city" not in got
    home = _read(_HEAD + "Home address: 410 Quarry Road, Dover, DE 19901\n")
    assert home["worker.address.city"].value == "Dover" and "employer.address.city" not in home


def test_a_letter_in_sentences_gives_addresses_contact_and_answers() -> None:
    text = ("We are writing on behalf of Harrow Lane Tools LLC (EIN 31-4820917), located at 410 Quarry Road, "
            "Dover, DE 19901, to request a certificate of coverage for our employee Talia Ormsby.\n\n"
            "From 1 March 2027 until 28 February 2029 she will be working for Kessel Werkzeug GmbH in Germany, "
            "at Hauptstrasse 5, 80331 Munich, Germany.\n\nTalia was hired here in the United States. She will "
            "remain on our U.S. payroll throughout.\n\nQuestions may be directed to Nora Pike at "
            "nora.pike@harrowlane.example.\n\nKind regards,\nNora Pike\nHarrow Lane Tools LLC\n")
    got = _by_field(find_in_prose(text, part="body"))
    assert got["employer.address.city"].value == "Dover" and got["employer.address.state"].value == "DE"
    assert got["assignment.work_address.city"].value == "Munich"
    assert got["employer.contact_name"].value == "Nora Pike"
    assert got["employer.contact_email"].value == "nora.pike@harrowlane.example"
    assert got["assignment.hired_in_us"].value == "true" and got["assignment.remains_employee"].value == "true"


def test_the_earlier_of_two_assignment_dates_is_the_start() -> None:
    got = _read(_HEAD + "Assignment commencing (dd.mm.yyyy): 15.08.2027\nExpected end: 2028-03-27\n")
    assert got["assignment.start_date"].value == "2027-08-15" and got["assignment.end_date"].value == "2028-03-27"


def test_a_company_read_for_a_persons_name_goes_to_the_company() -> None:
    got = _read("Last name: Ormsby\nSSN: 518-22-4790\nEmployer: Harrow Lane Tools LLC\n"
                "Name of the one she joins: Workrult Software Ltda.\n")
    assert got["assignment.host_name"].value == "Workrult Software Ltda." and got["assignment.host_name"].uncertain
    assert "worker.middle_name" not in got


def test_a_letter_wrapped_over_lines_and_answers_said_no() -> None:
    text = ("From 1 March 2027 until 28 February 2029 he will be working for Kessel Werkzeug GmbH in South\n"
            "Korea, at Gaiheanero 165, 00974 Tranegar, South Korea.\nHe joined us in 2010, hired abroad. He will "
            "not remain our\nemployee during the assignment.\n")
    got = _by_field(find_in_prose(text, part="body"))
    assert got["assignment.work_address.city"].value == "Tranegar"
    assert got["assignment.work_address.country"].value == "KR"
    assert got["assignment.hired_in_us"].value == "false" and got["assignment.remains_employee"].value == "false"


def test_a_date_under_a_label_read_as_a_name_goes_to_the_date_its_words_name() -> None:
    got = _read(_HEAD + "First day abroad: 7/30/27\nLast day abroad: 2028-10-21\n")
    assert got["assignment.start_date"].value == "2027-07-30" and got["assignment.start_date"].uncertain
    assert got["assignment.end_date"].value == "2028-10-21"
    assert got["worker.first_name"].value == "Talia" and got["worker.last_name"].value == "Ormsby"


def test_a_hint_naming_one_part_of_a_name() -> None:
    got = _read("Name (given) ... Jorko\nName (family) ... de la Wineell\nSSN: 518-22-4790\n")
    assert got["worker.first_name"].value == "Jorko" and got["worker.last_name"].value == "de la Wineell"
