"""Scanned and faxed image files (TIFF, PNG, JPEG): every page OCRed, labelled values read.

Fax servers store a received fax as a multi-page TIFF (CCITT G3/G4, 204x98 or 204x196 dpi);
scanners and phones send PNG and JPEG. All become page images for `parsers.ocr`, then lines for
the same label finder and prose reader as text PDFs, so a faxed letter and a mailed one give
the same candidates, only with OCR confidences. Bad files become part problems, never exceptions.
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import replace

from PIL import Image, ImageSequence, UnidentifiedImageError

from parsers import form_zones, ocr, ocr_boxes, ocr_letter, ocr_reread
from parsers.layout import Word
from parsers.types import Candidate, Extraction, Limits, Part, PartProblem
from parsers.values import parse_ein, parse_ssn

log = logging.getLogger(__name__)


def _name(part: Part) -> str:
    return part.filename or part.name


def _problem(part: Part, code: str, message: str) -> PartProblem:
    return PartProblem(code=code, message=message, part=part.name)


def _frames(part: Part, limits: Limits) -> tuple[list[Image.Image], list[PartProblem]]:
    """Every frame as a loaded image, within the pixel and page limits."""
    name = _name(part)
    problems: list[PartProblem] = []
    # Pillow's bomb check is process-wide; the limit here is per page, the same for every part.
    Image.MAX_IMAGE_PIXELS = limits.max_pixels
    frames: list[Image.Image] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(part.data)) as img:
                count = getattr(img, "n_frames", 1)
                if count > limits.max_pages:
                    problems.append(_problem(part, "too_many_pages",
                                             f"{name} has {count} pages; only the first "
                                             f"{limits.max_pages} were read."))
                for index, frame in enumerate(ImageSequence.Iterator(img)):
                    if index >= limits.max_pages:
                        break
                    w, h = frame.size
                    if w * h > limits.max_pixels:
                        raise Image.DecompressionBombError(f"{w}x{h}")
                    page = frame.copy()  # decodes the frame
                    page.info["dpi"] = frame.info.get("dpi", img.info.get("dpi"))
                    frames.append(page)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            return [], [_problem(part, "too_large",
                                 f"{name} is too large an image (over {limits.max_pixels:,} pixels a page).")]
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
            log.warning("image %s unreadable: %s", part.name, type(exc).__name__)
            if frames:  # a damaged later page: keep the pages that were read
                problems.append(_problem(part, "unreadable",
                                         f"{name}: page {len(frames) + 1} could not be read "
                                         f"({type(exc).__name__}); the pages before it were."))
                return frames, problems
            return [], [_problem(part, "unreadable", f"{name} could not be read as an image "
                                 f"({type(exc).__name__}).")]
    return frames, problems


_REREAD = {"worker.ssn": parse_ssn, "employer.ein": parse_ein}


def _second_reading(frame: Image.Image, cands: list[Candidate], limits: Limits) -> list[Candidate]:
    """Re-read doubted SSNs and EINs digits-only; a different reading keeps the value flagged.

    A number the first reading could not make valid ("832-003-2537") often comes out right when
    its box is read again with only digits allowed; the value is then the second reading, still
    marked uncertain, since two readings disagreed. A page's doubted numbers are read again in one
    Tesseract call.
    """
    doubted = [c for c in cands if c.field in _REREAD and c.provenance.box is not None
               and (c.uncertain is not None or c.confidence < ocr.LOW_CONFIDENCE)]
    if not doubted:
        return cands
    boxes = [c.provenance.box for c in doubted if c.provenance.box is not None]
    seconds = dict(zip((id(c) for c in doubted), ocr_reread.reread_numbers(frame, boxes, limits=limits), strict=True))
    out: list[Candidate] = []
    for c in cands:
        if id(c) not in seconds:
            out.append(c)
            continue
        second = _REREAD[c.field](seconds[id(c)])
        if second is None or second == c.value:
            out.append(c)
            continue
        out.append(c.model_copy(update={
            "value": second,
            "uncertain": "two OCR readings of this number differ; the digits-only one is shown"}))
    return out


def parse_image(part: Part, limits: Limits) -> Extraction:
    """Candidates read by OCR from every page of an image file (one request per file)."""
    out = Extraction(part=part.name, media_type=part.media_type)
    if len(part.data) > limits.max_bytes:
        out.problems.append(_problem(part, "too_large", f"{_name(part)} is larger than "
                                     f"{limits.max_bytes // (1024 * 1024)} MB."))
        return out
    frames, problems = _frames(part, limits)
    out.problems.extend(problems)
    out.pages = len(frames)
    if not frames:
        return out
    try:
        # Pages of our own form (recognised by their QR code) are read box by box; the rest by OCR.
        forms = form_zones.read_form_images(frames, part.name)
        out.form_edition, ours, out.references = forms.edition, forms.indexes, forms.references
        # Return pages answer requests of their own: each page's values stay apart (a batch's pages).
        out.multi = bool(forms.references)
        out.records.extend(r for r in forms.records if r)
        numbers = [n for n in range(1, len(frames) + 1) if n - 1 not in ours]
        results = ocr.read_pages([frames[n - 1] for n in numbers], limits) if numbers else []
        record, texts = _read(part, frames, numbers, results, limits, out)
    finally:
        for frame in frames:
            frame.close()
    out.text = "\n\f\n".join(texts)
    if record:
        out.records.append(record)
    return out


def _read(part: Part, frames: list[Image.Image], numbers: list[int], results: list[list[Word] | ocr.OcrError],
          limits: Limits, out: Extraction) -> tuple[list[Candidate], list[str]]:
    """One record from the OCRed pages, read as one letter (`ocr_letter`); a page OCR could not
    read becomes a problem in `out`."""
    pages: list[tuple[int, list[Word]]] = []
    for number, result in zip(numbers, results, strict=True):
        if isinstance(result, ocr.OcrError):
            timeout = isinstance(result, ocr.OcrTimeout)
            out.problems.append(PartProblem(
                code="ocr_timeout" if timeout else "ocr_failed", part=part.name,
                message=f"{_name(part)} page {number} could not be read by OCR"
                + (f" within {limits.ocr_seconds_per_page:g} seconds." if timeout else ".")))
            continue
        words: list[Word] = [replace(w, page=number) for w in result]
        if words:
            pages.append((number, words))
    found, texts = ocr_letter.read_letter(pages, part, set())
    record: list[Candidate] = []
    per_page = ocr_letter.by_page(found, [n for n, _words in pages]) if pages else {}
    for number, mine in per_page.items():
        frame = frames[number - 1]
        # Boxes on the page as received (the review page shows it), after the second reading used them.
        record.extend(ocr_boxes.levelled(frame).candidates(_second_reading(frame, mine, limits)))
    return record, texts
