"""Faxed letters as others write them, second round (issue 12, fax side): classes of miss found on
held-out faxes, each rebuilt here from generated data.

- a sentence wrapped onto a line of its own ("... for the following" over "assignment:") opens no
  section: the bare labels under it keep their plain meaning ("Name" is the worker's, not the host's);
- an e-mail address its line cut inside the domain goes on on the next line (or atop the next
  page), and is read whole; one that could have ended there is read whole but doubted;
- an e-mail address OCR read with a comma for a dot, under a label read by its words as a name, is
  the party's e-mail address all the same;
- a letterhead whose street and city a tab stop, a slash or a backslash parts keeps its suite with
  the street;
- a contact named in a sentence ends at the line's end ("Questions to Jo Roe" over "Contact's ...").
"""

from __future__ import annotations

import pytest

from parsers.employment import find_employment
from parsers.layout import Line, Word
from parsers.letterhead import from_letterhead
from parsers.ocr_letter import read_letter
from parsers.types import Box, Part
from tests.ocr_rows import H
from tests.ocr_rows import typed_row as _row


def _placed(texts: list[tuple[str, float, float]], y: float, page: int = 1, conf: float = 0.95) -> list[Word]:
    return [Word(t, Box(x0=a, y0=y, x1=b, y1=y + H), conf, page) for t, a, b in texts]




def _read(pages: list[list[Word]]) -> dict[str, object]:
    found, _texts = read_letter(list(enumerate(pages, start=1)), Part(name="fax", media_type="image/tiff",
                                                                    data=b""), set())
    return {c.field: c for c in found}


_INTRO = ["Dear Sir or Madam,", "We ask for a U.S. certificate of coverage for the following", "assignment:"]


def test_a_sentence_wrapped_onto_its_own_line_opens_no_section() -> None:
    rows = [*_INTRO, "Name | Bennet Harlow", "Citizenship | United States", "Host company | Tramblet Logistics GmbH"]
    got = _read([[w for k, r in enumerate(rows) for w in _row(r, 0.2 + 0.025 * k)]])
    assert got["worker.first_name"].value == "Bennet"  # type: ignore[attr-defined]
    assert got["worker.last_name"].value == "Harlow"  # type: ignore[attr-defined]
    assert got["assignment.host_name"].value == "Tramblet Logistics GmbH"  # type: ignore[attr-defined]


def test_a_heading_of_its_own_still_opens_its_section() -> None:
    rows = ["Dear Sir or Madam,", "Please find our request below.", "Assignment:", "Name | Tramblet Logistics GmbH"]
    got = _read([[w for k, r in enumerate(rows) for w in _row(r, 0.2 + 0.025 * k)]])
    assert got["assignment.host_name"].value == "Tramblet Logistics GmbH"  # type: ignore[attr-defined]
    assert "worker.last_name" not in got


@pytest.mark.parametrize(("head", "tail"), [("b.harlow@orchardto", "ols.com"), ("b.harlow@orchardtools.", "com"),
                                            ("b.harlow@orchardtools.c", "om")])
def test_an_email_cut_inside_its_domain_goes_on_on_the_next_line(head: str, tail: str) -> None:
    rows = [f"Contact e-mail | {head}", tail, "Citizenship | Canadian"]
    words = [w for k, r in enumerate(rows) for w in _row(r, 0.3 + 0.02 * k)]
    got = _read([words])
    mail = got["employer.contact_email"]
    assert mail.value == "b.harlow@orchardtools.com"  # type: ignore[attr-defined]
    assert got["worker.citizenship"].value == "CA"  # type: ignore[attr-defined]


def test_an_email_that_could_end_at_its_line_is_joined_but_doubted() -> None:
    rows = ["Contact e-mail | b.harlow@orchardtools.co", "m", "Citizenship | Canadian"]
    got = _read([[w for k, r in enumerate(rows) for w in _row(r, 0.3 + 0.02 * k)]])
    mail = got["employer.contact_email"]
    assert mail.value == "b.harlow@orchardtools.com"  # type: ignore[attr-defined]
    assert mail.confidence < 0.88  # type: ignore[attr-defined]


def test_an_email_goes_on_atop_the_next_page_past_its_fax_header() -> None:
    page1 = [w for k, r in enumerate(["Citizenship | Canadian", "Contact e-mail | b.harlow@orchardto"])
             for w in _row(r, 0.88 + 0.03 * k)]
    page2 = (_placed([("NOV-20-2026", 0.03, 0.11), ("09:14", 0.12, 0.16), ("P.2/2", 0.4, 0.43)], 0.005, 2)
             + _row("ols.com", 0.06, page=2) + _row("Sincerely,", 0.1, page=2))
    got = _read([page1, page2])
    assert got["employer.contact_email"].value == "b.harlow@orchardtools.com"  # type: ignore[attr-defined]


def test_a_label_under_an_email_is_no_piece_of_it() -> None:
    rows = ["Contact e-mail | b.harlow@orchardtools.com", "Citizenship", "Canadian"]
    got = _read([[w for k, r in enumerate(rows) for w in _row(r, 0.3 + 0.02 * k)]])
    assert got["employer.contact_email"].value == "b.harlow@orchardtools.com"  # type: ignore[attr-defined]
    assert got["worker.citizenship"].value == "CA"  # type: ignore[attr-defined]


def test_an_email_with_a_comma_for_a_dot_under_a_name_label_is_the_email() -> None:
    rows = ["Our contact's mailbox | b.harlow@orchardtools,com", "Citizenship | Canadian"]
    got = _read([[w for k, r in enumerate(rows) for w in _row(r, 0.3 + 0.02 * k)]])
    assert got["employer.contact_email"].value == "b.harlow@orchardtools.com"  # type: ignore[attr-defined]
    assert "employer.contact_name" not in got


def _line(text: str, y0: float) -> Line:
    words, x = [], 0.1
    for t in text.split(" "):
        words.append(Word(t, Box(x0=x, y0=y0, x1=x + 0.01 * len(t), y1=y0 + H), 0.9, 1))
        x += 0.01 * len(t) + 0.006
    return Line(words)


@pytest.mark.parametrize("bar", ["\t", "\\", "/", "j"])
def test_a_letterhead_parted_by_a_tab_or_slash_keeps_its_suite_with_the_street(bar: str) -> None:
    lines = [_line("Orchard Tools Inc.", 0.04), _line(f"418 Quarry Road, Suite 12 {bar} Dunmore, OH 43015", 0.055),
             _line("November 21, 2026", 0.09)]
    got = {c.field: c.value for c in from_letterhead(lines, [], "fax.tif", 1, "ocr")}
    assert got.get("employer.address.street") == "418 Quarry Road, Suite 12"
    assert got.get("employer.address.city") == "Dunmore" and got.get("employer.address.postal_code") == "43015"


def test_a_contact_named_in_a_sentence_ends_at_its_line() -> None:
    text = ("Remains on payroll \t Y\nQuestions to \t Bennet Harlow\nContact's mailbox \t b.harlow@orchardtools.com\n"
            "Approval e-mail address \t hr@orchardtools.com\n")
    got = {c.field: c.value for c in find_employment(text, part="fax", method="ocr")}
    assert got.get("employer.contact_name") == "Bennet Harlow"


def test_a_format_hint_ends_a_label_a_narrow_tab_stop_left_unseen() -> None:
    """A typewriter's tab no wider than a space: the hint about the value's form closes the label."""
    rows = ["Full name of the employee (last, first) Harlow, Bennet", "Expected return (DD.MM.YYYY) 22.09.2031",
            "Place (city, state) of birth ______ Dunmore, OH"]
    got = _read([[w for k, r in enumerate(rows) for w in _row(r, 0.3 + 0.02 * k)]])
    assert got["worker.last_name"].value == "Harlow"  # type: ignore[attr-defined]
    assert got["worker.first_name"].value == "Bennet"  # type: ignore[attr-defined]
    assert got["assignment.end_date"].value == "2031-09-22"  # type: ignore[attr-defined]
    assert got["worker.place_of_birth"].value == "Dunmore, OH"  # type: ignore[attr-defined]


def test_a_name_hint_under_label_words_ocr_garbled_says_the_name_flagged() -> None:
    rows = ["Asslgnce (last, first)", "Harlow, Bennet Q.", "Citizenship", "Canadian"]
    got = _read([[w for k, r in enumerate(rows) for w in _row(r, 0.3 + 0.025 * k)]])
    assert got["worker.last_name"].value == "Harlow"  # type: ignore[attr-defined]
    assert got["worker.first_name"].value == "Bennet"  # type: ignore[attr-defined]
    assert got["worker.last_name"].uncertain  # type: ignore[attr-defined]


@pytest.mark.parametrize(("written", "middle"), [("Bennet 1 Harlow", "I"), ("Bennet } van der Harlow", "I"),
                                                 ("Bennet ] Harlow", "I"), ("Bennet Q, Harlow", "Q")])
def test_a_middle_initial_ocr_misread_is_put_right_and_doubted(written: str, middle: str) -> None:
    rows = [f"Employee name: {written}", "Citizenship: Canadian"]
    got = _read([[w for k, r in enumerate(rows) for w in _row(r, 0.3 + 0.02 * k)]])
    assert got["worker.first_name"].value == "Bennet"  # type: ignore[attr-defined]
    assert got["worker.middle_name"].value == middle  # type: ignore[attr-defined]
    assert str(got["worker.last_name"].value).endswith("Harlow")  # type: ignore[attr-defined]
    assert got["worker.middle_name"].confidence < 0.88  # type: ignore[attr-defined]
    assert got["worker.citizenship"].confidence > 0.9  # type: ignore[attr-defined]


def test_a_family_name_first_with_its_comma_is_no_initial() -> None:
    got = _read([_row("Employee name: Harlow, Bennet Q.", 0.3)])
    assert got["worker.last_name"].value == "Harlow" and got["worker.middle_name"].value == "Q"  # type: ignore[attr-defined]
    assert got["worker.last_name"].confidence > 0.9  # type: ignore[attr-defined]


def test_a_company_whose_dot_ocr_read_as_a_comma_takes_no_labelled_line_under_it() -> None:
    rows = ["Name of employer ...... Orchard Tools Co,", "Employer tax number ...... 12-3456789",
            "Citizenship: Canadian"]
    got = _read([[w for k, r in enumerate(rows) for w in _row(r, 0.3 + 0.02 * k)]])
    assert got["employer.name"].value == "Orchard Tools Co."  # type: ignore[attr-defined]
    assert got["employer.name"].uncertain  # type: ignore[attr-defined]
    assert got["employer.ein"].value == "12-3456789"  # type: ignore[attr-defined]


def test_a_value_cut_at_a_comma_still_goes_on_on_the_next_line() -> None:
    rows = ["Employee name: O'Harlow,", "Bennet", "Citizenship: Canadian"]
    got = _read([[w for k, r in enumerate(rows) for w in _row(r, 0.3 + 0.02 * k)]])
    assert got["worker.last_name"].value == "O'Harlow" and got["worker.first_name"].value == "Bennet"  # type: ignore[attr-defined]


def test_a_label_read_through_a_look_alike_letter_places_a_value_that_reads() -> None:
    rows = ["Date horn (DD.MM.YYYY)", "11.03.1974", "Period of assignment trom (mm/dd/yyyy)", "07/22/2027",
            "Posting ends", "26 May 2029", "Federal employer no, (NN-NNNNNNN)", "942248719"]
    got = _read([[w for k, r in enumerate(rows) for w in _row(r, 0.3 + 0.025 * k)]])
    assert got["worker.date_of_birth"].value == "1974-03-11"  # type: ignore[attr-defined]
    assert got["assignment.start_date"].value == "2027-07-22"  # type: ignore[attr-defined]
    assert got["assignment.end_date"].value == "2029-05-26"  # type: ignore[attr-defined]
    assert got["employer.ein"].value == "94-2248719"  # type: ignore[attr-defined]


def test_a_look_alike_letter_says_nothing_when_two_words_are_as_close() -> None:
    from parsers.label_words import _glyph_slip

    assert _glyph_slip("horn", None) == "birth"
    assert _glyph_slip("zzzz", None) is None


@pytest.mark.parametrize(("written", "want"), [("4-Peb-2012", "2012-02-04"), ("Septemher 3, 2027", "2027-09-03")])
def test_a_month_ocr_misread_by_a_letter_is_put_right_and_doubted(written: str, want: str) -> None:
    rows = ["Date hired", written, "Citizenship", "Canadian"]
    got = _read([[w for k, r in enumerate(rows) for w in _row(r, 0.3 + 0.025 * k)]])
    assert got["assignment.hire_date"].value == want  # type: ignore[attr-defined]
    assert got["assignment.hire_date"].confidence < 0.88  # type: ignore[attr-defined]


def test_a_month_two_months_are_as_close_to_is_left_alone() -> None:
    from parsers.value_dates import month_slip

    assert month_slip("3 Jum 2027") is None and month_slip("Mav 3, 2027") is None and month_slip("Feb 3, 2027") is None


@pytest.mark.parametrize(("word", "want"), [("\u2018Worker's", "Worker's"), ("\u201cEmployee", "Employee"),
                                            ("\u201cworkplace", "workplace"),
                                            ("\u2018Bud\u2019", None), ("\u201cAcme\u201d,", None), ("Plain", None)])
def test_a_curly_quote_opened_and_never_closed_is_a_speck(word: str, want: str | None) -> None:
    from parsers.ocr_repair import stray_quote

    assert stray_quote(word) == want


def test_a_label_above_its_value_with_a_speck_read_as_a_quote_still_reads() -> None:
    from parsers import ocr_repair

    rows = ["\u2018Name of the worker", "Bennet Q Harlow", "Citizenship", "Canadian"]
    words = [w for k, r in enumerate(rows) for w in _row(r, 0.3 + 0.025 * k)]
    words = [Word(u, w.box, 0.8, w.page) if (u := ocr_repair.stray_quote(w.text)) else w for w in words]
    got = _read([words])
    assert got["worker.first_name"].value == "Bennet" and got["worker.last_name"].value == "Harlow"  # type: ignore[attr-defined]


def test_a_company_with_its_dot_read_as_a_comma_under_a_label_of_person_words_is_the_company() -> None:
    rows = ["Name of the posted worker ______ Bennet Q. Harlow",
            "Company sending the employee ______ Orchard Tools Co,", "Employer tax number ______ 12-3456789"]
    got = _read([[w for k, r in enumerate(rows) for w in _row(r, 0.3 + 0.02 * k)]])
    assert got["worker.first_name"].value == "Bennet" and got["worker.last_name"].value == "Harlow"  # type: ignore[attr-defined]
    assert got["employer.name"].value == "Orchard Tools Co."  # type: ignore[attr-defined]
    assert got["employer.name"].uncertain  # type: ignore[attr-defined]


@pytest.mark.parametrize(("read", "want"), [("I.harlow@orchardtools.com", "l.harlow@orchardtools.com"),
                                            ("b.harIow@orchardtools.com", "b.harlow@orchardtools.com")])
def test_a_capital_i_in_an_address_written_small_is_an_l_doubted(read: str, want: str) -> None:
    rows = [f"Contact e-mail: {read}", "Citizenship: Canadian"]
    got = _read([[w for k, r in enumerate(rows) for w in _row(r, 0.3 + 0.02 * k)]])
    assert got["employer.contact_email"].value == want  # type: ignore[attr-defined]
    assert got["employer.contact_email"].confidence < 0.88  # type: ignore[attr-defined]


def test_an_address_written_with_capitals_keeps_its_i() -> None:
    from parsers.value_people import email_capital_i

    assert email_capital_i("Bennet.Ives@orchardtools.com") is None and email_capital_i("hr@orchardtools.com") is None
