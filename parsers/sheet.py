"""Spreadsheets of many workers (CSV, XLSX): one request per data row.

HR systems export whatever headers they like, put a report title above the table, store SSNs and
ZIP codes as numbers (losing the leading zeros) and dates as Excel dates; this parser finds the
header row (and a group row above it or a second header row under it), reads each column's header
as a letter's label is read and weighs it against the column's values (`parsers.columns`), and
turns every cell into candidates through the shared value normaliser (`values.normalize`), so a
sheet says the same thing as a letter would.

Bad input (empty, unreadable, encrypted, oversized, a zip bomb) becomes a `PartProblem`, never an
exception, so the submission still reaches staff with the reason.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

from parsers import columns as col
from parsers import sniff as sn
from parsers.hints import apply_hints
from parsers.sheet_files import (
    EXCEL_MAX_ROWS,
    HEADER_SEARCH_ROWS,
    TEXT_LIMIT,
    SheetError,
    _csv_rows,
    _decode,
    _html_tables,
    _xlsx_sheets,
)
from parsers.types import Candidate, Extraction, Limits, Part, PartProblem, Provenance
from parsers.values import normalize

# Columns that say which worker a row is about; a header row must have one, a data row needs one
# of them or some other value to be more than a footer note.
IDENTITY_FIELDS = col.IDENTITY_FIELDS
US_ZIP_FIELDS = {"employer.address.postal_code": "employer.address", "worker.address.postal_code": "worker.address"}
_TOTAL_RE = re.compile(r"^\s*(grand\s+total|sub-?\s*total|totals?|sum|count)\b", re.IGNORECASE)
_US_NAMES = {"us", "usa", "u.s.", "u.s.a.", "united states", "united states of america"}
_EXCEL_EPOCH = date(1899, 12, 30)


def parse_sheet(part: Part, limits: Limits) -> Extraction:  # noqa: C901, PLR0912  (the sheet's steps in order: header rows, sections, columns, rows)
    """Read a CSV or XLSX part into one candidate list per data row (`multi=True`, method `table`)."""
    try:
        kind = sn.sniff(part.data, part.filename, part.media_type) if part.data else part.media_type
    except Exception:  # noqa: BLE001 - a sniffing bug must not lose the part; the bytes decide below
        kind = part.media_type
    ext = Extraction(part=part.name, media_type=kind, multi=True)
    label = _display_name(part)
    closers: list[Any] = []
    try:
        if not part.data and not (part.text or "").strip():
            raise SheetError("empty", f"the spreadsheet {label} is empty")
        if len(part.data) > limits.max_bytes:
            raise SheetError(
                "too_large",
                f"the spreadsheet {label} is {len(part.data):,} bytes, over the limit of {limits.max_bytes:,}",
            )
        if part.data.startswith(b"\xd0\xcf\x11\xe0"):
            if sn.is_encrypted_ooxml(part.data):
                raise SheetError(
                    "encrypted", f"the spreadsheet {label} is password-protected; send it without a password"
                )
            if kind != sn.XLS:
                raise SheetError("unsupported", f"the file {label} is not a spreadsheet (it is {kind})")
            raise SheetError(
                "unsupported",
                f"the spreadsheet {label} is in the old Excel 97-2003 (.xls) format; "
                "save it as .xlsx or CSV and send it again",
            )
        if part.data and not part.data.startswith(b"PK") and not (kind.startswith("text/") or kind == sn.UNKNOWN):
            raise SheetError("unsupported", f"the file {label} is not a spreadsheet (it is {kind})")
        if part.data.startswith(b"PK") or kind in (sn.XLSX, sn.XLSM):
            ext.media_type = sn.XLSM if kind == sn.XLSM else sn.XLSX
            sheets = _xlsx_sheets(part.data, label, closers, limits)
        elif kind == sn.HTML:  # HR systems that export an HTML table named .xls
            ext.media_type = sn.HTML
            sheets = _html_tables(_decode(part))
        else:
            ext.media_type = sn.TSV if kind == sn.TSV else sn.CSV
            sheets = [_csv_rows(part, label)]
        _read_table(part, label, sheets, limits, ext)
    except SheetError as exc:
        ext.problems.append(PartProblem(code=exc.code, message=exc.message, part=part.name))
    except Exception as exc:  # noqa: BLE001 - a damaged file we did not foresee: staff, not a crash
        ext.records = []
        ext.problems.append(
            PartProblem(
                code="unreadable",
                message=f"the spreadsheet {label} could not be read ({type(exc).__name__})",
                part=part.name,
            )
        )
    finally:
        for wb in closers:
            wb.close()
    return ext


# --- reading the table ------------------------------------------------------------------------------


def _read_table(part: Part, label: str, sheets: list[Iterator[list[Any]]], limits: Limits, ext: Extraction) -> None:
    ext.pages = len(sheets)
    first_seen: list[str] = []
    for index, rows in enumerate(sheets, start=1):
        head: list[tuple[int, list[Any]]] = []
        header_at: int | None = None
        columns: dict[int, str] = {}
        for row_no, row in enumerate(rows, start=1):
            head.append((row_no, row))
            columns = _header_columns(row)
            if _is_header(columns):
                header_at = row_no
                break
            filled = [_text(c) for c in row if _text(c)]
            if index == 1 and len(filled) > len(first_seen):  # the widest early row: most likely the headers
                first_seen = filled
            if row_no >= HEADER_SEARCH_ROWS:
                break
        if header_at is None:
            continue
        header = head[-1][1]
        sample = list(itertools.islice(rows, col.SAMPLE_ROWS))
        above = head[-2][1] if len(head) >= 2 else None
        if sample and _better_header(header, sample[0]):  # the row found holds group titles
            above, header, sample, header_at = header, sample[0], sample[1:], header_at + 1
        if len(sample) > 1 and _header_below(header, sample[0], sample[1]):  # a header on two rows
            header = [" ".join(t for t in (_text(a), _text(b)) if t) or None
                      for a, b in itertools.zip_longest(header, sample[0])]
            sample, header_at = sample[1:], header_at + 1
        readings = col.read_columns(header, sample, col.group_sections(above, len(header)))
        if not col.is_header({i: c.field for i, c in readings.items()}):
            readings = {i: col.Column(f, (), None) for i, f in columns.items()}
        _read_records(part, index, header, readings, itertools.chain(sample, rows), header_at, limits, ext)
        return
    seen = ", ".join(f'"{c}"' for c in first_seen[:20]) or "none"
    raise SheetError(
        "no_header",
        f"no header row with worker columns (name or SSN) was found in the spreadsheet {label}; columns seen: {seen}",
    )


def _no_values(row: list[Any]) -> list[str] | None:
    """The row's filled cells when all are text without digits (header words, not a worker's data)."""
    filled = [c for c in row if c is not None and str(c).strip()]
    if any(not isinstance(c, str) or re.search(r"\d|@", c) for c in filled):
        return None
    return filled


def _better_header(found: list[Any], row: list[Any]) -> bool:
    """The row under the one found is the header ("Employee | | Host company" above "Name | SSN |
    ... | Name"): text only, and more of its cells read as columns."""
    return _no_values(row) is not None and \
        len(col.header_candidates(row)) > len(col.header_candidates(found)) and col.is_header(
            col.header_candidates(row))


def _header_below(header: list[Any], row: list[Any], after: list[Any]) -> bool:
    """The row under a header row is its second line ("Date of" over "birth"): a few text cells
    without digits, each under a header cell, and the row after it holds values."""
    filled = _no_values(row)
    if not filled or len(filled) * 2 > len([c for c in header if _text(c)]):
        return False
    under_header = all(i < len(header) and _text(header[i]) for i, c in enumerate(row) if _text(c))
    return under_header and _no_values(after) is None


def _read_records(
    part: Part,
    sheet_index: int,
    header: list[Any],
    columns: dict[int, col.Column],
    rows: Iterator[list[Any]],
    header_at: int,
    limits: Limits,
    ext: Extraction,
) -> None:
    titles = {i: _text(header[i]) for i in columns}
    lines = ["\t".join(_text(c) for c in header).rstrip("\t")]
    text_len = len(lines[0])
    scan_limit = EXCEL_MAX_ROWS + 1  # blank rows are cheap; rows with content count against max_rows
    for row_no, row in enumerate(rows, start=header_at + 1):
        if row_no - header_at > scan_limit:
            raise SheetError("too_large", f"the spreadsheet {_display_name(part)} has too many rows to read")
        cells = {i: row[i] for i in columns if i < len(row) and _text(row[i])}
        if len(cells) < min(2, len(columns)) or _is_total(row) or _repeats_header(cells, titles):
            continue
        if len(ext.records) >= limits.max_rows:
            ext.records = []
            raise SheetError(
                "too_large",
                f"the spreadsheet {_display_name(part)} has more than {limits.max_rows:,} rows; "
                "send it in smaller files",
            )
        if text_len < TEXT_LIMIT:
            line = "\t".join(_text(c) for c in row).rstrip("\t")
            lines.append(line)
            text_len += len(line) + 1
        ext.records.append(_record(part, sheet_index, row_no, row, cells, columns, titles))
    ext.text = "\n".join(lines)
    if not ext.records:
        raise SheetError("empty", f"the spreadsheet {_display_name(part)} has a header row but no worker rows")


def _record(
    part: Part,
    sheet_index: int,
    row_no: int,
    row: list[Any],
    cells: dict[int, Any],
    columns: dict[int, col.Column],
    titles: dict[int, str],
) -> list[Candidate]:
    out: list[Candidate] = []
    seen: set[tuple[str, str]] = set()
    row_fields = {columns[i].field: row[i] for i in cells}
    for i, value in cells.items():
        field = columns[i].field
        raw, prepared, doubt = _cell_value(field, value, row_fields)
        prepared = apply_hints(field, prepared, columns[i].hints)
        try:
            pairs, uncertain = normalize(field, prepared)
        except Exception as exc:  # noqa: BLE001 - one odd cell must not lose the sheet
            pairs, uncertain = [(field, prepared)], f"could not read the value ({type(exc).__name__})"
        reason = "; ".join(r for r in (doubt, uncertain, columns[i].doubt) if r) or None
        for name, norm in pairs:
            if (name, norm) in seen:
                continue
            seen.add((name, norm))
            out.append(
                Candidate(
                    field=name,
                    value=norm,
                    raw=raw,
                    confidence=0.6 if reason else 1.0,
                    provenance=Provenance(
                        part=part.name, page=sheet_index, method="table", label=f"row {row_no}: {titles[i]}"
                    ),
                    uncertain=reason,
                )
            )
    return out


def _header_columns(row: list[Any]) -> dict[int, str]:
    return col.header_candidates(row)


def _is_header(columns: dict[int, str]) -> bool:
    return col.is_header(columns)


def _repeats_header(cells: dict[int, Any], titles: dict[int, str]) -> bool:
    """A header row repeated below (exports paged for printing): most cells equal their column's title."""
    same = sum(1 for i, v in cells.items() if isinstance(v, str) and _text(v) == titles[i])
    return same >= 2 and same * 2 >= len(cells)


def _is_total(row: list[Any]) -> bool:
    first = next((c for c in row if _text(c)), None)
    return isinstance(first, str) and bool(_TOTAL_RE.match(first))


# --- cell values ------------------------------------------------------------------------------------


def _cell_value(field: str, value: Any, row_fields: dict[str, Any]) -> tuple[str, str, str | None]:  # noqa: C901, PLR0911, PLR0912  (one case per field kind a cell holds)
    """(raw as written, text to normalise, doubt) for one cell.

    Numbers and dates arrive typed from XLSX; SSNs, EINs and U.S. ZIPs stored as numbers have lost
    their leading zeros and get them back. A CSV digit string one or two digits short of an SSN is
    the same Excel damage, but there it is only a guess, so it is flagged.
    """
    leaf = field.rsplit(".", 1)[-1]
    is_date = leaf.endswith("date") or leaf == "date_of_birth"
    if isinstance(value, bool):
        return str(value), "true" if value else "false", None
    if isinstance(value, datetime):
        raw = _text(value)
        if value.time() == time(0, 0) or is_date:
            return raw, value.date().isoformat(), None
        return raw, raw, None
    if isinstance(value, date):
        return value.isoformat(), value.isoformat(), None
    if isinstance(value, time):
        return value.isoformat(), value.isoformat(), None
    if isinstance(value, (int, float)):
        raw = _number_text(value)
        if isinstance(value, float) and not value.is_integer():
            return raw, raw, None
        n = int(value)
        if field == "worker.ssn" and 0 < n < 10**9:
            s = f"{n:09d}"
            return raw, f"{s[:3]}-{s[3:5]}-{s[5:]}", None
        if field == "employer.ein" and 0 < n < 10**9:
            s = f"{n:09d}"
            return raw, f"{s[:2]}-{s[2:]}", None
        if field in US_ZIP_FIELDS and _us_address(field, row_fields):
            if 0 < n < 10**5:
                return raw, f"{n:05d}", None
            if 10**7 <= n < 10**9:  # ZIP+4
                s = f"{n:09d}"
                return raw, f"{s[:5]}-{s[5:]}", None
        if is_date:
            iso = _number_date(n)
            if iso:
                return raw, iso, None
        return raw, raw, None
    text = _text(value)
    digits = text.isdigit()
    if digits and field == "worker.ssn" and len(text) in (7, 8):
        s = text.zfill(9)
        return text, f"{s[:3]}-{s[3:5]}-{s[5:]}", "leading zeros assumed lost by a spreadsheet"
    if digits and field == "employer.ein" and len(text) in (7, 8):
        s = text.zfill(9)
        return text, f"{s[:2]}-{s[2:]}", "leading zeros assumed lost by a spreadsheet"
    if digits and field in US_ZIP_FIELDS and len(text) in (3, 4) and _us_address(field, row_fields):
        return text, text.zfill(5), None  # no U.S. ZIP has fewer than 5 digits
    return text, text, None


def _us_address(field: str, row_fields: dict[str, Any]) -> bool:
    """True unless the row names a country other than the U.S. for this address."""
    country = row_fields.get(US_ZIP_FIELDS[field] + ".country")
    return country is None or _text(country).lower() in _US_NAMES


def _number_date(n: int) -> str | None:
    """A date column holding a number: an Excel serial day whose format was lost, or YYYYMMDD."""
    try:
        if 19000101 <= n <= 21001231:
            return date(n // 10000, n // 100 % 100, n % 100).isoformat()
        if 7306 <= n < 73051:  # 1920-01-01 to 2099-12-31; smaller numbers are more likely years or typos
            return (_EXCEL_EPOCH + timedelta(days=n)).isoformat()
    except ValueError:
        return None
    return None


def _number_text(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _number_text(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0, 0) else value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return " ".join(str(value).split())


def _display_name(part: Part) -> str:
    return f'"{part.filename}"' if part.filename else part.name
