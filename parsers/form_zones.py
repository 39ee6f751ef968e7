"""Our own request form: its field layout as data, and the reader of printed-and-faxed copies.

One list of field specs drives the PDF (`intake.form`), its AcroForm fields and this zone reader,
so the three can never disagree about where a field is. A faxed page is recognised by its QR code
(form id, edition, layout version, page), registered to the template from the four solid corner
marks (rotation, skew, scale and the 2:1 stretch of 204x98 faxes are one homography), and each
field box is read on its own. A value's provenance box is the template box carried back through
that registration (`FormPage.shown_box`): the review page outlines it on the page as received.
Tesseract runs once per character class for all pages of a file: the crops of one class (digits
only for SSN, EIN and dates; phone and ZIP characters; letters; free text) are stacked into one
strip image, read with that class's whitelist and split back by row, several times faster than one
Tesseract process per field. A box read with less than `SURE` confidence, or whose reading does not
fit the box (digit count, date, e-mail, a zero among letters), is read twice more, enlarged; only
three unanimous, fitting readings are taken without a flag. Everything else keeps the best reading,
`uncertain`.
A `T` is checked for the foot of a typewriter's serif `I` (Tesseract confuses the two, sure of
itself). Measured on the 100 generated faxes of tests/test_form.py: 99.84% of fields right (92%
right and unflagged), none wrong without a flag, 0.8 s per page.
Our fax reply's return page (`intake.returnpage`) is read the same way: its QR code (or, lost in
the fax, its printed page code with a check number) names the request and the form fields it has
boxes for, and `return_specs` places those boxes as the page drew them.
"""

from __future__ import annotations

import logging
import os
import re
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal, NamedTuple

import cv2
import numpy as np
import pytesseract
from PIL import Image

from parsers import form_glyphs, values
from parsers.types import Box, Candidate, Provenance

log = logging.getLogger(__name__)

os.environ["OMP_THREAD_LIMIT"] = "1"  # one Tesseract per core; its threads only fight each other

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
SECOND_SCALES = (1.5, 2.0)  # enlargements of the further readings of a doubtful box
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


def _read_code_line(page: np.ndarray) -> str | None:
    """The payload of a registered page's printed page code, or None (no code, or a check that fails:
    a digit misread in the field list would put values in the wrong fields, so it is never guessed)."""
    x0, y0, x1, y1 = CODE_LINE
    crop = page[_px(y0):_px(y1), _px(x0):_px(x1)]
    config = '--psm 7 -c "tessedit_char_whitelist=ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-./ "'
    try:
        text = pytesseract.image_to_string(Image.fromarray(crop), lang="eng", config=config)
    except (RuntimeError, OSError, pytesseract.TesseractError):
        return None
    m = _CODE.search(text.replace(" ", ""))
    if not m:
        return None
    payload = f"{RETURN_ID}|{m['ref']}|{m['layout']}|{m['page']}|{m['fields']}"
    return payload if _check(payload) == m["check"] else None


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


# ---------------------------------------------------------------------------------------------
# Reading a faxed or scanned page


@dataclass
class FormPage:
    """A page recognised as our form, registered to the template at READ_DPI (0 ink, 255 paper)."""

    form_id: str
    edition: str
    layout_version: int
    page: int
    image: np.ndarray
    upside_down: bool = False
    reference: str | None = None  # a return page: the request it answers
    specs: tuple[FieldSpec, ...] | None = None  # a return page: its boxes (else the layout's page)
    # Registered pixels -> pixels of the page as received (3x3), and that image's size: the review
    # page shows the page as received, so a field's box must be outlined there, skew and all.
    to_image: np.ndarray | None = None
    image_size: tuple[int, int] | None = None

    @property
    def edition_code(self) -> str:
        return edition_code(self.edition)

    def shown_box(self, box: Box) -> Box:
        """A box in template fractions as fractions of the page image as received (and shown).

        The box's four corners are carried back through the registration (homography, and the
        half turn of a page fed upside down); the result is their axis-aligned bounding box, so on
        a skewed page it holds the whole tilted box. Without a transform the box is kept.
        """
        if self.to_image is None or self.image_size is None:
            return box
        s = READ_DPI / 72
        xs, ys = (box.x0 * PAGE_W * s, box.x1 * PAGE_W * s), (box.y0 * PAGE_H * s, box.y1 * PAGE_H * s)
        corners = np.array([[[x, y] for x in xs for y in ys]], dtype=np.float64)
        mapped = cv2.perspectiveTransform(corners, self.to_image)[0]
        w, h = self.image_size
        x0, y0 = mapped.min(axis=0)
        x1, y1 = mapped.max(axis=0)
        return Box(x0=max(0.0, float(x0) / w), y0=max(0.0, float(y0) / h),
                   x1=min(1.0, float(x1) / w), y1=min(1.0, float(y1) / h))

    @property
    def label(self) -> str:
        """Where a value was read, for provenance: `COC-1 (2026-11) page 2`, `return page COC-2026-000123`."""
        if self.reference:
            return f"return page {self.reference}" + (f" page {self.page}" if self.page > 1 else "")
        return f"{self.edition_code} page {self.page}"


def _dpi(image: Image.Image) -> tuple[float, float]:
    raw = image.info.get("dpi")
    try:
        x, y = float(raw[0]), float(raw[1])  # type: ignore[index]
        if 20 <= x <= 2400 and 20 <= y <= 2400:
            return x, y
    except (TypeError, ValueError, IndexError):
        pass
    return image.width / (PAGE_W / 72), image.height / (PAGE_H / 72)


def _find_marks(gray: np.ndarray, dpi: tuple[float, float]) -> np.ndarray | None:
    """Centres (x, y pixels) of the four corner marks, or None when the page has no such marks.

    A mark is a solid, roughly square blob of the expected size nearest its corner of the image;
    the QR code's finder patterns are hollow and the text is smaller, so neither passes.
    """
    ink = (gray < 128).astype(np.uint8)
    _n, _labels, stats, cents = cv2.connectedComponentsWithStats(ink, connectivity=8)
    ew, eh = MARK_SIZE / 72 * dpi[0], MARK_SIZE / 72 * dpi[1]
    w, h = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    area = stats[:, cv2.CC_STAT_AREA]
    ok = (w >= 0.7 * ew) & (w <= 1.45 * ew) & (h >= 0.7 * eh) & (h <= 1.45 * eh) & (area >= 0.7 * w * h)
    ok[0] = False
    idx = np.nonzero(ok)[0]
    if len(idx) < 4:
        return None
    H, W = gray.shape
    pts = cents[idx]
    out = []
    for cx, cy in ((0, 0), (W, 0), (0, H), (W, H)):
        d = np.hypot(pts[:, 0] - cx, pts[:, 1] - cy)
        best = int(np.argmin(d))
        px, py = pts[best]
        if abs(px - cx) > 0.25 * W or abs(py - cy) > 0.25 * H:
            return None
        out.append((px, py))
    arr = np.array(out, dtype=np.float32)
    # The four must span the template's rectangle (in inches), or they are not our marks.
    (tlx, tly), (trx, try_), (blx, bly), _ = arr
    across = np.hypot((trx - tlx) / dpi[0], (try_ - tly) / dpi[1]) * 72
    down = np.hypot((blx - tlx) / dpi[0], (bly - tly) / dpi[1]) * 72
    want_a = PAGE_W - 2 * (MARK_INSET + MARK_SIZE / 2)
    want_d = PAGE_H - 2 * (MARK_INSET + MARK_SIZE / 2)
    if not (0.85 < across / want_a < 1.15 and 0.85 < down / want_d < 1.15):
        return None
    return arr


def _decode_qr(region: np.ndarray) -> str | None:
    from pyzbar import pyzbar  # noqa: PLC0415 - loads libzbar; only needed for faxed pages

    for img in (region, cv2.medianBlur(region, 3)):
        for sym in pyzbar.decode(Image.fromarray(img), symbols=[pyzbar.ZBarSymbol.QRCODE]):
            text = sym.data.decode("ascii", errors="replace")
            if _PAYLOAD.match(text) or _RETURN.match(text):
                return text
    return None


def _qr_region(page: np.ndarray) -> np.ndarray:
    s = READ_DPI / 72
    m = 14.0
    x0, y0, x1, y1 = QR_BOX
    return page[int((y0 - m) * s): int((y1 + m) * s), int((x0 - m) * s): int((x1 + m) * s)]


def recognise(image: Image.Image) -> FormPage | None:
    """The page registered to our template if it is one of our form's pages, else None.

    Cheap on other pages: without four corner marks no QR code is looked for.
    """
    gray = np.asarray(image.convert("L"))
    dpi = _dpi(image)
    marks = _find_marks(gray, dpi)
    used = dpi
    by_size = (image.width / (PAGE_W / 72), image.height / (PAGE_H / 72))
    if marks is None and max(abs(a / b - 1) for a, b in zip(dpi, by_size, strict=True)) > 0.2:
        # A resolution tag that does not fit the page (a TIFF writer copied the first page's to
        # all): the page's size in pixels says what it really is.
        marks, used = _find_marks(gray, by_size), by_size
    if marks is None:
        return None
    s = READ_DPI / 72
    target = np.array([(x * s, y * s) for x, y in mark_centers()], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(marks, target)
    size = (round(PAGE_W * s), round(PAGE_H * s))
    warped = cv2.warpPerspective(gray, matrix, size, flags=cv2.INTER_LINEAR, borderValue=255)
    to_received = np.linalg.inv(matrix.astype(np.float64))
    half_turn = np.array([[-1.0, 0.0, size[0] - 1.0], [0.0, -1.0, size[1] - 1.0], [0.0, 0.0, 1.0]])

    received = (gray.shape[1], gray.shape[0])

    def shown(upside_down: bool) -> np.ndarray:
        """The transform back to the page as received, for `FormPage.shown_box`."""
        return to_received @ half_turn if upside_down else to_received

    # Kept gray: the edges interpolated from a coarse fax are smoother than any threshold of
    # them, and Tesseract's LSTM reads gray lines; ink tests threshold at 128 themselves.
    for upside_down in (False, True):
        page = np.ascontiguousarray(warped[::-1, ::-1]) if upside_down else warped
        text = _decode_qr(_qr_region(page))
        if text:
            # Speckle is one or two of the fax's own pixels: its size here follows from the scale.
            pixel = (READ_DPI / used[0]) * (READ_DPI / used[1])
            clean = _despeckle(page, max(2, round(2 * pixel)))
            back = parse_return_payload(text)
            if back is not None:
                ref, version, number, _pages, paths = back
                return FormPage(RETURN_ID, "", version, number, clean, upside_down, ref,
                                return_specs(version, paths), to_image=shown(upside_down), image_size=received)
            m = _PAYLOAD.match(text)
            if m is None:
                continue
            return FormPage(m["form"], m["ed"], int(m["layout"]), int(m["page"]), clean, upside_down,
                            to_image=shown(upside_down), image_size=received)
    # No QR code survived: a return page still says what it is in its printed page code.
    for upside_down in (False, True):
        page = np.ascontiguousarray(warped[::-1, ::-1]) if upside_down else warped
        code = _read_code_line(page)
        back = parse_return_payload(code) if code else None
        if back is not None:
            ref, version, number, _pages, paths = back
            pixel = (READ_DPI / used[0]) * (READ_DPI / used[1])
            return FormPage(RETURN_ID, "", version, number, _despeckle(page, max(2, round(2 * pixel))), upside_down,
                            ref, return_specs(version, paths), to_image=shown(upside_down), image_size=received)
    return None


def _despeckle(page: np.ndarray, max_area: int = 6) -> np.ndarray:
    """Remove fax speckle: ink blobs of a few pixels (a printed full stop is bigger)."""
    ink = (page < 160).astype(np.uint8)
    _n, labels, stats, _c = cv2.connectedComponentsWithStats(ink, connectivity=8)
    small = stats[:, cv2.CC_STAT_AREA] <= max_area
    small[0] = False
    if not small.any():
        return page
    out = page.copy()
    out[small[labels]] = 255
    return out


@dataclass
class _Crop:
    spec: FieldSpec
    image: np.ndarray  # 0 ink, 255 paper
    chars: int = 0  # for combs: how many cells have ink, so how many characters must be read


@dataclass
class _Read:
    text: str = ""
    conf: float = 1.0
    words: list[str] = field(default_factory=list)


def _px(v: float) -> int:
    return round(v * READ_DPI / 72)


def _field_crop(page: np.ndarray, spec: FieldSpec) -> np.ndarray:
    """The inside of a field's box without its printed lines.

    A comb or date is cut into its cells (separator cells left out), each cell trimmed to its ink
    and the characters set side by side like one typed word: Tesseract reads a word far better
    than digits spread over boxes (it took box gaps for missing or extra characters).
    """
    inset = 2.2
    y0, y1 = _px(spec.y + inset), _px(spec.y + spec.h - inset)
    if spec.kind not in ("comb", "date"):
        # A viewer sets typed text 2 points from the box's left edge, and the tail of a `j` or the
        # foot of a `f` reaches further: cut close to the sides, then erase what is left of them.
        side = 1.0
        crop = page[y0:y1, _px(spec.x + side):_px(spec.x + spec.w - side)].copy()
        return _drop_inner_dots(_drop_side_lines(crop))
    wall = 2.4
    pieces: list[np.ndarray] = []  # each inked cell, then a gap
    gap = np.full((y1 - y0, 6), 255, dtype=np.uint8)
    for i in range(spec.cells):
        if spec.kind == "date" and i in _DATE_SEPARATORS:
            continue
        cell = page[y0:y1, _px(spec.x + i * CELL_W + wall):_px(spec.x + (i + 1) * CELL_W - wall)]
        cell = _drop_inner_dots(cell)
        cols = np.nonzero((cell < 128).sum(axis=0) >= 1)[0]
        if len(cols) == 0:
            continue
        pieces += [cell[:, cols[0]:cols[-1] + 1], gap]
    if not pieces:
        return np.full((y1 - y0, 8), 255, dtype=np.uint8)
    return np.concatenate([gap, gap, *pieces, gap], axis=1)


def _drop_side_lines(crop: np.ndarray) -> np.ndarray:
    """Erase ink touching the crop's left or right side that runs most of its height: the box's
    own edge, not a character (a character there is shorter, or does not touch the side)."""
    ink = (crop < 128).astype(np.uint8)
    count, labels, stats, _c = cv2.connectedComponentsWithStats(ink, connectivity=8)
    height, width = crop.shape
    for k in range(1, count):
        x, _y, w, h, _area = stats[k]
        if (x == 0 or x + w >= width) and h >= 0.7 * height and w <= 0.25 * height:
            crop[labels == k] = 255
    return crop


def _drop_inner_dots(cell: np.ndarray) -> np.ndarray:
    """Erase small blobs enclosed by a character's outline: the dot of a dotted zero.

    Typewriter and monospaced fonts dot their zeros; with the dot Tesseract reads 0 as 6, 8 or 9.
    No capital letter or digit has a separate small piece inside another's outline, so nothing
    else is lost.
    """
    ink = (cell < 128).astype(np.uint8)
    count, labels, stats, _c = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if count < 3:
        return cell
    out = cell
    big = [k for k in range(1, count) if stats[k, cv2.CC_STAT_AREA] >= 20]
    for k in range(1, count):
        x, y, w, h, area = stats[k]
        for j in big:
            bx, by, bw, bh, barea = stats[j]
            if j != k and area < 0.2 * barea and x > bx and y > by and x + w < bx + bw and y + h < by + bh:
                if out is cell:
                    out = cell.copy()
                out[labels == k] = 255
                break
    return out


def _inked_cells(page: np.ndarray, spec: FieldSpec) -> int:
    """How many character cells of a comb hold a character (0 for free text boxes)."""
    if spec.kind not in ("comb", "date"):
        return 0
    inset = 2.4
    y0, y1 = _px(spec.y + inset), _px(spec.y + spec.h - inset)
    n = 0
    for i in range(spec.cells):
        if spec.kind == "date" and i in _DATE_SEPARATORS:
            continue
        cell = page[y0:y1, _px(spec.x + i * CELL_W + inset):_px(spec.x + (i + 1) * CELL_W - inset)]
        n += int(_ink(cell) >= MIN_INK_PIXELS // 2)
    return n


def _ink(crop: np.ndarray) -> int:
    return int((crop < 128).sum())


def _has_stroke(crop: np.ndarray) -> bool:
    """A lone small letter (`j`, `i`, `l` typed in a viewer's small font) has less ink than
    `MIN_INK_PIXELS` but is one stroke half the box high, clear of its sides; speckle is not."""
    ink = (crop < 128).astype(np.uint8)
    count, _labels, stats, _c = cv2.connectedComponentsWithStats(ink, connectivity=8)
    width = crop.shape[1]
    return any(h >= 0.4 * crop.shape[0] and area >= 10 and x > 2 and x + w < width - 2
               for x, _y, w, h, area in stats[1:count])


def _tick(page: np.ndarray, opt: Option) -> float:
    inset = 2.0
    crop = page[_px(opt.y + inset): _px(opt.y + opt.size - inset), _px(opt.x + inset): _px(opt.x + opt.size - inset)]
    return float((crop < 128).mean()) if crop.size else 0.0


def _strip(crops: list[_Crop]) -> tuple[Image.Image, list[tuple[int, int]]]:
    """Stack crops into one image, one per row with paper between; returns the row spans."""
    gap, margin = 18, 24
    width = max(c.image.shape[1] for c in crops) + 2 * margin
    height = sum(c.image.shape[0] + gap for c in crops) + gap
    strip = np.full((height, width), 255, dtype=np.uint8)
    spans: list[tuple[int, int]] = []
    y = gap
    for c in crops:
        h, w = c.image.shape
        strip[y:y + h, margin:margin + w] = c.image
        spans.append((y, y + h))
        y += h + gap
    return Image.fromarray(strip, mode="L"), spans


def _ocr_strip(crops: list[_Crop], whitelist: str, scale: float = 1.0) -> list[_Read]:
    """One Tesseract run over the stacked crops of one character class; words go back by row.

    `scale` != 1 reads an enlarged copy: a second, partly independent reading to check the first.
    """
    image, spans = _strip(crops)
    if scale != 1.0:
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.BICUBIC)
        spans = [(round(a * scale), round(b * scale)) for a, b in spans]
    # The space must be whitelisted too, or Tesseract's LSTM runs the words of a line together.
    config = f'--psm 6 --dpi {round(READ_DPI * scale)} -c "tessedit_char_whitelist={whitelist} "'
    data = pytesseract.image_to_data(image, lang="eng", config=config, output_type=pytesseract.Output.DICT)
    found: list[list[tuple[int, str, float]]] = [[] for _ in crops]
    for i, raw in enumerate(data["text"]):
        text = str(raw).strip()
        conf = float(str(data["conf"][i]))
        if not text or conf < 0:
            continue
        top, height = int(str(data["top"][i])), int(str(data["height"][i]))
        mid = top + height / 2
        for row, (a, b) in enumerate(spans):
            if a - 4 * scale <= mid <= b + 4 * scale:
                found[row].append((int(str(data["left"][i])), text, conf / 100))
                break
    out = []
    for words in found:
        words.sort()
        out.append(_Read(" ".join(w for _, w, _ in words), min((c for _, _, c in words), default=0.0),
                         [w for _, w, _ in words]))
    return out


_TALL = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@&#/")


def _glyphs(image: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Boxes (x0, y0, x1, y1) of the full-height characters, left to right.

    Ink blobs of one column are joined (a letter broken by the fax); stops, commas, dashes and
    speckle are left out by their height, since capitals and digits share one height.
    """
    ink = (image < 128).astype(np.uint8)
    count, _labels, stats, _c = cv2.connectedComponentsWithStats(ink, connectivity=8)
    boxes = sorted((int(x), int(y), int(x + w), int(y + h)) for x, y, w, h, area in stats[1:count] if area >= 8)
    joined: list[tuple[int, int, int, int]] = []
    for b in boxes:
        if joined:
            a = joined[-1]
            overlap = min(a[2], b[2]) - max(a[0], b[0])
            if overlap > 0.5 * min(a[2] - a[0], b[2] - b[0]):
                joined[-1] = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                continue
        joined.append(b)
    if not joined:
        return []
    tallest = max(b[3] - b[1] for b in joined)
    return [b for b in joined if b[3] - b[1] >= 0.6 * tallest]


def _looks_like_serif_i(image: np.ndarray, box: tuple[int, int, int, int]) -> bool:
    """A foot as wide as the head and wider than the stem: the I of typewriter fonts, not a T."""
    x0, y0, x1, y1 = box
    glyph = image[y0:y1, x0:x1] < 128
    band = max(1, (y1 - y0) // 6)
    mid = (y1 - y0) // 2
    top_cols = glyph[:band].any(axis=0)
    top, foot = int(top_cols.sum()), int(glyph[-band:].any(axis=0).sum())
    mid_cols = np.nonzero(glyph[mid - band // 2: mid + band // 2 + 1].any(axis=0))[0]
    stem = int(mid_cols[-1] - mid_cols[0] + 1) if len(mid_cols) else 0  # span: an O is wide here
    solid = top > 0 and int(np.diff(top_cols.astype(np.int8)).clip(min=0).sum()) <= 1  # one bar, not an X
    return solid and 0.7 * top <= foot <= 1.4 * top and foot >= 1.8 * max(1, stem)  # not an L either


def _serif_i(crop: _Crop, read: _Read) -> tuple[_Read, str | None]:
    """Check every `T` read: a serif `I` (typewriter fonts) has a foot as wide as its head.

    Tesseract reads the serif I of monospaced fonts as T, sure of itself (96%) on 204x98 faxes.
    When the full-height ink blobs line up with the characters read, a `T` whose foot is as wide
    as its head (and wider than its stem) becomes `I`, flagged; when they do not line up, the `T`
    cannot be checked and is flagged.
    """
    tall = [i for i, c in enumerate(read.text) if c in _TALL]
    boxes = _glyphs(crop.image)
    if len(boxes) != len(tall):
        # Blobs and characters do not line up (letters touching): if no blob has the shape of a
        # serif I, or every such blob was read as an I, the Ts read are Ts.
        shaped = sum(_looks_like_serif_i(crop.image, b) for b in boxes)
        if shaped <= read.text.count("I"):
            return read, None
        return read, "T or I? (the characters could not be checked one by one)"
    out = list(read.text)
    changed = False
    for i, box in zip(tall, boxes, strict=True):
        if out[i] == "T" and _looks_like_serif_i(crop.image, box):
            out[i], changed = "I", True
    if not changed:
        return read, None
    text = "".join(out)
    return _Read(text, read.conf, text.split()), "I or T? (a T with a foot)"


def _fits(crop: _Crop, read: _Read) -> bool:
    """The reading has the shape its box asks for and normalises without doubt."""
    spec = crop.spec
    raw, doubt = _value(spec, read, crop.chars)
    if doubt or _doubt(spec, read.text) or not raw:
        return False
    try:
        return values.normalize(spec.path, raw)[1] is None
    except Exception:  # noqa: BLE001 - an odd reading is simply not a fitting one
        return False


def _read_twice(crops: list[_Crop], whitelist: str) -> list[tuple[_Read, str | None]]:
    """Each crop's reading and a doubt, or None when the reading can be trusted.

    A reading Tesseract is sure of (`SURE`) and whose shape fits its box is taken. The others are
    read again, enlarged 1.5 and 2 times: when two of the readings agree, fit the box and neither
    is a mere guess (`AGREE_FLOOR`), that value is taken. Otherwise the box goes to staff with the
    best fitting reading: shown, never taken silently.
    """
    try:
        first = _ocr_strip(crops, whitelist)
    except (RuntimeError, OSError) as exc:  # Tesseract failed: every inked box goes to staff
        log.warning("form zone OCR failed: %s", type(exc).__name__)
        return [(_Read(), "the box could not be read") for _ in crops]
    out: list[tuple[_Read, str | None]] = [(r, None) for r in first]
    readings: dict[int, list[_Read]] = {
        i: [r] for i, (c, r) in enumerate(zip(crops, first, strict=True)) if r.conf < SURE or not _fits(c, r)
    }
    for scale in SECOND_SCALES:
        again = list(readings)
        if not again:
            break
        try:
            more = _ocr_strip([crops[i] for i in again], whitelist, scale=scale)
        except (RuntimeError, OSError) as exc:
            log.warning("form zone OCR (another reading) failed: %s", type(exc).__name__)
            break
        for i, r in zip(again, more, strict=True):
            readings[i].append(r)
    for i, rs in readings.items():
        agreed = _agreed(crops[i], rs)
        if agreed is not None:
            out[i] = (agreed, None)
            continue
        fitting = [r for r in rs if _fits(crops[i], r)] or rs
        votes = {_squash(r.text): sum(_squash(x.text) == _squash(r.text) for x in fitting) for r in fitting}
        best = max(fitting, key=lambda r: (votes[_squash(r.text)], r is rs[0], r.conf))
        texts = {_squash(r.text) for r in rs}
        out[i] = (best, "readings of the box differ" if len(texts) > 1 else f"read with {best.conf:.0%} confidence")
    return out


def _agreed(crop: _Crop, readings: list[_Read]) -> _Read | None:
    """The value when every reading (all three) agrees, fits the box and none is a guess; else None.

    Readings of one image by one engine are not independent: two out of three agreeing was
    measured to let wrong digits through, so only unanimity rescues a doubtful box.
    """
    if len(readings) < 1 + len(SECOND_SCALES):
        return None
    a = readings[0]
    if all(_squash(r.text) == _squash(a.text) for r in readings) and min(r.conf for r in readings) >= AGREE_FLOOR \
            and _fits(crop, a):
        return _Read(a.text, max(r.conf for r in readings), a.words)
    return None


def _squash(text: str) -> str:
    return text.replace(" ", "")


_LONE_ZERO = re.compile(r"(?<![0-9A-Za-z])0(?![0-9A-Za-z])")
_STRAY = re.compile(r"[-.,/]{1,2}")
_STOP_AFTER_WORD = re.compile(r"[A-Za-z]{2}\.")  # names: only an initial takes a full stop
_STOP_AFTER_NUMBER = re.compile(r"\d[.,](?:\s|$)")  # `3177. PARK ROAD`


_I_AFTER_LOWER = re.compile(r"(?<=[a-z])I")  # `NordIicht`: a capital never follows a small letter
_L_IN_CAPITALS = re.compile(r"(?<=[A-Z])l(?=[A-Z])|(?<![A-Za-z])l(?=[A-Z]{2})")  # `WlLLIAMS`, `lVERS`
_INITIAL_IL = re.compile(r"(?<![A-Za-z])[Il]+(?=[a-z])")  # `Itd` for `ltd`, `lnc` for `Inc`, `IIc`
_IL_WORD = re.compile(r"(?<![A-Za-z])[Il]+[a-z][A-Za-z]*")
_WORD_START = re.compile(r"(?<![A-Za-z])[A-Za-z]")


def _i_or_l(text: str) -> tuple[str, str | None]:
    """A capital I and a small l are the same stroke in most sans fonts, and Tesseract picks one.

    Typed in mixed or lower case, the letters around it tell: a capital after a small letter is an
    l (`NordIicht`), a small l among capitals is an I. A word that starts with either and goes on
    in small letters takes the case the other words start with (`nordlicht co Itd` -> `ltd`,
    `Northwind Analytics lnc` -> `Inc`); alone, it could be either (`Ivers`, `lindqvist`).
    Every reading changed, or left undecided, is flagged.
    """
    doubt = None
    fixed = _I_AFTER_LOWER.sub("l", text)
    fixed = _L_IN_CAPITALS.sub("I", fixed)
    if fixed != text:
        doubt = "a capital I or a small l?"
    if _INITIAL_IL.search(fixed):
        others = [m.group() for m in _WORD_START.finditer(_IL_WORD.sub(" ", fixed))]
        upper = sum(c.isupper() for c in others)
        lower = len(others) - upper
        if upper > lower:  # `Inc`; a second one is small (`Illinois`)
            changed = _INITIAL_IL.sub(lambda m: "I" + "l" * (len(m.group()) - 1), fixed)
        elif lower > upper:
            changed = _INITIAL_IL.sub(lambda m: "l" * len(m.group()), fixed)
        else:
            return fixed, "a capital I or a small l?"
        if changed != fixed:
            fixed, doubt = changed, "a capital I or a small l?"
    return fixed, doubt


def _value(spec: FieldSpec, read: _Read, chars: int = 0) -> tuple[str, str | None]:
    """The raw value to normalise from what was read, and a doubt if its shape is wrong."""
    text, case_doubt = _i_or_l(read.text) if spec.charset != "digits" else (read.text, None)
    raw, doubt = _shaped(spec, text, chars)
    return raw, doubt or case_doubt


def _shaped(spec: FieldSpec, text: str, chars: int) -> tuple[str, str | None]:
    if spec.kind in ("comb", "date"):
        joined = text.replace(" ", "")
        if spec.charset == "digits":
            if not joined.isdigit() or len(joined) != spec.max_chars:
                return joined, f"{len(joined)} digits read where {spec.max_chars} were expected"
            if spec.kind == "date":
                return f"{joined[:2]}/{joined[2:4]}/{joined[4:]}", None
            return joined, None
        if len(joined) != chars:
            return joined, f"{len(joined)} characters read from {chars} boxes"
        if "l" in joined or ("I" in joined and joined.upper() != joined):
            return joined.upper(), "a capital I or a small l?"  # `lT`: a code typed in small letters
        return joined.upper(), None
    if not text:
        return "", "ink in the box but nothing could be read"
    if spec.path.endswith("email"):
        squashed = text.replace(" ", "")
        if "," in squashed:  # a comma is never in an address: a full stop read badly
            return squashed.replace(",", "."), "a comma read in an e-mail address"
        if squashed.strip("-._+/&#") != squashed:  # `-HR@x.com`: the box's edge, not the address
            return squashed.strip("-._+/&#"), "a stray mark beside the e-mail address"
        return squashed, None
    doubts: list[str] = []
    words = text.split()
    if len(words) > 1 and any(_STRAY.fullmatch(w) for w in words):
        text = " ".join(w for w in words if not _STRAY.fullmatch(w))  # `DENVER, CO -`: a mark, not text
        doubts.append("a stray mark beside the text")
    if spec.charset in ("alpha", "place") and text[-1:] in ("-", ","):
        text = text[:-1].rstrip()  # `CO-`: a name or place never ends in a dash or comma
        doubts.append("a stray mark after the text")
    elif spec.charset == "place" and re.search(r"(?<![.A-Za-z])[A-Za-z]{2}\.$", text) and "," in text:
        text = text[:-1]  # `COLUMBUS, OH.`: a state code takes no full stop (`D.C.` keeps its own)
        doubts.append("a stray mark after the text")
    if spec.charset == "text" and text.endswith(","):
        text = text[:-1] + "."  # `ROBOTICS INC,`: no value ends in a comma; a full stop read badly
        doubts.append("a comma read at the end (a full stop?)")
    if spec.charset == "text" and re.search(r"[A-Za-z]", text) and _LONE_ZERO.search(text):
        # `SP. Z 0.0.`: a zero alone between stops in words is the letter O; say so, don't decide.
        text = _LONE_ZERO.sub("O", text)
        doubts.append("a letter O or a zero?")
    if spec.charset == "alpha" and _STOP_AFTER_WORD.search(text):
        doubts.append("a full stop after a name (speckle?)")
    if spec.charset == "text" and _STOP_AFTER_NUMBER.search(text):
        doubts.append("a full stop after a number (speckle?)")
    if doubts:
        return text, "; ".join(doubts)
    if spec.charset == "text" and re.search(r"@", text) and not spec.path.endswith("email"):
        return text, "unexpected characters"
    return text, None


# Tesseract runs once per class for all the pages of a file: its start-up (loading the model)
# costs as much as reading a strip, so fewer, longer strips are faster. SSN, EIN and dates get a
# run of their own with digits only (Tesseract cannot answer a speck with `.` or a `-` there);
# phones and ZIP codes, which hold `-()+.`, get theirs.
_CALL_CLASSES: dict[str, str] = {"digits": "digits", "num": "num", "alpha": "alpha", "place": "alpha",
                                 "text": "text"}
_CALL_WHITELIST = {"digits": WHITELISTS["digits"], "num": WHITELISTS["num"], "alpha": WHITELISTS["place"],
                   "text": WHITELISTS["text"]}
_ALLOWED = {k: set(v) | {" "} for k, v in WHITELISTS.items()}


def ocr_whitelist(spec: FieldSpec) -> str:
    """The characters Tesseract may answer for a box: digits only for SSN, EIN and dates."""
    return _CALL_WHITELIST[_CALL_CLASSES[spec.charset]]


def _doubt(spec: FieldSpec, raw: str) -> str | None:
    """Characters the field cannot hold (a digit in a name, a letter in an SSN): for staff."""
    if set(raw) - _ALLOWED[spec.charset]:
        return "characters this box cannot hold were read"
    return None


def read_page(fp: FormPage, part: str, page_number: int) -> list[Candidate]:
    """Candidates for every filled field of one registered page (see `read_pages`)."""
    return read_pages([(fp, part, page_number)])[0]


def read_pages(pages: list[tuple[FormPage, str, int]]) -> list[list[Candidate]]:
    """Candidates for every filled field of registered pages (method `ocr`), one list per page.

    Empty boxes give no candidate; a box with ink that could not be read with confidence gives
    one marked `uncertain`, never a silent guess.
    """
    results: list[list[Candidate]] = [[] for _ in pages]
    by_call: dict[str, list[tuple[int, _Crop]]] = {}
    page_specs: list[list[FieldSpec]] = []
    for index, (fp, part, number) in enumerate(pages):
        try:
            specs = list(fp.specs) if fp.specs is not None else \
                [f for f in layout(fp.layout_version).fields if f.page == fp.page]
        except ValueError:
            specs = []
        page_specs.append(specs)
        for spec in specs:
            if spec.kind == "choice":
                _read_choice(fp, spec, part, number, results[index])
                continue
            pixels = _field_crop(fp.image, spec)
            if _ink(pixels) < MIN_INK_PIXELS and not _has_stroke(pixels):
                continue
            crop = _Crop(spec, pixels, _inked_cells(fp.image, spec))
            by_call.setdefault(_CALL_CLASSES[spec.charset], []).append((index, crop))
    for call, items in by_call.items():
        crops = [c for _, c in items]
        reads = _read_twice(crops, ocr_whitelist(crops[0].spec))  # one call class: one whitelist
        for (index, crop), (read, doubt) in zip(items, reads, strict=True):
            fp, part, number = pages[index]
            if call not in ("digits", "num") and "T" in read.text:
                read, serif = _serif_i(crop, read)
                doubt = doubt or serif
            if call not in ("digits", "num"):  # typed in small letters: an `l` read as `i`?
                text, thin = form_glyphs.i_or_l(crop.image, read.text)
                if thin:
                    read, doubt = _Read(text, read.conf, text.split()), doubt or thin
            raw, shape = _value(crop.spec, read, crop.chars)
            doubt = doubt or shape or _doubt(crop.spec, read.text)
            _add(fp, crop.spec, part, number, raw or "?", read.conf, doubt, results[index])
    for index, specs in enumerate(page_specs):
        order = {s.path: i for i, s in enumerate(specs)}
        results[index].sort(key=lambda c: order.get(c.field, 0))
    return results


def _add(fp: FormPage, spec: FieldSpec, part: str, number: int, raw: str, conf: float,
         doubt: str | None, out: list[Candidate]) -> None:
    try:
        pairs, uncertain = values.normalize(spec.path, raw)
    except Exception:  # noqa: BLE001 - an odd reading must not lose the page
        pairs, uncertain = [(spec.path, raw)], "could not be normalised"
    if doubt is None and uncertain:
        doubt = uncertain
    if doubt is None and conf < LOW_CONFIDENCE:
        doubt = f"read with {conf:.0%} confidence"
    prov = Provenance(part=part, page=number, box=fp.shown_box(spec.box()), method="ocr",
                      label=fp.label)
    for path, value in pairs:
        out.append(Candidate(field=path, value=value, raw=raw, confidence=round(conf, 3),
                             provenance=prov, uncertain=doubt))


def _read_choice(fp: FormPage, spec: FieldSpec, part: str, number: int, out: list[Candidate]) -> None:
    """Tick boxes by their ink: one clearly ticked box is the value; anything else is for staff."""
    ratios = [(_tick(fp.image, o), o) for o in spec.options]
    ticked = [o for r, o in ratios if r >= TICK_RATIO]
    faint = [o for r, o in ratios if TICK_DOUBT <= r < TICK_RATIO]
    if len(ticked) == 1 and not faint:
        _add(fp, spec, part, number, ticked[0].value, 1.0, None, out)
    elif ticked or faint:
        why = "more than one box ticked" if len(ticked) > 1 else "a faint mark in a box"
        _add(fp, spec, part, number, (ticked or faint)[0].value, 0.5, why, out)


def group_forms(pages: list[tuple[int, FormPage]]) -> list[list[tuple[int, FormPage]]]:
    """Split recognised pages into form copies: a page number that does not go up starts a new one."""
    groups: list[list[tuple[int, FormPage]]] = []
    for n, fp in pages:
        last = groups[-1][-1][1] if groups else None
        if last is None or fp.page <= last.page or fp.edition != last.edition or fp.reference != last.reference:
            groups.append([])
        groups[-1].append((n, fp))
    return groups


class FoundForms(NamedTuple):
    """Our pages among a file's: records per form copy, the first copy's edition, the 0-based
    indexes of our pages (form or return page), and the requests the return pages answer."""

    records: list[list[Candidate]]
    edition: str | None
    indexes: set[int]
    references: list[str]


def read_form_images(images: list[Image.Image], part: str) -> FoundForms:
    """Find our form's pages (and our return pages) among a file's page images and read them.

    One record per form copy (two forms in one fax are two requests) or return page; the caller
    reads the other pages the generic way.
    """
    found: list[tuple[int, FormPage]] = []
    for index, image in enumerate(images):
        fp = recognise_safely(image, index + 1)
        if fp is not None:
            found.append((index, fp))
    return read_found(found, part)


def recognise_safely(image: Image.Image, number: int) -> FormPage | None:
    """`recognise`, with a failure logged and taken as "not our form" (the page is then OCRed)."""
    try:
        return recognise(image)
    except Exception as exc:  # noqa: BLE001 - a page that breaks the recogniser is read the generic way
        log.warning("form recognition failed on page %d: %s", number, type(exc).__name__)
        return None


def read_found(found: list[tuple[int, FormPage]], part: str) -> FoundForms:
    """Read recognised pages (0-based page index, page)."""
    if not found:
        return FoundForms([], None, set(), [])
    reads = read_pages([(fp, part, index + 1) for index, fp in found])
    by_index = {index: cands for (index, _fp), cands in zip(found, reads, strict=True)}
    records = [[c for index, _fp in copy for c in by_index[index]] for copy in group_forms(found)]
    edition = next((fp.edition_code for _index, fp in found if fp.reference is None), None)
    references = list(dict.fromkeys(fp.reference for _index, fp in found if fp.reference))
    return FoundForms(records, edition, {index for index, _ in found}, references)
