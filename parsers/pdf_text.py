"""Every PDF enters here: forms, text letters and scans or faxes delivered as PDF.

A filled AcroForm is exact and wins (`pdf_form`). Otherwise each page's words keep their
positions, so the shared label finder can pair a label with the value beside or under it; pages
without a text layer are images and go to OCR, at the image's own resolution when the page is a
single image (a 204x98 dpi fax must stay 204x98, or squaring its pixels goes wrong).
A broken file gives a part problem naming it, never an exception.
"""

from __future__ import annotations

import io
import logging
import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pdfplumber
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image, ImageStat
from pypdf import PdfReader

from parsers.layout import Word
from parsers.page_read import _lines, find_on_page
from parsers.pdf_form import parse_pdf_form
from parsers.pdf_streams import stream_over
from parsers.types import Box, Candidate, Extraction, Limits, Part, PartProblem

if TYPE_CHECKING:
    from parsers import form_zones
    from parsers.ocr_boxes import Levelled

try:  # OCR is another module; a PDF of text must still be read without it.
    from parsers import ocr as _ocr_module
except ImportError:  # pragma: no cover - only while ocr.py is missing
    _ocr_module = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

RENDER_DPI = 300  # for pages that must be rendered: what Tesseract reads best
MIN_TEXT_WORDS = 3  # fewer words than this on a page with a big image: the text is a stamp or header
IMAGE_PAGE_SHARE = 0.5  # an image covering this share of the page makes it a scanned page
SINGLE_IMAGE_SHARE = 0.9  # one image covering this much is the whole page: take it as it is
_PLAIN_COLORSPACES = {
    pdfium_c.FPDF_COLORSPACE_DEVICEGRAY,
    pdfium_c.FPDF_COLORSPACE_DEVICERGB,
    pdfium_c.FPDF_COLORSPACE_CALGRAY,
    pdfium_c.FPDF_COLORSPACE_CALRGB,
    pdfium_c.FPDF_COLORSPACE_ICCBASED,
    pdfium_c.FPDF_COLORSPACE_INDEXED,
}
_TAIL = 4096  # a complete PDF ends with %%EOF within this many bytes (some writers add padding)


def _name(part: Part) -> str:
    return part.filename or part.name


def _problem(part: Part, code: str, message: str, pages: int = 0) -> Extraction:
    return Extraction(
        part=part.name,
        media_type="application/pdf",
        problems=[PartProblem(code=code, message=message, part=part.name)],
        pages=pages,
    )


def _check(part: Part, limits: Limits) -> tuple[Extraction | None, int]:  # noqa: C901, PLR0911  (each reason a PDF cannot be read returns at once)
    """The file-level checks, cheapest first; (problem or None, page count)."""
    data, name = part.data, _name(part)
    if not data:
        return _problem(part, "empty", f"{name} is empty (0 bytes)."), 0
    if len(data) > limits.max_bytes:
        return _problem(part, "too_large", f"{name} is {len(data):,} bytes, over the limit of {limits.max_bytes:,}."), 0
    if b"%PDF-" not in data[:1024]:
        return _problem(part, "not_pdf", f"{name} is not a PDF file (it does not start with %PDF-)."), 0
    if b"%%EOF" not in data[-_TAIL:]:
        return _problem(part, "unreadable", f"{name} is incomplete: the PDF is cut off before its end (truncated)."), 0
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            return _problem(
                part,
                "encrypted",
                f"{name} is protected by a password and cannot be opened; please send it without a password.",
            ), 0
        pages = len(reader.pages)
    except Exception as exc:  # noqa: BLE001 - any parser error means the same thing: unreadable
        return _problem(part, "unreadable", f"{name} could not be read as a PDF ({type(exc).__name__})."), 0
    objects = _object_count(reader)
    if objects > limits.max_pdf_objects:
        return _problem(
            part, "too_large", f"{name} has {objects:,} objects, over the limit of {limits.max_pdf_objects:,}."
        ), 0
    if stream_over(data, limits.max_inflated_bytes, reader):
        return _problem(
            part,
            "too_large",
            f"{name} holds a compressed stream whose filters decode past {limits.max_inflated_bytes:,} bytes; "
            "refused as a possible decompression bomb.",
        ), 0
    if pages == 0:
        return _problem(part, "empty", f"{name} has no pages."), 0
    if pages > limits.max_pages:
        return _problem(
            part,
            "too_many_pages",
            f"{name} has {pages} pages, over the limit of {limits.max_pages}.",
            pages,
        ), pages
    return None, pages


def _object_count(reader: PdfReader) -> int:
    """Objects the cross-reference tables list (the declared /Size can lie; the tables are read)."""
    try:
        return sum(len(v) for v in reader.xref.values()) + len(reader.xref_objStm)
    except Exception:  # noqa: BLE001 - a table that cannot be counted is judged by the pages later
        return 0


def _plumber_words(page: Any, number: int) -> list[Word]:
    """pdfplumber words as layout Words: boxes as page fractions, origin top left."""
    x_off, y_off, x_end, y_end = (float(v) for v in page.bbox)
    width, height = x_end - x_off, y_end - y_off
    words: list[Word] = []
    for w in page.extract_words(keep_blank_chars=False, use_text_flow=False):
        text = str(w["text"]).strip()
        if not text:
            continue
        box = Box(
            x0=max(0.0, (float(w["x0"]) - x_off) / width),
            y0=max(0.0, (float(w["top"]) - y_off) / height),
            x1=min(1.0, (float(w["x1"]) - x_off) / width),
            y1=min(1.0, (float(w["bottom"]) - y_off) / height),
        )
        words.append(Word(text=text, box=box, conf=1.0, page=number))
    return words


def _image_share(page: Any) -> float:
    """The share of the page the largest image covers."""
    area = float(page.width) * float(page.height)
    best = 0.0
    for im in page.images:
        w = max(0.0, min(float(im["x1"]), float(page.bbox[2])) - max(float(im["x0"]), float(page.bbox[0])))
        h = max(0.0, min(float(im["bottom"]), float(page.bbox[3])) - max(float(im["top"]), float(page.bbox[1])))
        best = max(best, w * h / area if area else 0.0)
    return best


def page_image(doc: pdfium.PdfDocument, index: int, limits: Limits) -> Image.Image:
    """The page as an image with a true `info["dpi"]`.

    When the page is one image filling it (fax servers and scanners write such PDFs), that image
    at its own resolution: its dpi follows from its pixels and the size it is placed at. Else the
    page rendered at 300 dpi (less if that would exceed `limits.max_pixels`).
    """
    page = doc[index]
    try:
        width, height = page.get_size()
        rotation = page.get_rotation()
        images = list(page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=2))
        if len(images) == 1 and rotation == 0:
            obj = images[0]
            left, bottom, right, top = obj.get_bounds()
            m = obj.get_matrix()
            px_w, px_h = obj.get_px_size()
            placed = (right - left) * (top - bottom)
            upright = abs(m.b) < 1e-6 and abs(m.c) < 1e-6 and m.a > 0 and m.d > 0
            plain = obj.get_metadata().colorspace in _PLAIN_COLORSPACES  # not a stencil mask, CMYK...
            if (
                upright
                and plain
                and placed >= SINGLE_IMAGE_SHARE * width * height
                and 0 < px_w * px_h <= limits.max_pixels
            ):
                # pdfium owns this bitmap (it is the image's own buffer): copy it, never close it.
                image: Image.Image = obj.get_bitmap(render=False).to_pil().copy()
                if image.mode not in ("1", "L", "RGB"):
                    colour = image.mode in ("RGBA", "RGBX", "BGRA", "BGRX", "P")
                    image = image.convert("RGB" if colour else "L")
                # The raw pixels ignore a /Decode inversion; a page that comes out mostly black was
                # meant the other way round, and rendering gets it right.
                if ImageStat.Stat(image.convert("L").reduce(8)).mean[0] >= 100:
                    image.info["dpi"] = (
                        round(px_w / ((right - left) / 72.0), 1),
                        round(px_h / ((top - bottom) / 72.0), 1),
                    )
                    return image
                image.close()
        scale = RENDER_DPI / 72.0
        if width * height * scale * scale > limits.max_pixels:
            scale = 0.99 * math.sqrt(limits.max_pixels / (width * height))  # pdfium rounds sizes up
        bitmap = page.render(scale=scale, grayscale=True)
        try:
            image = bitmap.to_pil().copy()
        finally:
            bitmap.close()
        image.info["dpi"] = (scale * 72.0, scale * 72.0)
        return image
    finally:
        page.close()


def parse_pdf(part: Part, limits: Limits) -> Extraction:
    """Read a PDF: its form fields, else its text with positions, else its pages by OCR."""
    bad, _pages = _check(part, limits)
    if bad is not None:
        return bad
    name = _name(part)
    try:
        form = parse_pdf_form(part, limits)
    except Exception as exc:  # noqa: BLE001 - a broken field tree: fall back to the page text
        log.warning("form fields of %s could not be read: %s", part.name, type(exc).__name__)
        form = None
    if form is not None:
        return form
    try:
        return _parse_pages(part, limits)
    except Exception as exc:  # noqa: BLE001 - a parser bug must name the file, not crash the stage
        log.warning("PDF %s could not be read: %s", part.name, type(exc).__name__)
        return _problem(part, "unreadable", f"{name} could not be read as a PDF ({type(exc).__name__}).")


def _ocr_problem(part: Part, number: int, exc: BaseException | None, limits: Limits) -> PartProblem:
    timeout = exc is not None and type(exc).__name__ == "OcrTimeout"
    return PartProblem(
        code="ocr_timeout" if timeout else "ocr_failed",
        part=part.name,
        message=f"{_name(part)} page {number} could not be read by OCR"
        + (f" within {limits.ocr_seconds_per_page:g} seconds." if timeout else "."),
    )


def _ocr(part: Part, indexes: list[int], limits: Limits,
         levels: dict[int, Levelled] | None = None) -> dict[int, list[Word] | PartProblem]:
    """OCR the given pages (0-based), `ocr.page_workers()` at a time so only that many images are in memory.

    `ocr.read_pages` runs one single-threaded Tesseract per core; a page that fails or times out
    becomes a problem for that page alone. `levels` gets each page's `ocr_boxes.Levelled`: the
    candidates' boxes are turned back to the page as received with it.
    """
    assert _ocr_module is not None
    out: dict[int, list[Word] | PartProblem] = {}
    batch = _ocr_module.page_workers()
    doc = pdfium.PdfDocument(part.data)
    try:
        for start in range(0, len(indexes), batch):
            chunk = indexes[start : start + batch]
            images: list[Image.Image] = []
            try:
                for index in chunk:
                    images.append(page_image(doc, index, limits))
                results = _ocr_module.read_pages(images, limits, workers=len(images))
                if levels is not None:
                    from parsers import ocr_boxes  # noqa: PLC0415 - with the OCR module only

                    levels.update((i, ocr_boxes.levelled(image)) for i, image in zip(chunk, images, strict=True))
            except Exception as exc:  # noqa: BLE001 - a rendering or Tesseract failure: these pages only
                log.warning("OCR of %s failed: %s", part.name, type(exc).__name__)
                for index in chunk:
                    out[index] = _ocr_problem(part, index + 1, exc, limits)
                continue
            finally:
                for image in images:
                    image.close()
            for index, result in zip(chunk, results, strict=True):
                if isinstance(result, BaseException):
                    out[index] = _ocr_problem(part, index + 1, result, limits)
                else:
                    # read_pages numbers pages within the batch; the page number is the PDF's.
                    out[index] = [replace(w, page=index + 1) for w in result]
    finally:
        doc.close()
    return out


def _parse_pages(part: Part, limits: Limits) -> Extraction:  # noqa: C901, PLR0912  (the page loop: text layer, images, limits, problems)
    name = _name(part)
    found: dict[tuple[int, int], tuple[list[Candidate], str]] = {}  # (page index, 0 text / 1 OCR)
    problems: list[PartProblem] = []
    scanned: list[int] = []
    sure: set[str] = set()  # fields read without doubt so far, across pages
    form_records: list[list[Candidate]] = []
    edition: str | None = None
    references: list[str] = []
    layer: list[tuple[int, list[Word]]] = []  # (page index, words) of the pages with a text layer
    with pdfplumber.open(io.BytesIO(part.data)) as pdf:
        count = len(pdf.pages)
        for index, page in enumerate(pdf.pages):
            words = _plumber_words(page, index + 1)
            # No text at all may still be text drawn as outlines; OCR finds blank pages cheaply.
            if not words or (len(words) < MIN_TEXT_WORDS and _image_share(page) >= IMAGE_PAGE_SHARE):
                scanned.append(index)
            page.close()  # pdfplumber caches every object of a page; free it as soon as we are done
            if words:
                layer.append((index, words))
    if layer:  # the text pages read together: a label at a page's foot has its value atop the next
        per_page = [(index, _lines(words, text=True)) for index, words in layer]
        lines = [ln for _i, page_lines in per_page for ln in page_lines]
        cands, _text = find_on_page(lines, part, "text", layer[0][0] + 1, sure)
        for k, (index, page_lines) in enumerate(per_page):
            page_text = "\n".join(" ".join(w.text for w in ln.words if w.text != "\t") for ln in page_lines)
            found[(index, 0)] = (cands if k == 0 else [], page_text)
    if scanned and _ocr_module is None:
        problems += [
            PartProblem(
                code="ocr_unavailable",
                part=part.name,
                message=f"{name} page {i + 1} is an image and OCR is not available.",
            )
            for i in scanned
        ]
    elif scanned:
        # Scanned pages of our own form are read box by box; only the others go to OCR.
        forms = _our_form(part, scanned, limits)
        form_records, edition, ours, references = forms.records, forms.edition, forms.indexes, forms.references
        scanned = [i for i in scanned if i not in ours]
        levels: dict[int, Levelled] = {}
        read: list[tuple[int, list[Word]]] = []
        for index, result in sorted((_ocr(part, scanned, limits, levels) if scanned else {}).items()):
            if isinstance(result, PartProblem):
                problems.append(result)
            elif result:
                read.append((index + 1, result))
        if read:  # the scanned pages read as one letter: a label at a page's foot has its value atop the next
            from parsers.ocr_letter import by_page, read_letter  # noqa: PLC0415 - with the OCR module only

            cands, page_texts = read_letter(read, part, sure)
            pages = by_page(cands, [n for n, _words in read])
            for (number, _words), page_text in zip(read, page_texts, strict=True):
                mine = pages[number]
                # Boxes on the page as received, which the review page shows (Tesseract read it level).
                index = number - 1
                found[(index, 1)] = (levels[index].candidates(mine) if index in levels else mine, page_text)
    candidates = [c for key in sorted(found) for c in found[key][0]]
    texts = [found[key][1] for key in sorted(found) if found[key][1]]
    if not texts and not problems:
        problems.append(PartProblem(code="no_text", part=part.name, message=f"{name} has no text that could be read."))
    return Extraction(
        part=part.name,
        media_type="application/pdf",
        records=[r for r in form_records if r] + ([candidates] if candidates else []),
        problems=problems,
        pages=count,
        text="\n\n".join(texts),
        form_edition=edition,
        references=references,
        multi=bool(references),  # return pages answer requests of their own (a batch's pages)
    )


def _our_form(part: Part, indexes: list[int], limits: Limits) -> form_zones.FoundForms:
    """Recognise and read the pages (0-based) that are our own form, one page image at a time."""
    from parsers import form_zones  # noqa: PLC0415 - only for scanned pages

    found: list[tuple[int, form_zones.FormPage]] = []
    doc = pdfium.PdfDocument(part.data)
    try:
        for index in indexes:
            image = page_image(doc, index, limits)
            try:
                fp = form_zones.recognise_safely(image, index + 1)
            finally:
                image.close()
            if fp is not None:
                found.append((index, fp))
    finally:
        doc.close()
    return form_zones.read_found(found, part.name)
