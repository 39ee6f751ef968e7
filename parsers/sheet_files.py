"""The rows of a sheet file (XLSX, CSV, an HTML table), read without trusting the file.

Split from `parsers.sheet`, which reads the requests from these rows: the zip directory of an XLSX is
checked before openpyxl inflates anything, a CSV's encoding and delimiter are found, and an error is a
`SheetError` with a code the sheet reader turns into a problem for staff.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator
from html.parser import HTMLParser
from typing import Any

from parsers import columns as col
from parsers.types import Limits, Part

# Zip-bomb guard, checked on the zip directory before openpyxl inflates anything (sizes and ratio
# come from `Limits.max_unzipped_bytes` / `max_zip_ratio`). A 5000-row sheet of requests is a few MB
# of XML; real workbooks compress 5-20x. The ratio is only judged on members large enough to matter.
RATIO_MIN_SIZE = 1024 * 1024
MAX_MEMBERS = 10_000
MAX_COLUMNS = 200
EXCEL_MAX_ROWS = 1_048_576
HEADER_SEARCH_ROWS = 20  # a header row may sit below a title block
CSV_SAMPLE = 64 * 1024
TEXT_LIMIT = 1_000_000  # characters of the rendered sheet kept for staff



class SheetError(Exception):
    """A reason to give up on the part; turned into a PartProblem at the top."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# --- XLSX -------------------------------------------------------------------------------------------


def _xlsx_sheets(data: bytes, label: str, closers: list[Any], limits: Limits) -> list[Iterator[list[Any]]]:
    _check_zip(data, label, limits)
    import openpyxl  # noqa: PLC0415 - heavy; only spreadsheets need it

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        raise SheetError(
            "corrupt", f"the spreadsheet {label} could not be read ({type(exc).__name__}); is it damaged?"
        ) from exc
    closers.append(wb)
    return [_guarded(_ws_rows(ws), label) for ws in wb.worksheets if hasattr(ws, "iter_rows")]


def _ws_rows(ws: Any) -> Iterator[list[Any]]:
    """The rows of a worksheet, each cut to MAX_COLUMNS.

    The stored dimension is ignored: read-only openpyxl otherwise stops at the row the file claims is
    the last, and some exporters write a wrong one (rows would silently go missing).
    """
    ws.reset_dimensions()
    for row in ws.iter_rows(min_row=1, max_col=MAX_COLUMNS, values_only=True):
        yield [] if row.count(None) == len(row) else _trim(list(row))


def _trim(row: list[Any]) -> list[Any]:
    end = len(row)
    while end and row[end - 1] is None:
        end -= 1
    return row[:end]


def _guarded(rows: Iterator[list[Any]], label: str) -> Iterator[list[Any]]:
    """Turn a damaged sheet's error in mid-read into a SheetError."""
    try:
        yield from rows
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError, TypeError) as exc:
        raise SheetError("corrupt", f"the spreadsheet {label} is damaged ({type(exc).__name__})") from exc
    except Exception as exc:
        raise SheetError("corrupt", f"the spreadsheet {label} is damaged ({type(exc).__name__})") from exc


def _check_zip(data: bytes, label: str, limits: Limits) -> None:
    """Refuse a damaged archive or a zip bomb from its directory alone, before anything is inflated."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except Exception as exc:
        raise SheetError("corrupt", f"the spreadsheet {label} is not a readable XLSX file (damaged zip)") from exc
    if len(infos) > MAX_MEMBERS:
        raise SheetError("too_large", f"the spreadsheet {label} has {len(infos):,} parts; refused")
    total = sum(i.file_size for i in infos)
    if total > limits.max_unzipped_bytes:
        raise SheetError(
            "too_large",
            f"the spreadsheet {label} would unpack to {total:,} bytes (limit {limits.max_unzipped_bytes:,}); refused",
        )
    for info in infos:
        if info.file_size >= RATIO_MIN_SIZE and info.file_size > limits.max_zip_ratio * max(info.compress_size, 1):
            raise SheetError(
                "too_large",
                f"the spreadsheet {label} is compressed suspiciously well "
                f"({info.file_size // max(info.compress_size, 1)}:1); refused as a possible zip bomb",
            )
    if "xl/workbook.xml" not in {i.filename for i in infos}:
        raise SheetError("unsupported", f"the file {label} is a zip archive but not an Excel (.xlsx) workbook")


# --- CSV --------------------------------------------------------------------------------------------


def _decode(part: Part) -> str:
    if part.text is not None:
        return part.text.lstrip("\ufeff")
    data = part.data
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace").lstrip("\ufeff")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _csv_rows(part: Part, label: str) -> Iterator[list[Any]]:
    text = _decode(part)
    if not text.strip():
        raise SheetError("empty", f"the spreadsheet {label} is empty")
    delimiters = _delimiters(text)
    # Try the sniffed delimiter first; keep the first one that yields a header row.
    for delim in delimiters:
        rows = _parse_csv(text, delim)
        head = [r for _, r in zip(range(HEADER_SEARCH_ROWS), rows, strict=False)]
        if any(col.is_header(col.header_candidates(r)) for r in head):
            return _guarded(_parse_csv(text, delim), label)
    return _guarded(_parse_csv(text, delimiters[0]), label)


def _delimiters(text: str) -> list[str]:
    order = [",", ";", "\t", "|"]
    try:
        sniffed = csv.Sniffer().sniff(text[:CSV_SAMPLE], delimiters=",;\t|").delimiter
    except csv.Error:
        sniffed = max(order, key=text[:CSV_SAMPLE].count)
    return [sniffed] + [d for d in order if d != sniffed]


def _parse_csv(text: str, delim: str) -> Iterator[list[Any]]:
    reader: Iterable[list[str]] = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    for row in reader:
        yield [c.strip() or None for c in row]


# --- HTML tables ------------------------------------------------------------------------------------


class _TableReader(HTMLParser):
    """Rows of cell texts from every <table>; each table is a sheet."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[Any]]] = []
        self._depth = 0
        self._row: list[Any] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._depth += 1
            self.tables.append([])
        elif tag == "tr" and self._depth:
            self._end_row()
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._end_cell()
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self._end_cell()
        elif tag == "tr":
            self._end_row()
        elif tag == "table" and self._depth:
            self._end_row()
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def _end_cell(self) -> None:
        if self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()) or None)
        self._cell = None

    def _end_row(self) -> None:
        self._end_cell()
        if self._row is not None and self.tables:
            self.tables[-1].append(self._row)
        self._row = None


def _html_tables(text: str) -> list[Iterator[list[Any]]]:
    reader = _TableReader()
    reader.feed(text)
    reader.close()
    return [iter(rows) for rows in reader.tables if rows]
