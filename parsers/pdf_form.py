"""Fillable PDF forms (AcroForm): the one input whose values need no reading at all.

A filled form field is exact, so its candidates get method `form` and confidence 1.0. Our own
form names its fields after the model paths (`worker.ssn`, `dependents.0.name`); any other form's
field names go through the shared label vocabulary (`labels.header_field`), never a list of ours.
Fields named `Text1` by a PDF editor are read by the label printed beside them (confidence 0.95).
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, NameObject

from parsers import labels, layout, values
from parsers.layout import Line, Word
from parsers.types import Box, Candidate, Extraction, Limits, Part, Provenance

log = logging.getLogger(__name__)

EDITION_FIELD = "coc_form_edition"
_EDITION_META = ("/coc_form_edition", "/CocFormEdition")
# A field name that is already a model path: our own form (dependents as `dependents.0.name`).
_MODEL_PATH = re.compile(
    r"^(?:request_type|confirmation_email"
    r"|(?:worker|employer|assignment)(?:\.[a-z][a-z0-9_]*){1,2}"
    r"|dependents(?:\.\d+|\[\d+\])\.[a-z][a-z_]*)$"
)
# One box per character: `worker.ssn.1` ... `worker.ssn.9`.
_SPLIT = re.compile(r"^(?P<base>.+?)\.(?P<n>\d+)$")
_MAX_PARENT_DEPTH = 32
PRINTED_LABEL_CONFIDENCE = 0.95


@dataclass
class FormField:
    """One filled field: its fully qualified name, value as text, and where its widget sits."""

    name: str
    value: str
    page: int | None = None  # 1-based
    box: Box | None = None
    kind: str = "/Tx"
    radio: bool = False


def _get(node: DictionaryObject, key: str) -> Any:
    """An inheritable field attribute (`/V`, `/FT`, `/Opt`): the nearest one up the parent chain."""
    current: DictionaryObject | None = node
    for _ in range(_MAX_PARENT_DEPTH):
        if current is None:
            return None
        if key in current:
            return current[key].get_object() if hasattr(current[key], "get_object") else current[key]
        parent = current.get("/Parent")
        current = parent.get_object() if parent is not None else None
    return None


def _qualified_name(node: DictionaryObject) -> str:
    """`parent.child` from the `/T` partial names up the chain (PDF 32000 12.7.3.2)."""
    parts: list[str] = []
    current: DictionaryObject | None = node
    for _ in range(_MAX_PARENT_DEPTH):
        if current is None:
            break
        if "/T" in current:
            parts.append(str(current["/T"]))
        parent = current.get("/Parent")
        current = parent.get_object() if parent is not None else None
    return ".".join(reversed(parts))


def _text(value: Any, opts: Any = None) -> str:  # noqa: PLR0911  (one return per kind of value a PDF field holds)
    """A field value as text: names lose their slash, `Off` is empty, option indexes resolve."""
    if value is None:
        return ""
    if isinstance(value, ArrayObject):
        return ", ".join(_text(v, opts) for v in value)
    if isinstance(value, NameObject):
        text = str(value)[1:]
        if text == "Off":
            return ""
        # Buttons whose states are indexes carry their export values in /Opt.
        if isinstance(opts, ArrayObject) and text.isdigit() and int(text) < len(opts):
            return _text(opts[int(text)].get_object())
        return text
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value)


def _page_box(rect: Any, page: Any) -> Box | None:
    """A widget /Rect (points, origin bottom left) as page fractions, origin top left, rotation applied."""
    try:
        x0, y0, x1, y1 = (float(v) for v in rect)
        mb = page.mediabox
        left, bottom, width, height = float(mb.left), float(mb.bottom), float(mb.width), float(mb.height)
    except (TypeError, ValueError):
        return None
    if width <= 0 or height <= 0:
        return None
    u0, u1 = sorted(((x0 - left) / width, (x1 - left) / width))
    v0, v1 = sorted((1 - (y1 - bottom) / height, 1 - (y0 - bottom) / height))
    rotate = int(page.get("/Rotate", 0) or 0) % 360
    if rotate == 90:
        u0, v0, u1, v1 = 1 - v1, u0, 1 - v0, u1
    elif rotate == 180:
        u0, v0, u1, v1 = 1 - u1, 1 - v1, 1 - u0, 1 - v0
    elif rotate == 270:
        u0, v0, u1, v1 = v0, 1 - u1, v1, 1 - u0

    def clamp(f: float) -> float:
        return min(1.0, max(0.0, f))

    return Box(x0=clamp(u0), y0=clamp(v0), x1=clamp(u1), y1=clamp(v1))


def _widgets(reader: PdfReader) -> Iterator[tuple[int, DictionaryObject, Any]]:
    for number, page in enumerate(reader.pages, start=1):
        annots = page.get("/Annots")
        if annots is None:
            continue
        for ref in annots.get_object():
            annot = ref.get_object()
            if isinstance(annot, DictionaryObject) and annot.get("/Subtype") == "/Widget":
                yield number, annot, page


def _fields(reader: PdfReader) -> dict[str, FormField]:  # noqa: C901  (the field tree walk: kids, widgets, values, options)
    """Every filled field with its value and the widget that shows it.

    A radio group has one widget per choice; the one whose appearance state is the value is where
    the person ticked, so its rectangle is the box.
    """
    found: dict[str, FormField] = {}
    for number, annot, page in _widgets(reader):
        name = _qualified_name(annot)
        kind = str(_get(annot, "/FT") or "")
        if not name or kind == "/Sig":
            continue
        raw = _get(annot, "/V")
        value = _text(raw, _get(annot, "/Opt")).strip()
        if not value:
            continue
        if kind == "/Btn":
            state = annot.get("/AS")
            if state is not None and raw is not None and str(state) != str(raw):
                continue  # an unticked choice of a radio group
        if name not in found:
            flags = int(_get(annot, "/Ff") or 0)
            radio = kind == "/Btn" and bool(flags & (1 << 15))
            found[name] = FormField(name, value, number, _page_box(annot.get("/Rect"), page), kind, radio)
    # Fields without any widget (hidden data fields some tools write) still carry values.
    try:
        every = reader.get_fields() or {}
    except Exception:  # noqa: BLE001 - a broken field tree must not hide the widgets we read
        every = {}
    for name, field in every.items():
        if name in found or field.get("/FT") == "/Sig":
            continue
        value = _text(field.get("/V"), field.get("/Opt")).strip()
        if value:
            found[name] = FormField(name, value, kind=str(field.get("/FT") or ""))
    return found


def read_form_fields(data: bytes) -> dict[str, str]:
    """AcroForm field name -> value (check boxes and radio groups as their export value).

    Empty and unticked fields are left out, so an empty dict means "no filled form". A file that
    is not a readable PDF raises pypdf's error: `pdf_text.parse_pdf` checks files before this.
    """
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        reader.decrypt("")
    return {name: f.value for name, f in _fields(reader).items()}


def _join_split(fields: dict[str, FormField]) -> dict[str, FormField]:
    """Join one-box-per-character fields (`worker.ssn.1`...`.9`) into one value, in box order."""
    groups: dict[str, list[tuple[int, FormField]]] = {}
    for name, field in fields.items():
        m = _SPLIT.match(name)
        if m and _MODEL_PATH.match(m["base"]) and not name.startswith("dependents."):
            groups.setdefault(m["base"], []).append((int(m["n"]), field))
    out = dict(fields)
    for base, parts in groups.items():
        if len(parts) < 2:
            continue
        parts.sort(key=lambda p: p[0])
        for _, f in parts:
            out.pop(f.name, None)
        first = parts[0][1]
        boxes = [f.box for _, f in parts if f.box is not None and f.page == first.page]
        out[base] = FormField(base, "".join(f.value for _, f in parts), first.page, Box.union(boxes))
    return out


def _model_path(name: str) -> str | None:
    """A field name that names a model path, in the candidate spelling (`dependents[0].name`)."""
    if not _MODEL_PATH.match(name):
        return None
    return re.sub(r"^dependents\.(\d+)\.", r"dependents[\1].", name)


def _foreign_path(name: str) -> str | None:
    """Map another form's field name through the shared label vocabulary.

    `labels.header_field` takes tool-written names (`form1[0].Page1[0].EmployeeSSN[0]`) and
    numbered dependents (`Dependent 2 Name` -> `dependents[1].name`) itself.
    """
    return labels.header_field(name)


class _PrintedLabels:
    """The text printed beside a widget, for forms whose field names say nothing (`Text1`).

    PDF editors name fields `Text1`, `Check Box3`; the person filling the form reads the label
    printed next to the box, and so do we: the nearest text to the left on the same row (or the
    line just above) for a text field, the caption to the right of a check box, the row's first
    text for a radio group. The page's words are read only if such a field exists.
    """

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pages: dict[int, list[Line]] = {}

    def _lines(self, page: int) -> list[Line]:
        if page not in self._pages:
            import pdfplumber  # noqa: PLC0415 - only for forms with meaningless field names

            with pdfplumber.open(io.BytesIO(self._data)) as pdf:
                pg = pdf.pages[page - 1]
                x0, top, x1, bottom = (float(v) for v in pg.bbox)
                words = [
                    Word(
                        text=w["text"],
                        box=Box(
                            x0=(float(w["x0"]) - x0) / (x1 - x0),
                            y0=(float(w["top"]) - top) / (bottom - top),
                            x1=(float(w["x1"]) - x0) / (x1 - x0),
                            y1=(float(w["bottom"]) - top) / (bottom - top),
                        ),
                        page=page,
                    )
                    for w in pg.extract_words()
                ]
                pg.close()
            self._pages[page] = layout.lines_from_words(words)
        return self._pages[page]

    def path(self, field: FormField) -> str | None:
        if field.page is None or field.box is None:
            return None
        box = field.box
        mid = (box.y0 + box.y1) / 2
        row = [
            ln for ln in self._lines(field.page) if ln.box is not None and ln.box.y0 - 0.004 <= mid <= ln.box.y1 + 0.004
        ]
        left = sorted((ln for ln in row if ln.box and ln.box.x1 <= box.x0 + 0.002), key=lambda ln: -ln.box.x1)  # type: ignore[union-attr]
        right = sorted((ln for ln in row if ln.box and ln.box.x0 >= box.x1 - 0.002), key=lambda ln: ln.box.x0)  # type: ignore[union-attr]
        above = sorted(
            (
                ln
                for ln in self._lines(field.page)
                if ln.box is not None
                and 0 <= box.y0 - ln.box.y1 <= 2 * (box.y1 - box.y0)
                and ln.box.x0 < box.x1
                and box.x0 < ln.box.x1
            ),
            key=lambda ln: -ln.box.y1,  # type: ignore[union-attr]
        )
        if field.kind == "/Btn" and field.radio:
            order = sorted(row, key=lambda ln: ln.box.x0)[:1]  # type: ignore[union-attr]
        elif field.kind == "/Btn":
            order = right[:1] + left[:1]
        else:
            order = left[:1] + above[:1]
        for line in order:
            path = labels.header_field(line.text)
            if path:
                return path
        return None


def _normalize(path: str, raw: str) -> tuple[list[tuple[str, str]], str | None]:
    try:
        return values.normalize(path, raw)
    except Exception as exc:  # noqa: BLE001 - one odd value must not lose the whole form
        log.warning("could not normalise form field %s: %s", path, type(exc).__name__)
        return [(path, raw)], "could not be normalised"


def parse_pdf_form(part: Part, limits: Limits) -> Extraction | None:
    """Candidates from a filled AcroForm, or None when the PDF has no filled fields.

    `limits` is checked by `pdf_text.parse_pdf`, the entry point; it is taken here so that the
    form reader can be called on its own with the same contract as every parser.
    """
    reader = PdfReader(io.BytesIO(part.data))
    if reader.is_encrypted and not reader.decrypt(""):
        return None
    fields = _fields(reader)
    edition = None
    if EDITION_FIELD in fields:
        edition = fields.pop(EDITION_FIELD).value
    else:
        meta: dict[str, Any] = dict(reader.metadata or {})
        edition = next((str(meta[k]) for k in _EDITION_META if k in meta), None)
    if not fields:
        return None
    fields = _join_split(fields)
    candidates: list[Candidate] = []
    text_lines: list[str] = []
    printed = _PrintedLabels(part.data)
    for name, field in fields.items():
        path = _model_path(name) or _foreign_path(name)
        label, confidence = name, 1.0
        if path is None:
            path = printed.path(field)
            # The printed label is read, not declared: a shade less sure than a field's own name.
            label, confidence = f"{name} (printed label)", PRINTED_LABEL_CONFIDENCE
        text_lines.append(f"{name}: {field.value}")
        if path is None:
            continue
        pairs, uncertain = _normalize(path, field.value)
        if uncertain and field.kind == "/Btn" and not field.radio:
            # A ticked box means yes whatever its export value is called ("HiredUS", "Choice1").
            pairs, uncertain = _normalize(path, "Yes")
        prov = Provenance(part=part.name, page=field.page, box=field.box, method="form", label=label)
        for fpath, value in pairs:
            candidates.append(
                Candidate(
                    field=fpath,
                    value=value,
                    raw=field.value,
                    confidence=confidence,
                    provenance=prov,
                    uncertain=uncertain,
                )
            )
    if not candidates and edition is None:
        return None
    return Extraction(
        part=part.name,
        media_type="application/pdf",
        records=[candidates] if candidates else [],
        pages=len(reader.pages),
        text="\n".join(text_lines),
        form_edition=edition,
    )
