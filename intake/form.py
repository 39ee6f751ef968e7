"""Our own request form: its editions, the PDF (fillable and fax-ready) and `coc-intake form`.

The PDF is drawn from the same field layout (`parsers.form_zones.layout`) that the zone reader
uses on faxed copies, and its AcroForm fields are named after the model paths, so a filled PDF
is read exactly by `parsers.pdf_form` and a printed one by `parsers.form_zones`. Editions live in
`config/editions.toml`: an old edition still reads, but its request gets `outdated_edition`.
"""

from __future__ import annotations

import argparse
import io
import sys
import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import segno
from reportlab.lib import colors
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen import canvas as rl_canvas

from intake.model import FIELD_PATHS, Problem, generic_path
from intake.reference import help_for
from parsers import form_zones as fz
from parsers.pdf_form import EDITION_FIELD

DEFAULT_OUT = "coc-request-form.pdf"
_TITLE = "Request for a U.S. Certificate of Coverage"


@dataclass(frozen=True)
class Edition:
    code: str  # `2026-11`
    issued: date
    layout: int
    superseded: date | None = None

    @property
    def label(self) -> str:
        """`COC-1 (2026-11)`: how the edition is printed and named in messages."""
        return fz.edition_code(self.code)


@dataclass(frozen=True)
class Editions:
    form_id: str
    current: Edition
    all: dict[str, Edition]
    download: str


@cache
def editions() -> Editions:
    """The editions of `config/editions.toml`."""
    raw: dict[str, Any] = tomllib.loads(resources.files("intake.config").joinpath("editions.toml").read_text("utf-8"))
    table = {
        e["code"]: Edition(e["code"], e["issued"], int(e["layout"]), e.get("superseded"))
        for e in raw["edition"]
    }
    return Editions(raw["form_id"], table[raw["current"]], table, raw.get("download", ""))


def _edition_from_label(label: str) -> str:
    """`COC-1 (2025-06)` or `2025-06` -> `2025-06`."""
    label = label.strip()
    if "(" in label and label.endswith(")"):
        return label[label.index("(") + 1 : -1].strip()
    return label


def outdated_problem(label: str | None) -> Problem | None:
    """`outdated_edition` when a request came on an older edition of our form, else None.

    An unknown edition code of our form counts as outdated too: it cannot be the current one.
    """
    if not label:
        return None
    ed = editions()
    code = _edition_from_label(label)
    if code == ed.current.code:
        return None
    known = ed.all.get(code)
    when = f", replaced on {known.superseded.isoformat()}" if known and known.superseded else ""
    return Problem(
        field=None,
        code="outdated_edition",
        message=(f"The request came on an older edition of our form ({fz.edition_code(code)}{when}); "
                 f"it was read, but please use the current edition {ed.current.label} next time."),
        help=f"The current form {ed.current.label}: {ed.download}.",
    )


# ---------------------------------------------------------------------------------------------
# Drawing the form

_LABEL_FONT = ("Helvetica", 6.5)
_HELP_FONT = "Helvetica"


def _y(top: float, height: float = 0.0) -> float:
    """Top-left point coordinates -> reportlab's bottom-left."""
    return fz.PAGE_H - top - height


def draw_marks(c: rl_canvas.Canvas) -> None:
    c.setFillColor(colors.black)
    s = fz.MARK_SIZE
    for cx, cy in fz.mark_centers():
        c.rect(cx - s / 2, _y(cy - s / 2, s), s, s, stroke=0, fill=1)


def draw_qr(c: rl_canvas.Canvas, payload: str) -> None:
    """The QR code as filled squares (no raster image: it prints and faxes crisply)."""
    qr = segno.make_qr(payload, error="m")
    matrix = list(qr.matrix)
    n = len(matrix)
    x0, y0, x1, _y1 = fz.QR_BOX
    module = (x1 - x0) / n
    c.setFillColor(colors.black)
    for r, row in enumerate(matrix):
        for col, dark in enumerate(row):
            if dark:
                c.rect(x0 + col * module, _y(y0 + r * module, module), module, module, stroke=0, fill=1)


def _draw_header(c: rl_canvas.Canvas, ed: Edition, page: int) -> None:
    c.setFillColor(colors.black)
    c.setFont("Helvetica-Bold", 15)
    c.drawString(60, _y(78), _TITLE)
    c.setFont("Helvetica", 9)
    c.drawString(60, _y(94), f"Form {ed.label}    page {page} of {fz.PAGES}")
    c.setFont("Helvetica", 7)
    c.drawString(60, _y(108), "Type or print in CAPITALS (12 point or larger), one character per box where there "
                              "are boxes. Fax or e-mail the completed form.")
    c.drawString(60, _y(118), "Help for every field is printed on page 2. Leave boxes that do not apply empty.")
    # The edition again at the foot, inside the marks, so a cropped copy still shows it.
    c.drawString(60, _y(742), f"{ed.label}  -  page {page} of {fz.PAGES}")


def draw_field(c: rl_canvas.Canvas, spec: fz.FieldSpec, *, label: bool = True, caption_size: float = 8) -> None:
    """A field's printed box (comb cells, date separators, tick boxes), and its label above it.

    Also draws the boxes of our fax return page (`intake.returnpage`), which prints its own label.
    """
    c.setFont(*_LABEL_FONT)
    c.setFillColor(colors.black)
    if label:
        c.drawString(spec.x, _y(spec.y - 2.5), spec.label)
    c.setLineWidth(0.75)
    c.setStrokeColor(colors.black)
    if spec.kind == "choice":
        for opt in spec.options:
            c.rect(opt.x, _y(opt.y, opt.size), opt.size, opt.size, stroke=1, fill=0)
            c.setFont("Helvetica", caption_size)
            c.drawString(opt.x + opt.size + 4, _y(opt.y + opt.size - 2), opt.caption)
        return
    c.rect(spec.x, _y(spec.y, spec.h), spec.w, spec.h, stroke=1, fill=0)
    if spec.kind in ("comb", "date"):
        for i in range(1, spec.cells):
            x = spec.x + i * fz.CELL_W
            c.line(x, _y(spec.y), x, _y(spec.y + spec.h))
        if spec.kind == "date":
            c.setFont("Helvetica", 12)
            for i in fz._DATE_SEPARATORS:  # the layout's own constant
                c.drawCentredString(spec.x + (i + 0.5) * fz.CELL_W, _y(spec.y + spec.h - 5), "/")


def _acro_field(c: rl_canvas.Canvas, spec: fz.FieldSpec) -> None:
    """The fillable field over the printed box, named after the model path."""
    form = c.acroForm
    tip = f"{spec.label}: {help_for(spec.path)}"
    if spec.kind == "choice":
        for opt in spec.options:
            form.radio(name=spec.path, tooltip=tip, value=opt.value, selected=False, x=opt.x,
                       y=_y(opt.y, opt.size), size=opt.size, buttonStyle="check", shape="square",
                       borderWidth=0, borderColor=colors.black, fillColor=colors.transparent,
                       textColor=colors.black, forceBorder=False)
        return
    comb = spec.kind in ("comb", "date")
    kwargs: dict[str, Any] = {"maxlen": spec.cells, "fieldFlags": "comb"} if comb else {"maxlen": 0}
    form.textfield(name=spec.path, tooltip=tip, x=spec.x, y=_y(spec.y, spec.h), width=spec.w,
                   height=spec.h, borderWidth=0, borderColor=colors.transparent,
                   fillColor=colors.transparent, textColor=colors.black, fontName="Helvetica",
                   fontSize=11, forceBorder=False, **kwargs)


def caption(spec: fz.FieldSpec, *, numbered: bool = False) -> str:
    """A field's label as a line of text says it, away from its section of the form:
    `Worker's address: city`, `Family member 2: name` (`numbered`) or `Family member: name`."""
    label = spec.label
    if spec.path.startswith("dependents"):
        n = spec.path[len("dependents["):].split("]")[0]
        label = f"Family member{' ' + str(int(n) + 1) if numbered else ''}: {spec.label.lower()}"
    if spec.path.startswith(("worker.address", "employer.address", "assignment.work_address")):
        label = {"worker": "Worker's address", "employer": "Employer's address",
                 "assignment": "Work address abroad"}[spec.path.split(".")[0]] + f": {spec.label.lower()}"
    return label


def _help_entries(spec_layout: fz.Layout) -> list[tuple[str, str]]:
    """(label, help) per field, dependents once."""
    seen: set[str] = set()
    out = []
    for spec in spec_layout.fields:
        key = generic_path(spec.path)
        if key in seen:
            continue
        seen.add(key)
        out.append((caption(spec), help_for(spec.path)))
    return out


def _draw_help(c: rl_canvas.Canvas, spec_layout: fz.Layout) -> None:
    """Every field's help text, small, in two columns below the last page's fields."""
    top, bottom = spec_layout.help_top + 6, 732.0
    c.setFont("Helvetica-Bold", 8)
    c.drawString(60, _y(top), "Help for each field")
    entries = _help_entries(spec_layout)
    col_w, gap = 240.0, 12.0
    for size in (5.5, 5.0, 4.6, 4.2, 3.8):
        lead = size * 1.18
        lines: list[tuple[bool, str]] = []
        for label, text in entries:
            wrapped = simpleSplit(f"{label}. {text}", _HELP_FONT, size, col_w)
            lines += [(i == 0, ln) for i, ln in enumerate(wrapped)]
        per_col = int((bottom - top - 8) // lead)
        if len(lines) <= 2 * per_col:
            break
    for i, (first, text) in enumerate(lines[: 2 * per_col]):
        col, row = divmod(i, per_col)
        c.setFont("Helvetica", size)
        c.drawString(60 + col * (col_w + gap), _y(top + 8 + row * lead), text)
        del first


def render_form(edition: Edition | None = None) -> bytes:
    """The form PDF of an edition (the current one by default): fillable, and fax-ready in print.

    Rendered once per edition and the bytes reused: every *information needed* reply attaches the
    form, and drawing it anew (reportlab, QR codes, help text) took 40% of a busy daemon's time, in
    its own threads under the GIL. An edition's form never changes, so its bytes never go stale.
    """
    return _render_edition(edition or editions().current)


@cache
def _render_edition(ed: Edition) -> bytes:
    """Draw the form of one edition (cached by `render_form`)."""
    spec_layout = fz.layout(ed.layout)
    buf = io.BytesIO()
    c = rl_canvas.Canvas(buf, pagesize=(fz.PAGE_W, fz.PAGE_H))
    c.setTitle(f"{_TITLE} - {ed.label}")
    c.setSubject(ed.label)
    c.setCreator("coc-intake")
    for page in range(1, fz.PAGES + 1):
        draw_marks(c)
        draw_qr(c, fz.qr_payload(ed.code, ed.layout, page))
        _draw_header(c, ed, page)
        for h in spec_layout.headings:
            if h.page == page:
                c.setFont("Helvetica-Bold", 9.5)
                c.drawString(60, _y(h.y), h.text)
        specs = [s for s in spec_layout.fields if s.page == page]
        for spec in specs:
            draw_field(c, spec)
        for spec in specs:
            _acro_field(c, spec)
        if page == 1:
            # The edition travels with a filled PDF as a read-only, hidden field.
            c.acroForm.textfield(name=EDITION_FIELD, value=ed.label, x=0, y=0, width=1, height=1,
                                 borderWidth=0, fieldFlags="readOnly", annotationFlags="hidden",
                                 fillColor=colors.transparent, borderColor=colors.transparent)
        if page == fz.PAGES:
            _draw_help(c, spec_layout)
        c.showPage()
    c.save()
    return buf.getvalue()


def form_paths(edition: Edition | None = None) -> set[str]:
    """Every model path the edition's form has a field for (dependents as `dependents[].x`)."""
    ed = edition or editions().current
    out = set()
    for spec in fz.layout(ed.layout).fields:
        out.add(spec.path if not spec.path.startswith("dependents") else
                "dependents[]." + spec.path.split(".", 1)[1])
    return out


def missing_paths(edition: Edition | None = None) -> list[str]:
    """Model paths the form lacks: empty for the current edition (a test keeps it so)."""
    have = form_paths(edition)
    return [p for p in FIELD_PATHS if p not in have]


def write_form(path: str | Path = DEFAULT_OUT, edition: Edition | None = None) -> Path:
    out = Path(path)
    out.write_bytes(render_form(edition))
    return out


def cmd_form(args: argparse.Namespace) -> int:
    """`coc-intake form [--out FILE]`."""
    out = write_form(args.out or DEFAULT_OUT)
    print(f"{out}: {editions().current.label}", file=sys.stderr)
    return 0

