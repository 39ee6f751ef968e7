"""Spreadsheet parsing and file-type sniffing, on files generated here from `tests.synth` requests.

Every sheet is written from known requests in the shapes HR systems export (title rows, numeric SSNs
and ZIPs, Excel dates, one name column or several, the employer in columns or not); every value
written must come back exactly.
"""

from __future__ import annotations

import csv
import html
import io
import random
import re
import struct
import zipfile
from collections.abc import Callable
from datetime import date
from email.message import EmailMessage
from typing import Any

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from parsers import sniff as sn
from parsers.sheet import parse_sheet
from parsers.types import Candidate, Extraction, Limits, Part
from tests.synth import ABROAD, address_line, flat, make_request, us_date

N = 30
COUNTRY_NAMES = {a[0]: a[1] for a in ABROAD}
XLSX_NAME = "requests.xlsx"


def _requests(seed: int) -> list[dict[str, Any]]:
    """30 requests; some SSNs, EINs and ZIPs get leading zeros that a number cell would lose."""
    rng = random.Random(seed)
    reqs = [make_request(rng) for _ in range(N)]
    for i, req in enumerate(reqs):
        if i % 4 == 0:
            ssn = req["worker"]["ssn"]
            req["worker"]["ssn"] = ("00" + ssn[2:]) if i % 8 == 0 else ("0" + ssn[1:])
        if req["employer"] and i % 3 == 0:
            req["employer"]["ein"] = "0" + req["employer"]["ein"][1:]
            req["employer"]["address"].update({"city": "Boston", "state": "MA", "postal_code": "02134"})
        if req["worker"]["address"] and i % 2 == 1:
            zip_code = "02134-0001" if i % 4 == 1 else "02134"
            req["worker"]["address"].update({"city": "Boston", "state": "MA", "postal_code": zip_code})
    return reqs


# --- sheet layouts: (header, cell function, fields the sheet carries) ---------------------------------

Cell = Callable[[dict[str, Any], random.Random], Any]


def _hr_export(typed: bool) -> list[tuple[str, Cell, list[str]]]:
    """An HR-system export: split name, short headers, no employer columns."""

    def d(path: tuple[str, str]) -> Cell:
        def cell(r: dict[str, Any], rng: random.Random) -> Any:
            iso = r[path[0]][path[1]]
            return date.fromisoformat(iso) if typed else us_date(iso, rng)

        return cell

    def ssn(r: dict[str, Any], rng: random.Random) -> Any:
        return int(r["worker"]["ssn"].replace("-", "")) if typed else r["worker"]["ssn"]

    def country(r: dict[str, Any], rng: random.Random) -> Any:
        code = r["assignment"]["country"]
        return COUNTRY_NAMES[code] if rng.random() < 0.5 else code

    return [
        ("Employee Last Name", lambda r, g: r["worker"]["last_name"], ["worker.last_name"]),
        ("First", lambda r, g: r["worker"]["first_name"], ["worker.first_name"]),
        ("SSN", ssn, ["worker.ssn"]),
        ("DOB", d(("worker", "date_of_birth")), ["worker.date_of_birth"]),
        ("Host Country", country, ["assignment.country"]),
        ("Assignment Start", d(("assignment", "start_date")), ["assignment.start_date"]),
        ("Assignment End", d(("assignment", "end_date")), ["assignment.end_date"]),
    ]


def _full_layout(typed: bool) -> list[tuple[str, Cell, list[str]]]:
    """One name column, employer in split columns (numeric EIN and ZIP when typed), work address in one."""

    def name(r: dict[str, Any], rng: random.Random) -> str:
        w = r["worker"]
        mid = f" {w['middle_name']}" if w["middle_name"] else ""
        return (
            f"{w['last_name']}, {w['first_name']}{mid}"
            if rng.random() < 0.5
            else f"{w['first_name']}{mid} {w['last_name']}"
        )

    def emp(key: str, number: bool = False) -> Cell:
        def cell(r: dict[str, Any], rng: random.Random) -> Any:
            e = r["employer"]
            if e is None:
                return None
            value = e["address"][key] if key in e["address"] else e[key]
            return int(value.replace("-", "")) if number and typed else value

        return cell

    def work(r: dict[str, Any], rng: random.Random) -> str:
        a = r["assignment"]
        return f"{address_line(a['work_address'])}, {COUNTRY_NAMES[a['country']]}"

    def hired(r: dict[str, Any], rng: random.Random) -> Any:
        h = r["assignment"]["hired_in_us"]
        return None if h is None else ("Yes" if h else "No")

    def dt(sec: str, key: str) -> Cell:
        def cell(r: dict[str, Any], rng: random.Random) -> Any:
            iso = r[sec][key]
            return date.fromisoformat(iso) if typed else iso

        return cell

    return [
        ("Employee Name", name, ["worker.first_name", "worker.middle_name", "worker.last_name"]),
        ("Social Security Number", lambda r, g: r["worker"]["ssn"], ["worker.ssn"]),
        ("Date of Birth", dt("worker", "date_of_birth"), ["worker.date_of_birth"]),
        ("Place of Birth", lambda r, g: r["worker"]["place_of_birth"], ["worker.place_of_birth"]),
        ("Employer Name", emp("name"), ["employer.name"]),
        ("Employer EIN", emp("ein", number=True), ["employer.ein"]),
        ("Employer Street", emp("street"), ["employer.address.street"]),
        ("Employer City", emp("city"), ["employer.address.city"]),
        ("Employer State", emp("state"), ["employer.address.state"]),
        ("Employer ZIP", emp("postal_code", number=True), ["employer.address.postal_code"]),
        ("Country of Assignment", lambda r, g: COUNTRY_NAMES[r["assignment"]["country"]], ["assignment.country"]),
        ("Start Date", dt("assignment", "start_date"), ["assignment.start_date"]),
        ("End Date", dt("assignment", "end_date"), ["assignment.end_date"]),
        ("Host Company", lambda r, g: r["assignment"]["host_name"], ["assignment.host_name"]),
        (
            "Work Address",
            work,
            [f"assignment.work_address.{k}" for k in ("street", "city", "postal_code", "country")],
        ),
        ("Hired in U.S.", hired, ["assignment.hired_in_us"]),
    ]


def _split_layout(typed: bool) -> list[tuple[str, Cell, list[str]]]:
    """Self-employed columns: home address split into street/city/state/ZIP, work address split too.

    Typed, the ZIP and an all-digit postal code abroad are number cells: a U.S. ZIP gets its leading
    zero back, a Swiss "4051" must not become "04051".
    """

    def addr(sec: str, key: str, sub: str) -> Cell:
        def cell(r: dict[str, Any], rng: random.Random) -> Any:
            a = r[sec][key]
            if a is None:
                return None
            value = a[sub]
            digits = value.replace("-", "") if a["country"] == "US" else value  # ZIP+4 as one number
            if typed and sub == "postal_code" and digits.isdigit():
                return int(digits)
            return value

        return cell

    def worker(key: str) -> Cell:
        return lambda r, g: r["worker"][key]

    def work_country(r: dict[str, Any], rng: random.Random) -> str:
        return COUNTRY_NAMES[r["assignment"]["work_address"]["country"]]

    return [
        ("Last Name", worker("last_name"), ["worker.last_name"]),
        ("First Name", worker("first_name"), ["worker.first_name"]),
        ("Middle", worker("middle_name"), ["worker.middle_name"]),
        ("SSN", worker("ssn"), ["worker.ssn"]),
        ("Citizenship", lambda r, g: "United States", ["worker.citizenship"]),
        ("Home Street", addr("worker", "address", "street"), ["worker.address.street"]),
        ("Home City", addr("worker", "address", "city"), ["worker.address.city"]),
        ("Home State", addr("worker", "address", "state"), ["worker.address.state"]),
        ("Home ZIP", addr("worker", "address", "postal_code"), ["worker.address.postal_code"]),
        ("Phone", worker("phone"), ["worker.phone"]),
        ("Email", worker("email"), ["worker.email"]),
        ("Nature of Business", worker("business"), ["worker.business"]),
        ("Work Street", addr("assignment", "work_address", "street"), ["assignment.work_address.street"]),
        ("Work City", addr("assignment", "work_address", "city"), ["assignment.work_address.city"]),
        (
            "Work Postal Code",
            addr("assignment", "work_address", "postal_code"),
            ["assignment.work_address.postal_code"],
        ),
        ("Work Country", work_country, ["assignment.work_address.country"]),
        ("Host Country", lambda r, g: r["assignment"]["country"], ["assignment.country"]),
    ]


LAYOUTS = {"hr_export": _hr_export, "full": _full_layout, "split": _split_layout}


def _table(reqs: list[dict[str, Any]], layout: str, typed: bool, seed: int) -> tuple[list[str], list[list[Any]]]:
    rng = random.Random(seed)
    cols = LAYOUTS[layout](typed)
    header = [c[0] for c in cols]
    rows = [[fn(r, rng) for _, fn, _ in cols] for r in reqs]
    return header, rows


def _expected(req: dict[str, Any], layout: str) -> dict[str, str]:
    fields = [f for c in LAYOUTS[layout](True) for f in c[2]]
    truth = flat(req)
    return {f: truth[f] for f in fields if f in truth}


def _values(record: list[Candidate]) -> dict[str, str]:
    out: dict[str, str] = {}
    for c in record:
        assert c.field not in out or out[c.field] == c.value, f"two values for {c.field}"
        out[c.field] = c.value
    return out


def _check(ext: Extraction, reqs: list[dict[str, Any]], layout: str) -> None:
    assert ext.problems == []
    assert ext.multi
    assert len(ext.records) == len(reqs)
    for record, req in zip(ext.records, reqs, strict=True):
        assert _values(record) == _expected(req, layout)
        assert all(c.uncertain is None and c.provenance.method == "table" for c in record)


def _xlsx(header: list[str], rows: list[list[Any]], *, titles: int = 0, notes_sheet: bool = False) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    if notes_sheet:
        ws.title = "Notes"
        ws.append(["Prepared by HR for the SSA certificate of coverage requests"])
        ws = wb.create_sheet("Workers")
    if titles:
        ws.append(["Certificate of Coverage requests - export"])
        if titles > 1:
            ws.append(["Generated 2026-11-25"])
        ws.append([])
    ws.append(header)
    for i, row in enumerate(rows):
        ws.append(row)
        if i == 9:
            ws.append([])  # a blank row in the middle
    ws.append(["Total", len(rows)])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _csv(header: list[str], rows: list[list[Any]], delimiter: str = ",", titles: int = 0) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    for t in range(titles):
        w.writerow([f"Report title {t + 1}"] + [""] * (len(header) - 1))
    w.writerow(header)
    for row in rows:
        w.writerow(["" if v is None else v for v in row])
    w.writerow([])
    w.writerow(["TOTAL", len(rows)] + [""] * (len(header) - 2))
    return buf.getvalue()


def _part(data: bytes, filename: str, media: str = "application/octet-stream") -> Part:
    return Part(name=f"attachment 1: {filename}", media_type=media, data=data, filename=filename)


# --- XLSX ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["hr_export", "full", "split"])
@pytest.mark.parametrize("titles", [0, 2])
def test_xlsx_every_cell_comes_back(layout: str, titles: int) -> None:
    reqs = _requests(seed=11 + titles)
    header, rows = _table(reqs, layout, typed=True, seed=3)
    ext = parse_sheet(_part(_xlsx(header, rows, titles=titles), XLSX_NAME), Limits())
    _check(ext, reqs, layout)
    assert ext.media_type == sn.XLSX
    first = ext.records[0][0].provenance
    assert first.page == 1 and first.label is not None
    first_data_row = titles + 3 if titles else 2  # titles, a blank row, the header
    assert first.label.startswith(f"row {first_data_row}:")


def test_xlsx_numbers_lose_no_leading_zeros() -> None:
    reqs = _requests(seed=5)
    header, rows = _table(reqs, "full", typed=True, seed=1)
    assert isinstance(rows[0][header.index("Employer EIN")], int | None)
    ext = parse_sheet(_part(_xlsx(header, rows), XLSX_NAME), Limits())
    zipped = [
        r
        for r, q in zip(ext.records, reqs, strict=True)
        if q["employer"] and q["employer"]["address"]["postal_code"] == "02134"
    ]
    assert zipped, "the generator must give some ZIPs a leading zero"
    for record in zipped:
        assert _values(record)["employer.address.postal_code"] == "02134"
        assert any(c.raw == "2134" for c in record)
    ssns = [_values(r)["worker.ssn"] for r in ext.records]
    assert any(s.startswith("00") for s in ssns) and any(s.startswith("0") and s[1] != "0" for s in ssns)


def test_xlsx_numeric_postal_codes_us_padded_abroad_not() -> None:
    reqs = _requests(seed=8)
    header, rows = _table(reqs, "split", typed=True, seed=1)
    ext = parse_sheet(_part(_xlsx(header, rows), XLSX_NAME), Limits())
    got = [_values(r) for r in ext.records]
    home = [v["worker.address.postal_code"] for v in got if "worker.address.postal_code" in v]
    assert "02134" in home and "02134-0001" in home
    abroad = {r["assignment"]["work_address"]["postal_code"] for r in reqs}
    assert {"4051", "6000"} & abroad, "the generator must give some 4-digit postal codes abroad"
    assert {v["assignment.work_address.postal_code"] for v in got} == abroad


def test_header_without_rows() -> None:
    ext = parse_sheet(_part(_xlsx(["Last Name", "First Name", "SSN"], []), XLSX_NAME), Limits())
    assert _codes(ext) == ["empty"] and "no worker rows" in ext.problems[0].message


def test_xlsx_header_on_second_sheet_and_row_numbers() -> None:
    reqs = _requests(seed=7)[:5]
    header, rows = _table(reqs, "hr_export", typed=True, seed=2)
    ext = parse_sheet(_part(_xlsx(header, rows, titles=1, notes_sheet=True), XLSX_NAME), Limits())
    _check(ext, reqs, "hr_export")
    prov = [r[0].provenance for r in ext.records]
    assert {p.page for p in prov} == {2}
    # title, blank, header -> the first data row is row 4
    assert [p.label.split(":")[0] for p in prov if p.label] == [f"row {n}" for n in range(4, 9)]


def test_xlsx_wrong_stored_dimension_loses_no_rows() -> None:
    """Some exporters write `<dimension ref="A1"/>`; read-only openpyxl would stop at row 1."""
    reqs = _requests(seed=9)[:6]
    data = _xlsx(*_table(reqs, "hr_export", typed=True, seed=1))
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                body, n = re.subn(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:B2"/>', body)
                assert n == 1
            dst.writestr(info, body)
    _check(parse_sheet(_part(out.getvalue(), XLSX_NAME), Limits()), reqs, "hr_export")


def test_xlsx_excel_serial_and_text_cells() -> None:
    """A date column whose date format was lost holds the serial number; text SSNs stay as written."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Last Name", "First Name", "SSN", "Start Date", "End Date"])
    ws.append(["Marsh", "Tessa", "123-45-6789", 46433, "20270601"])  # 46433 = 2027-02-15
    buf = io.BytesIO()
    wb.save(buf)
    ext = parse_sheet(_part(buf.getvalue(), XLSX_NAME), Limits())
    values = _values(ext.records[0])
    assert values["assignment.start_date"] == "2027-02-15"
    assert values["worker.ssn"] == "123-45-6789"
    assert values["worker.last_name"] == "Marsh"


# --- CSV ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
@pytest.mark.parametrize("layout", ["hr_export", "full", "split"])
def test_csv_every_cell_comes_back(delimiter: str, layout: str) -> None:
    reqs = _requests(seed=21)
    header, rows = _table(reqs, layout, typed=False, seed=4)
    text = _csv(header, rows, delimiter=delimiter, titles=1 if delimiter == ";" else 0)
    ext = parse_sheet(_part(text.encode(), "export.csv", "text/csv"), Limits())
    _check(ext, reqs, layout)
    assert ext.media_type in (sn.CSV, sn.TSV)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1252", "utf-8"])
def test_csv_encodings(encoding: str) -> None:
    reqs = _requests(seed=31)[:6]
    reqs[0]["worker"]["last_name"] = "Müller"
    reqs[1]["worker"]["first_name"] = "José"
    header, rows = _table(reqs, "hr_export", typed=False, seed=5)
    data = _csv(header, rows).encode(encoding)
    ext = parse_sheet(_part(data, "export.csv", "text/csv"), Limits())
    _check(ext, reqs, "hr_export")
    assert _values(ext.records[0])["worker.last_name"] == "Müller"


def test_excel_unicode_text_export() -> None:
    """Excel's "Unicode Text": UTF-16 with a BOM, tab-delimited."""
    reqs = _requests(seed=41)[:5]
    header, rows = _table(reqs, "hr_export", typed=False, seed=6)
    data = _csv(header, rows, delimiter="\t").encode("utf-16")
    assert sn.sniff(data, "export.txt", None) == sn.TSV
    _check(parse_sheet(_part(data, "export.txt", "text/plain"), Limits()), reqs, "hr_export")


def test_not_a_spreadsheet() -> None:
    ext = parse_sheet(_part(_pdf(), "scan.xls", sn.XLS), Limits())
    assert _codes(ext) == ["unsupported"] and "application/pdf" in ext.problems[0].message


def test_html_table_named_xls() -> None:
    """Some HR systems export an HTML table and name it .xls."""
    reqs = _requests(seed=51)[:4]
    header, rows = _table(reqs, "hr_export", typed=False, seed=7)

    def tr(cells: list[Any], tag: str) -> str:
        return "<tr>" + "".join(f"<{tag}>{html.escape(str(c or ''))}</{tag}>" for c in cells) + "</tr>\n"

    page = (
        "<html><body><table><tr><td>Export</td></tr></table><table>"
        + tr(header, "th")
        + "".join(tr(r, "td") for r in rows)
        + "</table></body></html>"
    )
    data = page.encode("utf-8")
    assert sn.sniff(data, "export.xls", sn.XLS) == sn.HTML
    ext = parse_sheet(_part(data, "export.xls", sn.XLS), Limits())
    _check(ext, reqs, "hr_export")
    assert {r[0].provenance.page for r in ext.records} == {2}


def test_csv_short_digit_ssn_is_padded_but_flagged() -> None:
    text = "Last Name,First Name,SSN\r\nMarsh,Tessa,12345678\r\n"
    ext = parse_sheet(_part(text.encode(), "x.csv"), Limits())
    (cand,) = [c for c in ext.records[0] if c.field == "worker.ssn"]
    assert cand.value == "012-34-5678" and cand.uncertain and cand.raw == "12345678"
    assert "12345678" not in (cand.uncertain or "")


def test_csv_repeated_header_and_footer_rows_skipped() -> None:
    text = (
        "Last Name,First Name,SSN\r\nMarsh,Tessa,123-45-6789\r\n"
        "Last Name,First Name,SSN\r\nIvers,Owen,234-56-7890\r\n,,\r\nPrepared by HR,,\r\nGrand Total,2,\r\n"
    )
    ext = parse_sheet(_part(text.encode(), "x.csv"), Limits())
    assert [_values(r)["worker.last_name"] for r in ext.records] == ["Marsh", "Ivers"]


# --- bad input ----------------------------------------------------------------------------------------


def _codes(ext: Extraction) -> list[str]:
    return [p.code for p in ext.problems]


def test_empty_file() -> None:
    ext = parse_sheet(_part(b"", "empty.csv", "text/csv"), Limits())
    assert _codes(ext) == ["empty"] and ext.records == []


def test_no_header_names_the_columns_seen() -> None:
    text = "Stock list,,\r\nColour,Size,Weight\r\nred,10,3\r\nblue,12,4\r\n"
    ext = parse_sheet(_part(text.encode(), "stock.csv"), Limits())
    assert _codes(ext) == ["no_header"]
    assert '"Colour"' in ext.problems[0].message and '"Weight"' in ext.problems[0].message


def test_encrypted_xlsx() -> None:
    ext = parse_sheet(_part(encrypted_ooxml(), "locked.xlsx"), Limits())
    assert _codes(ext) == ["encrypted"]
    assert ext.problems[0].message == (
        'the spreadsheet "locked.xlsx" is password-protected; send it without a password'
    )


def test_old_xls_is_unsupported() -> None:
    ext = parse_sheet(_part(ole_file({"Workbook": b"\x09\x08" * 3000}), "old.xls"), Limits())
    assert _codes(ext) == ["unsupported"] and ".xls" in ext.problems[0].message
    doc = parse_sheet(_part(ole_file({"WordDocument": b"\xec\xa5"}), "old.xls"), Limits())
    assert _codes(doc) == ["unsupported"] and sn.DOC in doc.problems[0].message


def test_corrupt_zip() -> None:
    reqs = _requests(seed=1)[:3]
    data = _xlsx(*_table(reqs, "hr_export", typed=True, seed=1))
    for broken in (data[: len(data) // 2], data[:200] + b"\x00" * 500 + data[700:]):
        ext = parse_sheet(_part(broken, "broken.xlsx"), Limits())
        assert _codes(ext) == ["corrupt"] and ext.records == []


def test_docx_is_not_a_spreadsheet() -> None:
    ext = parse_sheet(_part(docx(), "letter.docx"), Limits())
    assert _codes(ext) == ["unsupported"]


def test_too_many_rows() -> None:
    reqs = _requests(seed=2)
    header, rows = _table(reqs, "hr_export", typed=True, seed=1)
    ext = parse_sheet(_part(_xlsx(header, rows), XLSX_NAME), Limits(max_rows=10))
    assert _codes(ext) == ["too_large"] and ext.records == []
    ok = parse_sheet(_part(_xlsx(header, rows), XLSX_NAME), Limits(max_rows=N))
    assert ok.problems == [] and len(ok.records) == N


def test_too_many_bytes() -> None:
    text = "Last Name,First Name,SSN\r\n" + "Marsh,Tessa,123-45-6789\r\n" * 100
    ext = parse_sheet(_part(text.encode(), "x.csv"), Limits(max_bytes=1000))
    assert _codes(ext) == ["too_large"]


def test_zip_bomb_refused_before_inflating() -> None:
    reqs = _requests(seed=3)[:2]
    data = _xlsx(*_table(reqs, "hr_export", typed=True, seed=1))
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr("xl/media/padding.bin", b"\x00" * (20 * 1024 * 1024))
    ext = parse_sheet(_part(out.getvalue(), "bomb.xlsx"), Limits())
    assert _codes(ext) == ["too_large"] and "zip bomb" in ext.problems[0].message


def test_bad_values_are_kept_flagged_and_never_quote_an_ssn() -> None:
    text = "Last Name,First Name,SSN,Start Date\r\nMarsh,Tessa,123-45-678,not a date\r\n"
    ext = parse_sheet(_part(text.encode(), "x.csv"), Limits())
    cands = {c.field: c for c in ext.records[0]}
    assert cands["worker.ssn"].uncertain and cands["worker.ssn"].value == "123-45-678"
    assert cands["assignment.start_date"].uncertain and cands["assignment.start_date"].confidence < 1
    assert "678" not in (cands["worker.ssn"].uncertain or "")


# --- generated files for sniffing ---------------------------------------------------------------------


def ole_file(streams: dict[str, bytes]) -> bytes:
    """A minimal OLE2 compound file (version 3, 512-byte sectors) holding `streams`, built by hand.

    Streams are padded to 4096 bytes so they live in ordinary sectors, not the mini stream.
    """
    free, eoc, fatsect = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
    fat = [fatsect, eoc]  # sector 0: the FAT, sector 1: the directory
    body = b""
    entries = [("Root Entry", 5, eoc, 0)]
    for name, data in streams.items():
        padded = data.ljust(4096, b"\x00")
        padded = padded.ljust(-(-len(padded) // 512) * 512, b"\x00")
        n, start = len(padded) // 512, len(fat)
        fat += [*range(start + 1, start + n), eoc]
        entries.append((name, 2, start, len(padded)))
        body += padded
    assert len(fat) <= 128 and len(entries) <= 4
    fat += [free] * (128 - len(fat))
    directory = b""
    for i, (name, kind, start, size) in enumerate(entries):
        encoded = (name + "\x00").encode("utf-16-le")
        child = 1 if i == 0 and len(entries) > 1 else free
        right = i + 1 if 0 < i < len(entries) - 1 else free
        directory += struct.pack(
            "<64sHBBIII16sIQQIQ", encoded, len(encoded), kind, 1, free, right, child, b"", 0, 0, 0, start, size
        )
    directory = directory.ljust(512, b"\x00")
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        b"",
        0x3E,
        3,
        0xFFFE,
        9,
        6,
        b"",
        0,
        1,
        1,
        0,
        4096,
        eoc,
        0,
        eoc,
        0,
    ) + struct.pack("<109I", 0, *([free] * 108))
    assert len(header) == 512
    return header + struct.pack("<128I", *fat) + directory + body


def encrypted_ooxml() -> bytes:
    """What Excel writes for a password-protected .xlsx: OLE2 with EncryptionInfo and EncryptedPackage."""
    info = struct.pack("<HHI", 4, 4, 0x40) + b'<?xml version="1.0"?><encryption/>'
    return ole_file({"EncryptionInfo": info, "EncryptedPackage": struct.pack("<Q", 5000) + bytes(range(256)) * 20})


def docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'wordprocessingml.document.main+xml"/></Types>',
        )
        z.writestr("word/document.xml", "<w:document><w:body><w:p>Dear SSA,</w:p></w:body></w:document>")
    return buf.getvalue()


def _image(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("L" if fmt != "GIF" else "P", (40, 30), 255).save(buf, format=fmt)
    return buf.getvalue()


def _pdf() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(text="Request for a certificate of coverage")
    return bytes(pdf.output())


def _eml() -> bytes:
    msg = EmailMessage()
    msg["From"] = "hr@acme.example.com"
    msg["To"] = "coc@intake.example.org"
    msg["Subject"] = "Certificate of coverage request"
    msg.set_content("Please find the request attached.")
    return msg.as_bytes()


def _plain_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("notes.txt", "hello")
    return buf.getvalue()


def _small_xlsx() -> bytes:
    return _xlsx(["Last Name", "SSN"], [["Marsh", "123-45-6789"]])


SNIFF_CASES: list[tuple[str, Callable[[], bytes], str | None, str | None, str]] = [
    ("pdf", _pdf, None, None, sn.PDF),
    ("pdf named .txt", _pdf, "scan.txt", "text/plain", sn.PDF),
    ("tiff", lambda: _image("TIFF"), None, None, sn.TIFF),
    ("png", lambda: _image("PNG"), "x.jpg", "image/jpeg", sn.PNG),
    ("jpeg", lambda: _image("JPEG"), None, "application/octet-stream", sn.JPEG),
    ("gif", lambda: _image("GIF"), None, None, sn.GIF),
    ("xlsx", _small_xlsx, None, None, sn.XLSX),
    ("xlsx named .zip", _small_xlsx, "data.zip", "application/zip", sn.XLSX),
    ("docx", docx, "letter.xlsx", None, sn.DOCX),
    ("other zip", _plain_zip, None, None, sn.ZIP),
    ("corrupt xlsx keeps its name", lambda: _small_xlsx()[:300], "broken.xlsx", None, sn.XLSX),
    ("old xls", lambda: ole_file({"Workbook": b"\x09\x08" * 10}), None, None, sn.XLS),
    ("old doc", lambda: ole_file({"WordDocument": b"\xec\xa5"}), None, None, sn.DOC),
    ("encrypted xlsx", encrypted_ooxml, "locked.xlsx", None, sn.XLSX),
    ("encrypted xlsx, no name", encrypted_ooxml, None, None, sn.XLSX),
    ("encrypted docx", encrypted_ooxml, "locked.docx", None, sn.DOCX),
    ("eml", _eml, None, None, sn.EML),
    ("eml as octet-stream", _eml, "fwd.dat", "application/octet-stream", sn.EML),
    ("html", lambda: b"<!DOCTYPE html><html><body><p>Hi</p></body></html>", None, None, sn.HTML),
    ("html fragment", lambda: b"<p>Dear SSA,<br>please</p>", None, None, sn.HTML),
    ("utf-8 text", "Dear SSA,\nplease send a certificate for José.\n".encode, None, None, sn.TEXT),
    ("cp1252 text", lambda: "Dear SSA, Müller – thanks".encode("cp1252"), None, None, sn.TEXT),
    ("csv by extension", lambda: b"Name\nMarsh\n", "list.csv", None, sn.CSV),
    ("csv by shape", lambda: b"Title\nLast,First,SSN\nMarsh,Tessa,123-45-6789\n", None, None, sn.CSV),
    ("tsv by shape", lambda: b"Last\tFirst\tSSN\nMarsh\tTessa\t123-45-6789\n", None, None, sn.TSV),
    ("csv named .xls", lambda: b"Last,First,SSN\nMarsh,Tessa,123-45-6789\n", "export.xls", sn.XLS, sn.CSV),
    ("csv declared", lambda: b"Name\nMarsh\n", None, "text/csv; charset=utf-8", sn.CSV),
    ("prose is not csv", lambda: b"Dear SSA,\nwe, the employer, ask, kindly.\nThanks\n", None, None, sn.TEXT),
    ("unknown binary", lambda: bytes(range(256)) * 4, None, None, sn.UNKNOWN),
    ("unknown binary, extension", lambda: bytes(range(256)) * 4, "a.pdf", None, sn.PDF),
    ("unknown binary, declared", lambda: bytes(range(256)) * 4, None, "image/png", sn.PNG),
]


@pytest.mark.parametrize(
    ("make", "filename", "declared", "expected"), [c[1:] for c in SNIFF_CASES], ids=[c[0] for c in SNIFF_CASES]
)
def test_sniff(make: Callable[[], bytes], filename: str | None, declared: str | None, expected: str) -> None:
    assert sn.sniff(make(), filename, declared) == expected


def test_ole_directory_is_parsed_not_guessed() -> None:
    data = encrypted_ooxml()
    assert sn.ole_stream_names(data) == {"Root Entry", "EncryptionInfo", "EncryptedPackage"}
    assert sn.is_encrypted_ooxml(data)
    assert not sn.is_encrypted_ooxml(ole_file({"Workbook": b"x"}))
    assert not sn.is_encrypted_ooxml(_small_xlsx())


# --- never an exception -------------------------------------------------------------------------------

_GOOD_XLSX = _small_xlsx()


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000), st.sampled_from([None, "a.csv", "a.xlsx", "a.xls", "a"]))
def test_any_bytes_give_a_type_and_no_exception(data: bytes, filename: str | None) -> None:
    assert "/" in sn.sniff(data, filename, None)
    ext = parse_sheet(_part(data, filename or "a"), Limits())
    assert ext.records or ext.problems or not data


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(_GOOD_XLSX) - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_damaged_xlsx_never_raises(flips: list[tuple[int, int]]) -> None:
    data = bytearray(_GOOD_XLSX)
    for pos, byte in flips:
        data[pos] = byte
    ext = parse_sheet(_part(bytes(data), XLSX_NAME), Limits())
    assert all(p.code in ("corrupt", "no_header", "empty", "unsupported", "too_large") for p in ext.problems)
