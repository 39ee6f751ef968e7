"""Sheet columns named in a writer's own words (parsers/columns.py through parsers/sheet.py).

The headers here are made up for these tests (none is in the vocabulary as written): a column is
read from its header's words and hints, weighed against its values' type, the dates of a row keep
their order, a group row above the headers gives the section, and a header on two rows is read
whole. What was not read for certain is flagged, never placed silently.
"""

from __future__ import annotations

import io
from datetime import datetime

import openpyxl

from parsers.columns import header_scores, read_columns
from parsers.sheet import parse_sheet
from parsers.types import Candidate, Limits, Part


def _csv(rows: list[list[str]]) -> Part:
    text = "\r\n".join(",".join(f'"{c}"' if "," in c else c for c in r) for r in rows) + "\r\n"
    return Part(name="p1", filename="batch.csv", media_type="text/csv", data=text.encode())


def _by_field(record: list[Candidate]) -> dict[str, Candidate]:
    return {c.field: c for c in record}


def test_headers_in_own_words_with_hints() -> None:
    rows = [
        ["Posting list, December"],
        [],
        ["Person travelling (surname, given name)", "Soc. Sec. no.", "Birth date (dd/mm/yyyy)",
         "Posted from", "Posted until", "Receiving company", "Payroll kept in U.S.?"],
        ["Quillfeather, Ondine", "123-45-6780", "03/07/1981", "2027-02-01", "2028-01-31", "Brenner Holz GmbH", "yes"],
        ["Marrowby, Tobit", "234-56-7801", "21/11/1975", "2027-03-15", "2029-03-14", "Ostra Logistik AB", "no"],
    ]
    ext = parse_sheet(_csv(rows), Limits())
    assert not ext.problems and len(ext.records) == 2
    first = _by_field(ext.records[0])
    assert first["worker.last_name"].value == "Quillfeather" and first["worker.first_name"].value == "Ondine"
    assert first["worker.date_of_birth"].value == "1981-07-03"  # the hint says day first
    assert first["assignment.start_date"].value == "2027-02-01"
    assert first["assignment.end_date"].value == "2028-01-31"
    assert first["assignment.host_name"].value == "Brenner Holz GmbH"
    assert _by_field(ext.records[1])["assignment.remains_employee"].value == "false"


def test_the_later_assignment_date_is_the_end_whatever_the_header() -> None:
    """Two date columns whose words both say "start": the rows' order decides, and it is flagged."""
    header = ["Employee surname", "Employee first name", "SSN", "Date of birth", "Hired on", "Begins", "Starting over"]
    rows = [["Quade", "Lorna", "345-67-8012", "1980-05-05", "2019-03-01", "2027-06-01", "2027-01-10"],
            ["Pell", "Arno", "456-78-9123", "1979-04-04", "2020-03-01", "2028-02-01", "2027-02-01"]]
    readings = read_columns(header, rows)
    fields = {i: c.field for i, c in readings.items()}
    assert fields[6] == "assignment.start_date" and fields[5] == "assignment.end_date"
    assert readings[5].doubt and readings[6].doubt  # label and values disagreed: staff look


def test_value_type_decides_a_column_its_words_miss() -> None:
    """A header the words do not place: a column of SSN-shaped values is the SSN, flagged."""
    header = ["Family name", "Given name", "Tax reference (U.S.)", "Born"]
    rows = [["Harrow", "Enid", "567-89-0123", "1970-01-02"], ["Vale", "Otto", "678-90-1234", "1971-02-03"]]
    readings = read_columns(header, rows)
    assert readings[2].field == "worker.ssn"


def test_a_column_of_countries_under_a_company_label_gives_way_to_the_company_column() -> None:
    """Two headers both read as the host company ("Posted to", "Host firm"): the one whose cells
    are countries alone is the country of assignment, the one of company names the host."""
    header = ["Family name", "Given name", "Posted to", "Host firm"]
    rows = [["Harrow", "Enid", "Norway", "Fjordlys AS"], ["Vale", "Otto", "Canada", "Maplecrest Inc."],
            ["Lund", "Ida", "Canada", "Tamarack Ltd."]]  # hosts in Canada write Inc. as U.S. firms do
    fields = {i: c.field for i, c in read_columns(header, rows).items()}
    assert fields[2] == "assignment.country"
    assert fields[3] == "assignment.host_name"


def test_name_hint_picks_the_part_of_the_name() -> None:
    assert header_scores("Name (given)")[0][0] == "worker.first_name"
    assert header_scores("Name (family)")[0][0] == "worker.last_name"
    assert header_scores("Whoever travels (last, first)")[0][0] == "worker.name"


def test_group_row_and_header_on_two_rows() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Employee", None, None, "Host company", None])
    ws.append(["Name", "SSN", "Date of", "Name", "Start"])
    ws.append([None, None, "birth", None, "date"])
    ws.append(["Fenwick, Ada", "789-01-2345", datetime(1984, 9, 30), "Kessler Werke GmbH", datetime(2027, 4, 1)])
    ws.append(["Lorne, Basil", "890-12-3456", datetime(1990, 1, 15), "Tavira Lda", datetime(2027, 5, 1)])
    buf = io.BytesIO()
    wb.save(buf)
    part = Part(name="p1", filename="two-rows.xlsx", media_type="application/octet-stream", data=buf.getvalue())
    ext = parse_sheet(part, Limits())
    assert not ext.problems and len(ext.records) == 2
    first = _by_field(ext.records[0])
    assert first["worker.last_name"].value == "Fenwick"
    assert first["worker.date_of_birth"].value == "1984-09-30"
    assert first["assignment.host_name"].value == "Kessler Werke GmbH"
    assert first["assignment.start_date"].value == "2027-04-01"
