"""Our own request form's layout as data: its fields, boxes, QR payloads and return pages.

One list of field specs drives the PDF (`intake.form`), its AcroForm fields and the zone reader
(`parsers.form_zones`), so the three can never disagree about where a field is. The return page
(our fax reply's page of boxes for what a request still lacks) is placed from its QR payload alone.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from parsers.types import Box

FORM_ID = "COC-1"
PAGE_W, PAGE_H = 612.0, 792.0  # U.S. letter, points
PAGES = 2
MARK_SIZE = 18.0  # solid registration squares, points
MARK_INSET = 32.0  # from the paper's edge: clear of the fax header and of a 3 degree skew
QR_BOX = (470.0, 56.0, 550.0, 136.0)  # x0, y0, x1, y1 in points, top left origin
CELL_W = 16.0  # one box per character
FIELD_H = 20.0
READ_DPI = 200  # the registered page; printed capitals are ~24 px tall at this resolution
LOW_CONFIDENCE = 0.80  # a field whose weakest word is below this is flagged for staff
SURE = 0.95  # a first reading at least this sure (and of the right shape) is not read again
# The further readings of a doubtful box: (enlargement, of a thinned copy).
# Readings of one image by one engine agree on their mistakes (three enlargements all read
# `GRESBAN` for `GRESSAN`); a copy whose strokes are a pixel thinner shows the engine other shapes,
# so a glyph misread on the others is read differently there and the disagreement flags the box.
SECOND_READS: tuple[tuple[float, bool], ...] = ((1.5, False), (2.0, False), (2.0, True))
AGREE_FLOOR = 0.60  # unanimous readings are trusted only if none is a mere guess
MIN_INK_PIXELS = 30  # fewer ink pixels than this in a box (after despeckling): the box is empty
TICK_RATIO = 0.12  # share of a check box's inside that is ink: ticked
TICK_DOUBT = 0.04  # between this and TICK_RATIO: a smudge or a faint tick, for staff

Kind = Literal["text", "comb", "date", "choice"]
Charset = Literal["digits", "num", "alpha", "place", "text"]

# Tesseract whitelists per character class. The config is split with shlex, and the whitelist
# stands in double quotes there, so an apostrophe (O'Neill) is passed through as it is.
# The form asks for capitals, but a person filling it in a viewer types as they always type: mixed
# and lower case. Every box that holds words reads both cases (a capitals-only list turned
# `Bluestem Agricultural Services` into `B A S`); boxes of digits stay digits only.
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LETTERS = _UPPER + _UPPER.lower()
WHITELISTS: dict[str, str] = {
    "digits": "0123456789",
    "num": "0123456789-()+.",
    "alpha": _LETTERS + "-.'",
    "place": _LETTERS + "-.,'",
    "text": _LETTERS + "0123456789,.-&/#@_+'",
}


@dataclass(frozen=True)
class Option:
    """One tick box of a choice: the value it stands for and where its box is (points)."""

    value: str
    caption: str
    x: float
    y: float
    size: float = 11.0


@dataclass(frozen=True)
class FieldSpec:
    """One field of the form: model path, label, page, box in points (origin top left) and kind.

    `cells` is the number of character boxes of a comb or date (a date has 10: MM/DD/YYYY with the
    two separators printed in theirs); `charset` picks the OCR whitelist.
    """

    path: str
    label: str
    page: int
    x: float
    y: float
    w: float
    h: float = FIELD_H
    kind: Kind = "text"
    max_chars: int = 40
    charset: Charset = "text"
    options: tuple[Option, ...] = ()

    @property
    def cells(self) -> int:
        return self.max_chars if self.kind == "comb" else 10 if self.kind == "date" else 0

    def box(self) -> Box:
        """The field's box as page fractions (for provenance and the review page)."""
        if self.kind == "choice" and self.options:
            x0 = min(o.x for o in self.options)
            y0 = min(o.y for o in self.options)
            x1 = max(o.x + o.size for o in self.options)
            y1 = max(o.y + o.size for o in self.options)
            return Box(x0=x0 / PAGE_W, y0=y0 / PAGE_H, x1=x1 / PAGE_W, y1=y1 / PAGE_H)
        return Box(x0=self.x / PAGE_W, y0=self.y / PAGE_H, x1=(self.x + self.w) / PAGE_W,
                   y1=(self.y + self.h) / PAGE_H)


@dataclass(frozen=True)
class Heading:
    page: int
    y: float
    text: str


@dataclass(frozen=True)
class Layout:
    version: int
    fields: tuple[FieldSpec, ...]
    headings: tuple[Heading, ...]
    help_top: float  # where the help texts start on the last page (points from the top)

    def by_path(self) -> dict[str, FieldSpec]:
        return {f.path: f for f in self.fields}


DEPENDENT_ROWS = 3
_DATE_CELLS = 10
_DATE_SEPARATORS = (2, 5)  # cell indexes of the printed "/"
ROW_STEP = 38.0
HEAD_STEP = 20.0


def _comb_w(cells: int) -> float:
    return cells * CELL_W


class _Builder:
    """Places rows of fields down a page; the label sits above its box."""

    def __init__(self, page: int, top: float) -> None:
        self.page, self.y = page, top
        self.fields: list[FieldSpec] = []
        self.headings: list[Heading] = []

    def heading(self, text: str) -> None:
        self.headings.append(Heading(self.page, self.y + 10, text))
        self.y += HEAD_STEP

    def row(self, *specs: tuple[str, str, float, float, Kind, int, Charset]) -> None:
        for path, label, x, w, kind, chars, charset in specs:
            self.fields.append(FieldSpec(path, label, self.page, x, self.y + 9, w, FIELD_H, kind, chars, charset))
        self.y += ROW_STEP

    def choice(self, path: str, label: str, x: float, options: list[tuple[str, str, float]]) -> None:
        opts = tuple(Option(v, cap, ox, self.y + 13) for v, cap, ox in options)
        self.fields.append(FieldSpec(path, label, self.page, x, self.y + 9, 0, FIELD_H, "choice", 1, "text", opts))


_Spec = tuple[str, str, float, float, Kind, int, Charset]


def _t(path: str, label: str, x: float, w: float, charset: Charset = "text") -> _Spec:
    return (path, label, x, w, "text", max(1, int(w // 7)), charset)


def _comb(path: str, label: str, x: float, cells: int, charset: Charset = "digits") -> _Spec:
    return (path, label, x, _comb_w(cells), "comb", cells, charset)


def _date(path: str, label: str, x: float) -> _Spec:
    return (path, label, x, _comb_w(_DATE_CELLS), "date", 8, "digits")


def _address(b: _Builder, prefix: str, *, us: bool) -> None:
    b.row(_t(f"{prefix}.street", "Street and number", 60, 240),
          _t(f"{prefix}.city", "City", 310, 140, "place"),
          _t(f"{prefix}.postal_code", "ZIP code" if us else "Postal code", 460, 92, "num" if us else "text"))


@lru_cache(maxsize=4)
def layout(version: int = 2) -> Layout:
    """The field layout of a layout version (see `config/editions.toml` for which edition uses it).

    Version 1 (edition 2025-06) is the older form: its second page starts lower and it had no
    separate residence-country box, so an old copy still reads, from its own positions.
    """
    if version not in (1, 2):
        raise ValueError(f"unknown form layout version {version}")
    p1 = _Builder(1, 150)
    p1.heading("1. Request type (tick one)")
    p1.choice("request_type", "Request type", 60, [("employee", "Employee sent abroad by a U.S. employer", 60),
                                                     ("self_employed", "Self-employed person", 320)])
    p1.y += 26
    p1.heading("2. Worker (as on the Social Security card)")
    p1.row(_t("worker.first_name", "First name", 60, 180, "alpha"),
           _t("worker.middle_name", "Middle name", 250, 110, "alpha"),
           _t("worker.last_name", "Last name", 370, 182, "alpha"))
    row = [_comb("worker.ssn", "Social Security number", 60, 9),
           _date("worker.date_of_birth", "Date of birth (MM/DD/YYYY)", 220),
           _comb("worker.citizenship", "Citizenship", 400, 2, "alpha")]
    if version >= 2:
        row.append(_comb("worker.residence_country", "Residence country", 470, 2, "alpha"))
    p1.row(*row)
    p1.row(_t("worker.place_of_birth", "Place of birth (city, state or country)", 60, 250, "place"),
           _t("worker.foreign_id", "Number in the other country (if known)", 320, 232))
    p1.row(_t("worker.email", "E-mail (self-employed)", 60, 290),
           _t("worker.phone", "Phone (self-employed)", 360, 192, "num"))
    _address(p1, "worker.address", us=True)
    p1.row(_comb("worker.address.state", "State", 60, 2, "alpha"),
           _comb("worker.address.country", "Country", 110, 2, "alpha"),
           _t("worker.business", "Nature of the business (self-employed)", 160, 392))
    p1.heading("3. Employer in the U.S. (employees only)")
    p1.row(_t("employer.name", "Employer name", 60, 320),
           _comb("employer.ein", "Employer identification number (EIN)", 400, 9))
    _address(p1, "employer.address", us=True)
    p1.row(_comb("employer.address.state", "State", 60, 2, "alpha"),
           _comb("employer.address.country", "Country", 110, 2, "alpha"),
           _t("employer.contact_name", "Contact person", 160, 200, "alpha"),
           _t("employer.contact_phone", "Contact phone", 370, 182, "num"))
    p1.row(_t("employer.contact_email", "Contact e-mail", 60, 300),
           _date("employer.irs_3121l_date", "IRS 3121(l) agreement date", 380))

    p2 = _Builder(2, 150 if version >= 2 else 168)
    p2.heading("4. Assignment abroad")
    p2.row(_t("assignment.country", "Country (code, CA-QC for Quebec)", 60, 110, "alpha"),
           _date("assignment.start_date", "Start date (MM/DD/YYYY)", 190),
           _date("assignment.end_date", "End date (MM/DD/YYYY)", 370))
    p2.row(_t("assignment.host_name", "Company, affiliate or client abroad", 60, 330))
    _address(p2, "assignment.work_address", us=False)
    p2.row(_t("assignment.work_address.state", "Region abroad", 60, 120),
           _comb("assignment.work_address.country", "Country", 190, 2, "alpha"),
           _date("assignment.hire_date", "Date of hire (MM/DD/YYYY)", 240),
           _t("assignment.hire_place", "Place of hire", 410, 142, "place"))
    p2.choice("assignment.hired_in_us", "Hired in the U.S. or worked for the employer there before?", 60,
              [("yes", "Yes", 60), ("no", "No", 110)])
    p2.choice("assignment.remains_employee", "Stays an employee of the U.S. employer?", 310,
              [("yes", "Yes", 310), ("no", "No", 360)])
    p2.y += 34
    p2.heading("5. Family members going along (if any)")
    for i in range(DEPENDENT_ROWS):
        p2.row(_t(f"dependents[{i}].name", "Name", 60, 230, "alpha"),
               _date(f"dependents[{i}].date_of_birth", "Date of birth (MM/DD/YYYY)", 300),
               _t(f"dependents[{i}].relationship", "Relationship", 470, 82, "alpha"))
    p2.heading("6. Confirmation of approval")
    p2.row(_t("confirmation_email", "Send the confirmation to this e-mail address (optional)", 60, 330))
    return Layout(version, tuple(p1.fields + p2.fields), tuple(p1.headings + p2.headings), p2.y + 4)


def mark_centers() -> list[tuple[float, float]]:
    """Centres of the registration marks in points: top left, top right, bottom left, bottom right."""
    c = MARK_INSET + MARK_SIZE / 2
    return [(c, c), (PAGE_W - c, c), (c, PAGE_H - c), (PAGE_W - c, PAGE_H - c)]


def qr_payload(edition: str, layout_version: int, page: int) -> str:
    """What the QR code on each page says: form id, edition, layout version, page."""
    return f"{FORM_ID}|{edition}|L{layout_version}|P{page}"


def edition_code(edition: str) -> str:
    """`2026-11` -> `COC-1 (2026-11)`, as printed on the form."""
    return f"{FORM_ID} ({edition})"


_PAYLOAD = re.compile(r"^(?P<form>COC-\d+)\|(?P<ed>[0-9]{4}-[0-9]{2})\|L(?P<layout>\d+)\|P(?P<page>\d+)$")


# ---------------------------------------------------------------------------------------------
# The return page: our fax reply's page with boxes for what a request still lacks
#
# It has the form's corner marks and QR position, so `recognise` registers it like a form page.
# Its QR code names the request and the fields it has boxes for (indexes into the form layout's
# field list); the boxes are the form's own specs (kind, cells, charset, width), placed one per
# row from RETURN_TOP down, so the payload alone says where every box is.

RETURN_ID = "COC-R"
RETURN_TOP = 170.0  # points from the top: where the first box's label row starts
RETURN_ROW = 64.0  # one field: its label, its box and two lines of help text
RETURN_BOTTOM = 738.0  # the last row ends above the bottom marks
_RETURN = re.compile(r"^COC-R\|(?P<ref>[A-Z]{2,10}-\d{4}-\d{6,})\|L(?P<layout>\d+)\|P(?P<page>\d+)/(?P<pages>\d+)"
                     r"\|(?P<fields>\d+(?:\.\d+)*)?$")


def return_payload(reference: str, layout_version: int, page: int, pages: int, paths: list[str]) -> str:
    """What a return page's QR code says: `COC-R|COC-2026-000123|L2|P1/1|3.7.12`."""
    index = {f.path: i for i, f in enumerate(layout(layout_version).fields)}
    return (f"{RETURN_ID}|{reference.upper()}|L{layout_version}|P{page}/{pages}|"
            + ".".join(str(index[p]) for p in paths))


def return_rows(layout_version: int) -> int:
    """How many boxes fit on one return page."""
    del layout_version  # one row height for every layout
    return int((RETURN_BOTTOM - RETURN_TOP) // RETURN_ROW)


def return_specs(layout_version: int, paths: list[str]) -> tuple[FieldSpec, ...]:
    """The boxes of a return page for these fields, in order: the form's specs, moved to their rows."""
    by_path = layout(layout_version).by_path()
    out = []
    for row, path in enumerate(paths):
        spec = by_path[path]
        y = RETURN_TOP + row * RETURN_ROW + 14.0  # the box's top, below its label
        dx = 60.0 - spec.x
        opts = tuple(Option(o.value, o.caption, o.x + dx, y + 4.0, o.size) for o in spec.options)
        out.append(FieldSpec(spec.path, spec.label, 1, 60.0, y, spec.w, spec.h, spec.kind, spec.max_chars,
                             spec.charset, opts))
    return tuple(out)


CODE_LINE = (126.0, 745.0, 556.0, 763.0)  # x0, y0, x1, y1 (points, from the top): the printed page code
_CODE = re.compile(r"COC-?R(?P<ref>[A-Z]{2,10}-\d{4}-\d{6,})(?P<layout>L\d+)(?P<page>P\d+/\d+)F(?P<fields>[\d.]*)"
                   r"C(?P<check>\d{3})")


def _check(payload: str) -> str:
    return f"{zlib.crc32(payload.encode('ascii')) % 1000:03d}"


def code_line(payload: str) -> str:
    """A return page's QR payload as a printed line with a check number, read by OCR when the QR
    code did not survive the fax: `COC-R COC-2026-000123 L2 P1/1 F3.7.12 C417`."""
    _id, ref, version, page, fields = payload.split("|")
    return f"{RETURN_ID} {ref} {version} {page} F{fields} C{_check(payload)}"


def parse_return_payload(text: str) -> tuple[str, int, int, int, list[str]] | None:
    """(reference, layout version, page, pages, field paths) of a return page's QR text, or None."""
    m = _RETURN.match(text.strip())
    if not m:
        return None
    try:
        fields = layout(int(m["layout"])).fields
        paths = [fields[int(i)].path for i in (m["fields"] or "").split(".") if i]
    except (ValueError, IndexError):
        return None
    return m["ref"], int(m["layout"]), int(m["page"]), int(m["pages"]), paths


def _px(v: float) -> int:
    """Points on the template as pixels of the registered page (READ_DPI)."""
    return round(v * READ_DPI / 72)
