"""PDF letters laid out as people lay them out, read through `parsers.pdf_text` (issue 12, classes 1-4).

Each letter is drawn here with reportlab's canvas at set positions: labels above their values, a
label and its value in two columns (a tab stop), a label at the foot of page 1 whose value opens
page 2, dot leaders after a known label's longer form, the dates of the assignment under labels
whose words do not say which end they are, and a request written in sentences. The labels are
made up for these tests.
"""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas

from parsers.pdf_text import parse_pdf
from parsers.types import Candidate, Limits, Part

TOP = 740


def _pdf(pages: list[list[tuple[float, float, str]]]) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=letter)
    for items in pages:
        c.setFont("Helvetica", 10)
        for x, y, text in items:
            c.drawString(x, y, text)
        c.showPage()
    c.save()
    return buf.getvalue()


def _read(data: bytes) -> dict[str, Candidate]:
    ex = parse_pdf(Part(name="p1", filename="letter.pdf", media_type="application/pdf", data=data), Limits())
    assert not ex.problems
    return {c.field: c for r in ex.records for c in r}


def _head() -> list[tuple[float, float, str]]:
    return [(72, TOP, "Harbourline Pumps Inc."), (72, TOP - 14, "41 Quay Road | Duluth, MN 55802"),
            (72, TOP - 50, "Dear Sir or Madam,")]


def test_labels_above_values_and_in_two_columns() -> None:
    rows = [("Full name of our traveller", "Odile Marchbank"), ("Her Social Security no.", "123-45-6781")]
    items = _head()
    y = TOP - 90
    for lab, val in rows:  # above
        items += [(72, y, lab), (72, y - 13, val)]
        y -= 34
    for lab, val in [("Posted to (country)", "Norway"), ("Receiving company abroad", "Fjordlys Data AS")]:
        items += [(72, y, lab), (300, y, val)]  # two columns
        y -= 20
    got = _read(_pdf([items]))
    assert got["worker.first_name"].value == "Odile" and got["worker.last_name"].value == "Marchbank"
    assert got["worker.ssn"].value == "123-45-6781"
    assert got["assignment.country"].value == "NO"
    assert got["assignment.host_name"].value == "Fjordlys Data AS"


def test_letterhead_address_is_the_employers_and_flagged() -> None:
    items = [*_head(), (72, TOP - 90, "Employee name: Odile Marchbank"), (72, TOP - 104, "SSN: 123-45-6781")]
    got = _read(_pdf([items]))
    assert got["employer.address.street"].value == "41 Quay Road"
    assert got["employer.address.postal_code"].value == "55802"
    assert got["employer.address.street"].uncertain  # staff check: the paper may be an agent's


def test_a_label_at_the_foot_of_a_page_has_its_value_atop_the_next() -> None:
    page1 = [*_head(), (72, TOP - 90, "Employee name: Odile Marchbank"), (72, 60, "Place of work abroad")]
    page2: list[tuple[float, float, str]] = [(72, TOP, "Strandgata 12, 5013 Bergen, Norway"),
                                             (72, TOP - 30, "Sincerely,")]
    got = _read(_pdf([page1, page2]))
    assert got["assignment.work_address.city"].value == "Bergen"
    assert got["assignment.work_address.country"].value == "NO"


def test_the_later_assignment_date_is_the_end() -> None:
    """Two dates under labels that both say "start": the later of the two is the end (flagged)."""
    items = [
        *_head(),
        (72, TOP - 90, "Employee name: Odile Marchbank"),
        (72, TOP - 104, "Date of birth: 03/04/1980"),
        (72, TOP - 118, "Hired on: 05/06/2015"),
        (72, TOP - 132, "Assignment start: 09/30/2028"),
        (72, TOP - 146, "Assignment start (revised): 01/15/2027"),
    ]
    got = _read(_pdf([items]))
    assert got["assignment.start_date"].value == "2027-01-15"
    assert got["assignment.end_date"].value == "2028-09-30"
    assert got["assignment.end_date"].uncertain  # read under a "start" label: moved, and staff check


def test_dot_leaders_make_the_whole_text_the_label() -> None:
    items = [*_head(), (72, TOP - 90, "First name of the employee ........ Odile"),
             (72, TOP - 104, "Last name of the employee ......... Marchbank")]
    got = _read(_pdf([items]))
    assert got["worker.first_name"].value == "Odile" and got["worker.last_name"].value == "Marchbank"


def test_sentences_give_contact_address_and_yes_no_facts() -> None:
    lines = [
        "We ask for a certificate of coverage for our employee Odile Marchbank.",
        "She will be working at Strandgata 12, 5013 Bergen, Norway for two years.",
        "Odile was recruited in the United States and will stay on our payroll throughout.",
        "For any question please contact Piet van der Molen at p.vandermolen@harbourline.example.com.",
    ]
    items = _head() + [(72, TOP - 90 - 14 * k, t) for k, t in enumerate(lines)]
    got = _read(_pdf([items]))
    assert got["assignment.work_address.city"].value == "Bergen"
    assert got["assignment.hired_in_us"].value == "true"
    assert got["assignment.remains_employee"].value == "true"
    assert got["employer.contact_name"].value == "Piet van der Molen"
    assert got["employer.contact_email"].value == "p.vandermolen@harbourline.example.com"
