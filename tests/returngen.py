"""Our fax reply's return pages, filled in by the "employer" and faxed back (tests only).

The return pages are found in the reply PDF by their QR code (as a person finds the page that
says "fax this page back"), printed at 200 dpi, the missing values written into the boxes the
page has (`tests.formgen.fill_boxes`, capitals, one character per box), and faxed like any page
(`tests.faxgen.fax`: skew, speckle, a header line, 204x98 or 204x196).
"""

from __future__ import annotations

import random
from typing import Any

import pypdfium2 as pdfium
from PIL import Image
from pyzbar import pyzbar

from parsers import form_zones as fz
from tests.faxgen import Resolution, fax, fax_header
from tests.formgen import DPI, fill_boxes, printed_values


def printed(pdf: bytes, dpi: int = DPI) -> list[Image.Image]:
    """Every page of a reply PDF as printed by the fax machine that received it (gray, `info["dpi"]`)."""
    doc = pdfium.PdfDocument(pdf)
    try:
        pages = []
        for i in range(len(doc)):
            img = doc[i].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
            img.info["dpi"] = (dpi, dpi)
            pages.append(img)
        return pages
    finally:
        doc.close()


def payload_of(page: Image.Image) -> tuple[str, int, int, int, list[str]] | None:
    """A printed page's return-page QR code, parsed, or None when it is no return page."""
    for sym in pyzbar.decode(page, symbols=[pyzbar.ZBarSymbol.QRCODE]):
        parsed = fz.parse_return_payload(sym.data.decode("ascii", errors="replace"))
        if parsed is not None:
            return parsed
    return None


def return_pages(pdf: bytes) -> list[tuple[Image.Image, tuple[str, int, int, int, list[str]]]]:
    """The return pages of a reply PDF: (printed page, its payload)."""
    out = []
    for page in printed(pdf):
        found = payload_of(page)
        if found is not None:
            out.append((page, found))
    return out


def filled(pdf: bytes, req: dict[str, Any] | dict[str, dict[str, Any]], *, font: str = "DejaVuSans.ttf",
           size_pt: float = 13.0) -> list[Image.Image]:
    """The reply's return pages with the request's values written into their boxes; for a batch,
    `req` maps each reference to its request."""
    out = []
    for page, (ref, version, _n, _pages, paths) in return_pages(pdf):
        values = printed_values(req.get(ref, req))
        img = page.copy()
        fill_boxes(img, list(fz.return_specs(version, paths)), values, font=font, size_pt=size_pt)
        img.info["dpi"] = (DPI, DPI)
        out.append(img)
    return out


def faxed_back(pdf: bytes, req: dict[str, Any] | dict[str, dict[str, Any]], rng: random.Random,
               resolution: Resolution = "fine", *, noise: float = 0.002, max_skew: float = 2.0,
               sender: str = "ACME HR") -> list[Image.Image]:
    """The filled return pages faxed back to us."""
    pages = filled(pdf, req, font=rng.choice(["DejaVuSans.ttf", "DejaVuSansMono.ttf", "DejaVuSans-Bold.ttf"]),
                   size_pt=rng.uniform(12.0, 14.0))
    return [fax(p, resolution=resolution, skew_deg=rng.uniform(-max_skew, max_skew), noise=noise, rng=rng,
                header=fax_header(rng, sender, n, len(pages))) for n, p in enumerate(pages, start=1)]
