"""Generated copies of our own request form: blank, filled as a PDF, printed in capitals and faxed.

Everything comes from a `tests.synth` request and the form's own layout, so the ground truth is
known and no binary is committed. A printed copy is the form page rendered at 200 dpi with the
values drawn into its boxes in capitals (one character per box where there are boxes), as a
typewriter or a printer would; `tests.faxgen.fax` then does to it what a fax machine does.
"""

from __future__ import annotations

import io
import random
from datetime import date
from functools import cache
from typing import Any, Literal

import pypdfium2 as pdfium
from PIL import Image, ImageDraw, ImageFont
from pypdf import PdfReader, PdfWriter

from intake.form import Edition, editions, render_form
from parsers import form_zones as fz
from tests.faxgen import FONT_DIR, Resolution, fax, fax_header
from tests.synth import flat

DPI = 200
FORM_FONTS = ["DejaVuSans.ttf", "DejaVuSansMono.ttf", "DejaVuSerif.ttf", "DejaVuSans-Bold.ttf"]


def _edition(edition: Edition | str | None) -> Edition:
    if isinstance(edition, Edition):
        return edition
    eds = editions()
    return eds.current if edition is None else eds.all[edition]


def _mdy(iso: str) -> str:
    d = date.fromisoformat(iso)
    return f"{d.month:02d}{d.day:02d}{d.year:04d}"


Case = Literal["upper", "mixed", "lower"]


def _cased(value: str, case: Case) -> str:
    return value.upper() if case == "upper" else value.lower() if case == "lower" else value


def printed_values(req: dict[str, Any], edition: Edition | str | None = None,
                   case: Case = "upper") -> dict[str, str]:
    """What a person puts in each box of the form: capitals (or, typed in a viewer, `mixed` case as
    the request writes it, or `lower`), digits only in boxes, `yes`/`no` ticks."""
    values = flat(req)
    out: dict[str, str] = {}
    for spec in fz.layout(_edition(edition).layout).fields:
        value = values.get(spec.path)
        if value is None or value == "":
            continue
        if spec.kind == "choice":
            out[spec.path] = {"true": "yes", "false": "no"}.get(value, value)
        elif spec.kind == "date":
            out[spec.path] = _mdy(value)
        elif spec.kind == "comb" and spec.charset == "digits":
            out[spec.path] = value.replace("-", "")
        else:
            out[spec.path] = _cased(value, case)
    return out


def expected(req: dict[str, Any], edition: Edition | str | None = None) -> dict[str, str]:
    """The normalised values the reader should give for the fields the form has (flat paths)."""
    have = {s.path for s in fz.layout(_edition(edition).layout).fields}
    return {p: v for p, v in flat(req).items() if p in have}


def blank_pdf(edition: Edition | str | None = None) -> bytes:
    return render_form(_edition(edition))


def filled_pdf(req: dict[str, Any], edition: Edition | str | None = None, case: Case = "upper") -> bytes:
    """The fillable PDF filled in with pypdf, as a person would in a PDF viewer."""
    ed = _edition(edition)
    reader = PdfReader(io.BytesIO(render_form(ed)))
    writer = PdfWriter(clone_from=reader)
    printed = printed_values(req, ed, case)
    specs = fz.layout(ed.layout).by_path()
    fill: dict[str, str] = {}
    for path, value in printed.items():
        spec = specs[path]
        if spec.kind == "choice":
            fill[path] = "/" + value
        elif spec.kind == "date":
            fill[path] = f"{value[:2]}/{value[2:4]}/{value[4:]}"
        else:
            fill[path] = value
    for page in writer.pages:
        writer.update_page_form_field_values(page, fill, auto_regenerate=False)
    writer.set_need_appearances_writer(True)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def viewer_printed(pdf: bytes, dpi: int = DPI) -> list[Image.Image]:
    """A filled PDF printed as a viewer prints it: pdfium draws the fields' values (`info["dpi"]` set)."""
    doc = pdfium.PdfDocument(pdf)
    try:
        doc.init_forms()
        pages = []
        for i in range(len(doc)):
            img = doc[i].render(scale=dpi / 72, grayscale=True, may_draw_forms=True).to_pil().convert("L")
            img.info["dpi"] = (dpi, dpi)
            pages.append(img)
        return pages
    finally:
        doc.close()


@cache
def _template(edition_code: str, page: int) -> Image.Image:
    ed = _edition(edition_code)
    doc = pdfium.PdfDocument(render_form(ed))
    try:
        bitmap = doc[page - 1].render(scale=DPI / 72, grayscale=True)
        img = bitmap.to_pil().convert("L").copy()
    finally:
        doc.close()
    return img


def _font(name: str, size_pt: float) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONT_DIR + name, round(size_pt * DPI / 72))


def _px(v: float) -> float:
    return v * DPI / 72


def printed_pages(req: dict[str, Any], *, edition: Edition | str | None = None, font: str = "DejaVuSans.ttf",
                  size_pt: float = 12.0, pages: tuple[int, ...] = (1, 2)) -> list[Image.Image]:
    """The form printed with the request's values in capitals, at 200 dpi (`info["dpi"]` set)."""
    ed = _edition(edition)
    specs = fz.layout(ed.layout).by_path()
    printed = printed_values(req, ed)
    out = []
    for number in pages:
        img = _template(ed.code, number).copy()
        fill_boxes(img, [s for s in specs.values() if s.page == number], printed, font=font, size_pt=size_pt)
        img.info["dpi"] = (DPI, DPI)
        out.append(img)
    return out


def fill_boxes(img: Image.Image, specs: list[fz.FieldSpec], printed: dict[str, str], *,
               font: str = "DejaVuSans.ttf", size_pt: float = 12.0) -> None:
    """Draw `printed` values (see `printed_values`) into the boxes of `specs` on a 200 dpi page:
    one character per cell of a comb or date, text in a box, a cross in the ticked box."""
    draw = ImageDraw.Draw(img)
    for spec in specs:
        value = printed.get(spec.path)
        if value is None:
            continue
        if spec.kind == "choice":
            opt = next(o for o in spec.options if o.value == value)
            x0, y0, x1, y1 = _px(opt.x + 2), _px(opt.y + 2), _px(opt.x + opt.size - 2), _px(opt.y + opt.size - 2)
            draw.line((x0, y0, x1, y1), fill=0, width=4)
            draw.line((x0, y1, x1, y0), fill=0, width=4)
            continue
        cy = _px(spec.y + spec.h / 2)
        if spec.kind in ("comb", "date"):
            f = _font(font, size_pt)
            cells = list(range(spec.cells))
            if spec.kind == "date":
                cells = [c for c in cells if c not in (2, 5)]
            for ch, cell in zip(value, cells, strict=False):
                cx = _px(spec.x + (cell + 0.5) * fz.CELL_W)
                draw.text((cx, cy), ch, font=f, fill=0, anchor="mm")
            continue
        size = size_pt
        f = _font(font, size)
        while draw.textlength(value, font=f) > _px(spec.w - 8) and size > 7:
            size -= 0.5
            f = _font(font, size)
        draw.text((_px(spec.x + 4), cy), value, font=f, fill=0, anchor="lm")


def faxed_form(req: dict[str, Any], rng: random.Random, resolution: Resolution = "fine", *,
               edition: Edition | str | None = None, noise: float = 0.002, max_skew: float = 3.0,
               pages: tuple[int, ...] = (1, 2), upside_down: tuple[int, ...] = (),
               font: str | None = None) -> list[Image.Image]:
    """The printed form faxed: skew up to `max_skew` degrees, speckle, a fax header, 1 bit."""
    font = font or rng.choice(FORM_FONTS)
    size = rng.uniform(12.0, 14.0)  # the form asks for 12 point or larger
    out = []
    printed = printed_pages(req, edition=edition, font=font, size_pt=size, pages=pages)
    for n, (number, page) in enumerate(zip(pages, printed, strict=True), start=1):
        if number in upside_down:
            turned = page.rotate(180)
            turned.info["dpi"] = (DPI, DPI)
            page = turned  # noqa: PLW2901  (the page as it goes on: the one turned over)
        skew = rng.uniform(-max_skew, max_skew)
        header = fax_header(rng, "ACME HR", n, len(pages))
        out.append(fax(page, resolution=resolution, skew_deg=skew, noise=noise, rng=rng, header=header))
    return out


def score(truth: dict[str, str], result: Any) -> dict[str, int]:
    """Compare one extracted request with the truth, field by field.

    `right`: the value read is the true one (flagged or not); `right_unflagged`: and nothing asks
    staff to look at it; `wrong_unflagged`: a wrong value nobody is warned about (must stay 0);
    `missing`: a filled box that gave no value. A value where the truth has none counts as wrong.
    """
    got = flat(result.request.model_dump(mode="json"))
    flagged = {p.field for p in result.problems if p.field}
    out = {"fields": 0, "right": 0, "right_unflagged": 0, "wrong_flagged": 0, "wrong_unflagged": 0,
           "missing": 0}
    defaults = {"worker.residence_country": "US"}
    for path in sorted(set(truth) | set(got)):
        want, have = truth.get(path), got.get(path)
        if want is None and have is not None and defaults.get(path) == have:
            continue  # the model's own default, not a reading
        if want is None and have is None:
            continue
        out["fields"] += 1
        if have is None:
            out["missing"] += 1
        elif want is not None and have.casefold() == want.casefold():
            out["right"] += 1
            out["right_unflagged"] += path not in flagged
        elif path in flagged:
            out["wrong_flagged"] += 1
        else:
            out["wrong_unflagged"] += 1
    return out


def corpus_case(i: int, seed: int = 2026) -> tuple[dict[str, Any], list[Image.Image], str, str]:
    """Corpus form `i`: a request, its faxed pages, the font and the resolution (deterministic)."""
    from tests.synth import make_request

    rng = random.Random(seed * 100_003 + i)
    req = make_request(rng)
    font = FORM_FONTS[i % len(FORM_FONTS)]
    resolution: Resolution = "normal" if i % 2 else "fine"
    pages = faxed_form(req, rng, resolution, font=font, noise=rng.uniform(0.001, 0.003))
    return req, pages, font, resolution


def warm_templates() -> None:
    """Render the template pages once in this thread (pdfium must not be used from two threads)."""
    for code in editions().all:
        for page in range(1, fz.PAGES + 1):
            _template(code, page)
