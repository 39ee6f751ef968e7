"""The failure classes of issue 12 for text formats, each on phrasings of our own.

Labels read by their words (verb forms, pronouns, destinations), the value's type as evidence,
separators and leaders, hints, several workers, prose. None of the labels here is a *tests only*
phrasing (`test_no_phrasing_here_is_tests_only` checks it): the held-out figure must stay a measure.
"""

from __future__ import annotations

import pytest

from parsers.fields import find_fields
from parsers.label_words import OFFER, PLACE, classify, content_words
from parsers.labels import _slip_of, match_label_at
from parsers.layout import Word, lines_from_text, lines_from_words
from parsers.prose import find_in_prose
from parsers.types import Box
from parsers.values import normalize
from parsers.workers import split_blocks
from tests.heldout.vocab import phrasings


def _fields(text: str) -> dict[str, tuple[str, str | None]]:
    return {c.field: (c.value, c.uncertain) for c in find_fields(lines_from_text(text), part="body", method="text")}


def _values(text: str) -> dict[str, str]:
    return {k: v for k, (v, _why) in _fields(text).items()}


# ------------------------------------------------------------------------------ labels by their words

@pytest.mark.parametrize(("label", "field"), [
    ("Posting commences on", "assignment.start_date"),  # a verb by its base form: commence
    ("Secondment concluded", "assignment.end_date"),
    ("Date the posting finished", "assignment.end_date"),
    ("Departing for the assignment", "assignment.start_date"),
    ("Further forenames", "worker.middle_name"),  # more given names after the first
    ("Additional given names of the worker", "worker.middle_name"),
])
def test_inflected_and_compound_label_words_are_read_by_their_sense(label: str, field: str) -> None:
    found = classify(label)
    assert found is not None and found[0] == field and found[1] >= OFFER, found


def test_a_date_label_with_a_verb_of_joining_is_the_hire_date() -> None:
    assert _values("Joined our firm on: 04/01/2015") == {"assignment.hire_date": "2015-04-01"}


@pytest.mark.parametrize(("label", "field"), [
    ("Country the worker is seconded to", "assignment.country"),  # "X to": where the worker goes
    ("Delegated to (firm)", "assignment.host_name"),
])
def test_a_participle_before_to_says_where_the_worker_goes(label: str, field: str) -> None:
    found = classify(label)
    assert found is not None and found[0] == field, found


def test_the_vocabulary_keeps_its_own_destination_labels() -> None:
    """The vocabulary's "Going to" is its own entry, not `abroad`, or every section word before it
    would make an entry for the country ("Work site" + "Going to")."""
    assert content_words("Going to", vocabulary=True) == ("going",)
    assert content_words("Posted to") == ("abroad",)


def test_a_question_pronoun_names_what_it_asks_for() -> None:
    got = _fields("Who will travel: Jane Doe")
    assert {k: v for k, (v, _) in got.items()} == {"worker.first_name": "Jane", "worker.last_name": "Doe"}


# ------------------------------------------------------------------------------ the value's type

def test_a_value_goes_to_the_next_field_its_label_names_when_it_reads_as_that() -> None:
    # "Birth" names a date first and a place next; a place is no date
    assert _values("Birth: Boise, ID") == {"worker.place_of_birth": "Boise, ID"}
    assert _values("Birth: 04/24/1985") == {"worker.date_of_birth": "1985-04-24"}


def test_a_text_field_is_no_evidence_for_a_value_that_fails_a_name() -> None:
    """A name's label whose value is no name does not move it to another text field (employer's name)."""
    got = _fields("Employee: 123-45-6789")
    assert "employer.name" not in got and "worker.address.street" not in got, got


def test_a_company_under_a_label_read_as_another_field_is_a_company() -> None:
    got = _fields("Employed with (abroad): Nordlicht Systems GmbH")
    assert got["assignment.host_name"][0] == "Nordlicht Systems GmbH"
    got = _fields("Employed with (abroad): Nordlicht Systems Inc.")
    assert got["assignment.host_name"][0] == "Nordlicht Systems Inc." and got["assignment.host_name"][1]


def test_a_country_under_a_company_label_is_the_country() -> None:
    assert _values("Posted to: France") == {"assignment.country": "FR"}


def test_an_address_for_what_is_sent_is_the_confirmation_address() -> None:
    got = _fields("Certificate copy to be e-mailed to: hr@acme-tools.com")
    assert got["confirmation_email"][0] == "hr@acme-tools.com"


def test_the_work_address_country_is_the_assignment_country_when_none_is_given() -> None:
    got = _values("Work address abroad: Via Roma 3, 00100 Roma, Italy")
    assert got["assignment.country"] == "IT"
    got = _values("Country of assignment: Germany\nWork address abroad: Via Roma 3, 00100 Roma, Italy")
    assert got["assignment.country"] == "DE"  # given: never overwritten


# ------------------------------------------------------------------------------ separators and leaders

@pytest.mark.parametrize(("line", "field", "value"), [
    ("Was the worker hired in the U.S.? — Yes", "assignment.hired_in_us", "true"),  # two separators
    ("Hired in the U.S.? > no", "assignment.hired_in_us", "false"),
    ("Born in (city, state) . . . . . . . . Boise, ID", "worker.place_of_birth", "Boise, ID"),  # spaced leader
    ("Final day abroad (dd/mm/yyyy) . . 05/08/2029", "assignment.end_date", "2029-08-05"),  # two spaced dots
    ("Social Security no. of the worker: 123-45-6789", "worker.ssn", "123-45-6789"),
])
def test_separators(line: str, field: str, value: str) -> None:
    assert _values(line).get(field) == value, _fields(line)


def test_a_dashed_written_date_is_a_date() -> None:
    assert _values("Final day of the posting: 15-Jun-2028") == {"assignment.end_date": "2028-06-15"}


def test_a_day_first_hint_holds_for_a_date_under_any_label() -> None:
    got = _values("Posting ends (dd/mm/yyyy): 05/08/2029")
    assert got == {"assignment.end_date": "2029-08-05"}


@pytest.mark.parametrize(("label", "want"), [
    ("Return date (dd/mmv/yyyy)", "2027-12-07"),   # a fax glued a letter to the month
    ("Date the employee was born (dd/mmvyyyyy)", "2027-12-07"),  # and lost the second slash
    ("Return date (cd/mm/yyyy)", "2027-12-07"),
    ("Return date (inm/dd/yyyy)", "2027-07-12"),   # month first, garbled alike
    ("Return date", "2027-07-12"),                 # no hint: the U.S. order
])
def test_a_date_order_hint_holds_as_ocr_garbles_it(label: str, want: str) -> None:
    """Held-out faxes of seed 83: `07/12/2027` under `(dd/mmv/yyyy)` went out as 12 July, unflagged."""
    got = _values(f"{label}: 07/12/2027")
    assert list(got.values()) == [want]


def test_a_label_over_its_value_with_an_empty_line_between() -> None:
    got = _values("Worker's place of birth\n\nBoise, ID\nSSN of the worker\n\n123-45-6789")
    assert got == {"worker.place_of_birth": "Boise, ID", "worker.ssn": "123-45-6789"}


def test_a_fuzzy_label_is_a_slip_in_a_word_not_another_word() -> None:
    assert _slip_of("citizanship", ["citizenship"])
    assert not _slip_of("our", ["host", "company"])
    m = match_label_at("Citizanship: Canada")
    assert m is not None and m.field == "worker.citizenship"


def test_a_wide_gap_inside_a_text_pdf_line_is_a_tab_stop() -> None:
    def w(text: str, x0: float, x1: float) -> Word:
        return Word(text, Box(x0=x0, y0=0.10, x1=x1, y1=0.114), 1.0, 1)
    words = [w("Name", 0.10, 0.15), w("of", 0.155, 0.17), w("worker", 0.175, 0.23), w("Jane", 0.255, 0.29),
             w("Doe", 0.295, 0.33)]
    lines = lines_from_words(words, gap_word=True)
    assert len(lines) == 1 and [x.text for x in lines[0].words][3] == "\t"
    assert [x.text for x in lines_from_words(words)[0].words] == ["Name", "of", "worker", "Jane", "Doe"]


# ------------------------------------------------------------------------------ addresses and names

def test_an_address_abroad_goes_on_to_its_country_with_its_postal_code_whole() -> None:
    got = _values("Work address abroad: Keizersgracht 14, 1015 CX\nAmsterdam, the Netherlands")
    assert got["assignment.work_address.postal_code"] == "1015 CX"
    assert got["assignment.work_address.city"] == "Amsterdam"
    assert got["assignment.work_address.country"] == "NL"


@pytest.mark.parametrize(("first", "second", "street", "city"), [
    ("2210 Larkmoor Road, Suite", "410, Ogden, UT 84401", "2210 Larkmoor Road, Suite 410", "Ogden"),
    ("77 Avenue of", "the Pioneers, Provo, UT 84601", "77 Avenue of the Pioneers", "Provo"),
    ("9 Harbor Street, P.O. Box", "88, Eureka, CA 95501", "9 Harbor Street, P.O. Box 88", "Eureka"),
    ("2210 Larkmoor Road", "Ogden, UT 84401", "2210 Larkmoor Road", "Ogden"),  # a line break between parts
])
def test_an_address_wrapped_inside_a_part_goes_on_without_a_comma(first: str, second: str, street: str,
                                                                  city: str) -> None:
    """A wrap after a word that waits for more (a unit's "Suite", a "Box", a connector) is inside
    a part of the address; any other line break is between its parts."""
    got = _values(f"Employer address:\t{first}\n\t{second}\nEIN:\t12-3456789")
    assert got["employer.address.street"] == street
    assert got["employer.address.city"] == city


def test_a_lone_letter_after_the_given_name_is_the_middle_initial() -> None:
    pairs, _ = normalize("worker.name", "Doe, Jane V")
    assert dict(pairs) == {"worker.first_name": "Jane", "worker.middle_name": "V", "worker.last_name": "Doe"}
    pairs, _ = normalize("worker.name", "Doe, John A. IV")
    assert dict(pairs)["worker.last_name"] == "Doe IV"


# ------------------------------------------------------------------------------ several workers

def test_workers_blocks_with_labels_read_by_their_words() -> None:
    body = ("Employer: Acme Tools Inc.\nFirst day of the posting: 03.07.2027\nE-mail for replies: hr@acme-tools.com\n"
            "Still on the U.S. payroll during the posting?: yes\n\n"
            "1. Employee 1\nTeam member: Jane Doe\nSSN: 123-45-6789\nDate of birth: 04/24/1985\n\n"
            "2. Employee 2\nName (forename): John\nName (surname): Roe\nSSN: 234-56-7890\nDate of birth: 1/2/1980\n")
    split = split_blocks(body)
    assert split is not None and len(split.workers) == 2
    lines = body.split("\n")
    shared = {lines[i] for i in split.shared}
    assert "First day of the posting: 03.07.2027" in shared and "E-mail for replies: hr@acme-tools.com" in shared
    assert any("John" in lines[i] for i in split.workers[1])


# ------------------------------------------------------------------------------ prose

def test_prose_reads_a_country_and_a_company_wrapped_over_two_lines() -> None:
    text = ("Jane Doe is a citizen of the United\nKingdom. From 03/01/2027 until 06/30/2028 she will be "
            "working for Pamplona\nFoods SRL in Spain, at Calle Mayor 5, 28013 Madrid, Spain.")
    got = {c.field: c.value for c in find_in_prose(text, part="body", method="text")}
    assert got.get("worker.citizenship") == "GB"
    assert got.get("assignment.host_name", "").replace("\n", " ") == "Pamplona Foods SRL"


def test_prose_reads_an_address_abroad_ending_in_a_country_with_its_article() -> None:
    text = "I will be working at Keizersgracht 14, 1015 CX Amsterdam, the Netherlands, from May 3, 2027."
    got = {c.field: c.value for c in find_in_prose(text, part="body", method="text")}
    assert got.get("assignment.work_address.postal_code") == "1015 CX"


# ------------------------------------------------------------------------------ a label about a name

def test_a_label_about_a_name_names_a_name_field_whatever_its_other_words() -> None:
    """ "Local" and "personal details" also stand in the words of an ID abroad (they read as
    `worker.foreign_id` by their words alone): the label's head word, "name", decides."""
    for label in ("Local name", "Personal details name"):
        got = classify(label)
        assert got is not None and got[0] == "worker.name", label
    got = classify("Local number")
    assert got is not None and got[0] != "worker.name"


@pytest.mark.parametrize(("other", "part"), [("Surname: Wolski", "worker.first_name"),
                                             ("Given name(s): Wolski", "worker.last_name")])
def test_one_word_under_a_whole_name_label_is_the_part_no_other_label_gives(other: str, part: str) -> None:
    got = _fields(f"Please issue a certificate for:\nPassport name: Jarek\n{other}\nDate of birth: 03/04/1979\n")
    assert got[part][0] == "Jarek"
    assert got[part][1] is not None  # the label was read by its words: flagged for a look


def test_one_word_under_a_whole_name_label_with_both_parts_given_is_left_out() -> None:
    got = _fields("Passport name: Jarek\nSurname: Wolski\nGiven name(s): Jan\n")
    assert got["worker.first_name"][0] == "Jan"
    assert "Jarek" not in {v for v, _why in got.values()}


# ------------------------------------------------------------------------------ table cells

def test_a_label_whose_hint_its_table_cell_wrapped_ends_at_the_column_gap() -> None:
    """ "(9" on the label's line, "digits)" under it: the hint is never closed on the line, and
    the label still ends at its column's tab stop, not at the dot of its abbreviation."""
    got = _values("Social Security no. of the worker (9\t732 89 1655\ndigits)\nDate of birth: 05/12/1976\n")
    assert got.get("worker.ssn") == "732-89-1655"
    assert "of the worker (9" not in got.values()


def test_a_date_under_a_label_read_as_a_company_is_no_address() -> None:
    """ "July 20, 2020" has a number and a comma, as a street does: under "Joined our firm on"
    (its words read as the employer's name) it is the hire date, and the lines under it stay theirs."""
    got = _values("Joined our firm on\nJuly 20, 2020\nStill on the U.S. payroll during the posting?\nyes\n")
    assert got.get("assignment.hire_date") == "2020-07-20"
    assert not any(k.startswith("employer.address") for k in got)
    assert got.get("assignment.remains_employee") == "true"


def test_a_company_whose_legal_form_wrapped_onto_the_next_line_keeps_it() -> None:
    """ "L.L.C." alone under the name's first letter ends the name; under the label it would not."""
    def word(text: str, x0: float, y0: float) -> Word:
        return Word(text, Box(x0=x0, y0=y0, x1=x0 + 0.012 * len(text), y1=y0 + 0.014), 1.0, 1)
    words = [word("Sending", 0.1, 0.40), word("company", 0.2, 0.40), word("\t", 0.3, 0.40),
             word("Ormsby", 0.6, 0.40), word("Tools", 0.7, 0.40), word("L.L.C.", 0.601, 0.42),
             word("EIN", 0.1, 0.45), word("\t", 0.3, 0.45), word("12-3456789", 0.6, 0.45)]
    got = {c.field: c.value for c in find_fields(lines_from_words(words), part="p", method="text")}
    assert got.get("employer.name") == "Ormsby Tools L.L.C."
    assert got.get("employer.ein") == "12-3456789"


# ------------------------------------------------------------------------------ the split stays

_OWN = ["Posting commences on", "Secondment concluded", "Date the posting finished", "Departing for the assignment",
        "Further forenames", "Additional given names of the worker", "Joined our firm on",
        "Country the worker is seconded to", "Delegated to (firm)", "Who will travel", "Birth", "Employee",
        "Employed with (abroad)", "Posted to", "Certificate copy to be e-mailed to", "Work address abroad",
        "Was the worker hired in the U.S.?", "Final day abroad (dd/mm/yyyy)", "Social Security no. of the worker",
        "Final day of the posting", "Posting ends (dd/mm/yyyy)", "Worker's place of birth", "SSN of the worker",
        "First day of the posting", "E-mail for replies", "Still on the U.S. payroll during the posting?",
        "Team member", "Name (forename)", "Name (surname)", "Passport name", "Local name", "Personal details name",
        "Local number", "Social Security no. of the worker", "Sending company", "Surname",
        "Given name(s)", "Employer address"]


def test_no_phrasing_here_is_tests_only() -> None:
    only = {" ".join(p.casefold().split()) for p in phrasings().of("tests_only")}
    assert not {p for p in _OWN if " ".join(p.casefold().split()) in only}
    assert PLACE > OFFER
