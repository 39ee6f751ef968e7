"""Requests as PDF letters (fpdf2, not the reportlab the project's own generators use): a letterhead,
then the fields with dot leaders, underscores, tab stops, labels above values or a two-column table,
or the whole request in sentences.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime

from fpdf import FPDF

from tests.heldout.people import Case
from tests.heldout.writing import Item, sentences

PDF_LAYOUTS = ("dots", "underscores", "tabs", "above", "table", "colon")

_TTF = "/usr/share/fonts/truetype"
_OTF = "/usr/share/fonts/opentype/urw-base35"


@dataclass(frozen=True)
class Font:
    """A typeface: fpdf2's core name, or a file (faxes use the fonts of fonts-liberation2,
    fonts-freefont-ttf and fonts-urw-base35, which the project's other generators never use)."""

    name: str
    path: str | None = None
    style: str = "sans"  # serif, sans, typewriter


CORE_FONTS = (Font("helvetica"), Font("times", style="serif"), Font("courier", style="typewriter"))
FAX_FONTS = (
    Font("LiberationSerif", f"{_TTF}/liberation2/LiberationSerif-Regular.ttf", "serif"),
    Font("LiberationSans", f"{_TTF}/liberation2/LiberationSans-Regular.ttf", "sans"),
    Font("LiberationMono", f"{_TTF}/liberation2/LiberationMono-Regular.ttf", "typewriter"),
    Font("FreeSerif", f"{_TTF}/freefont/FreeSerif.ttf", "serif"),
    Font("FreeSans", f"{_TTF}/freefont/FreeSans.ttf", "sans"),
    Font("FreeMono", f"{_TTF}/freefont/FreeMono.ttf", "typewriter"),
    Font("C059", f"{_OTF}/C059-Roman.otf", "serif"),
    Font("NimbusSans", f"{_OTF}/NimbusSans-Regular.otf", "sans"),
    Font("NimbusMonoPS", f"{_OTF}/NimbusMonoPS-Regular.otf", "typewriter"),
)


def _pdf(font: Font, size: float) -> FPDF:
    pdf = FPDF(format="letter", unit="mm")
    pdf.set_margins(22, 18, 22)
    pdf.set_auto_page_break(True, 18)
    pdf.set_creation_date(datetime(2026, 11, 20, tzinfo=UTC))  # the same bytes for the same seed
    if font.path:
        pdf.add_font(font.name, "", font.path)
    pdf.add_page()
    pdf.set_font(font.name, size=size)
    return pdf


def _ascii(text: str) -> str:
    """Core fonts are Latin-1: an ellipsis or a dash as a writer's word processor makes them."""
    return text.replace("\u2026", "...").replace("\u2014", "-")


def _letterhead(pdf: FPDF, case: Case, size: float) -> None:
    a = case.employer_address
    pdf.set_font_size(size + 4)
    pdf.cell(0, 7, _ascii(case.employer), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(size - 1)
    pdf.cell(0, 5, f"{a.street} | {a.city}, {a.state} {a.postal_code}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    pdf.set_font_size(size)
    pdf.cell(0, 6, "November 20, 2026", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.multi_cell(0, 5.5, "Social Security Administration\nOffice of International Programs\n"
                           "P.O. Box 17741, Baltimore, MD 21235-7741")
    pdf.ln(4)
    pdf.cell(0, 6, "Re: certificate of coverage", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _fields(pdf: FPDF, items: list[Item], layout: str, size: float, rng: random.Random) -> None:
    left, right = pdf.l_margin, pdf.w - pdf.r_margin
    col = left + max(pdf.get_string_width(_ascii(i.label)) for i in items) + 8
    col = min(col, left + 95)
    line = size * 0.55
    if layout == "table":
        pdf.set_font_size(size - 0.5)
        w1 = col - left
        for it in items:
            y = pdf.get_y()
            pdf.multi_cell(w1, line + 1, _ascii(it.label), border=1, new_x="RIGHT", new_y="TOP")
            pdf.set_xy(col, y)
            pdf.multi_cell(right - col, line + 1, _ascii(it.value), border=1, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font_size(size)
        return
    for it in items:
        lab, val = _ascii(it.label), _ascii(it.value)
        if layout == "above":
            pdf.set_font_size(size - 2.5)
            pdf.cell(0, line - 0.5, lab, new_x="LMARGIN", new_y="NEXT")
            pdf.set_font_size(size)
            pdf.cell(0, line + 0.5, val, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1.5)
            continue
        if layout == "colon":
            pdf.cell(0, line, f"{lab}: {val}", new_x="LMARGIN", new_y="NEXT")
            continue
        pdf.cell(pdf.get_string_width(lab) + 1, line, lab)
        if layout in ("dots", "underscores"):
            filler = "." if layout == "dots" else "_"
            room = col - pdf.get_x() - 2
            n = max(2, int(room / pdf.get_string_width(filler)))
            pdf.cell(room, line, filler * n)
        pdf.set_x(col)
        pdf.cell(0, line, val, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(0.8)


def letter_pdf(case: Case, items: list[Item], layout: str, font: Font, rng: random.Random,
               *, prose: bool = False, size: float = 11.0) -> bytes:
    """A one- or two-page letter; `prose` writes the request as sentences instead of fields."""
    pdf = _pdf(font, size)
    _letterhead(pdf, case, size)
    pdf.multi_cell(0, 5.5, "Dear Sir or Madam,")
    pdf.ln(2)
    if prose:
        for s in sentences(case, rng):
            pdf.multi_cell(0, 5.5, _ascii(s))
            pdf.ln(2)
    else:
        pdf.multi_cell(0, 5.5, "We ask for a U.S. certificate of coverage for the following assignment:")
        pdf.ln(3)
        _fields(pdf, items, layout, size, rng)
    pdf.ln(6)
    pdf.multi_cell(0, 5.5, f"Sincerely,\n\n{_ascii(case.contact)}\n{_ascii(case.employer)}")
    return bytes(pdf.output())
