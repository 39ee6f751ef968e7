"""Our own request form: the reader of printed-and-faxed copies, box by box.

The form's layout is data (`parsers.form_layout`): one list of field specs drives the PDF
(`intake.form`), its AcroForm fields and this zone reader, so the three can never disagree about
where a field is. A faxed page is recognised (`parsers.form_register`) by its QR code
(form id, edition, layout version, page), registered to the template from the four solid corner
marks (rotation, skew, scale and the 2:1 stretch of 204x98 faxes are one homography), and each
field box is read on its own. A value's provenance box is the template box carried back through
that registration (`FormPage.shown_box`): the review page outlines it on the page as received.
Tesseract runs once per character class for all pages of a file: the crops of one class (digits
only for SSN, EIN and dates; phone and ZIP characters; letters; free text) are stacked into one
strip image, read with that class's whitelist and split back by row, several times faster than one
Tesseract process per field. A box read with less than `SURE` confidence, or whose reading does not
fit the box (digit count, date, e-mail, a zero among letters), is read again, enlarged and with
thinned strokes; only unanimous, fitting readings are taken without a flag. Everything else keeps
the best reading, `uncertain` (`parsers.form_text` shapes a reading into a value and says its doubts):
the most votes, each word the readings differ on then taken from the reading whose drawing in the
form's font fits the box's ink clearly best (`form_render`).
A `T` is checked for the foot of a typewriter's serif `I` (Tesseract confuses the two, sure of
itself), a small `i` for its dot (`form_glyphs`), a `c` or `e` for its middle bar
(`form_bars`); a letter alone in its box is read once (`form_glyphs.lone_glyph`), a country's name
cut at its box's end is the one country it begins. A page's boxes then check one another: a postal
code by its address's country (`postcodes`), a doubted e-mail address by the names beside it
(`email_names`). Measured on the 100 generated faxes of tests/test_form.py: 99.84% of fields right (92%
right and unflagged), none wrong without a flag, 0.8 s per page.
Our fax reply's return page (`intake.returnpage`) is read the same way: its QR code (or, lost in
the fax, its printed page code with a check number) names the request and the form fields it has
boxes for, and `return_specs` places those boxes as the page drew them.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from typing import NamedTuple

import cv2
import numpy as np
import pytesseract
from PIL import Image

from parsers import (
    email_names,
    form_bars,
    form_digits,
    form_glyphs,
    form_render,
    form_words,
    postcodes,
    value_places,
    values,
)
from parsers.form_crops import (
    _Crop,
    _field_crop,
    _has_stroke,
    _ink,
    _inked_cells,
    _tick,
)
from parsers.form_layout import (
    _DATE_SEPARATORS,
    AGREE_FLOOR,
    CELL_W,
    CODE_LINE,
    LOW_CONFIDENCE,
    MARK_SIZE,
    MIN_INK_PIXELS,
    PAGE_H,
    PAGE_W,
    PAGES,
    QR_BOX,
    READ_DPI,
    RETURN_BOTTOM,
    RETURN_ROW,
    RETURN_TOP,
    SECOND_READS,
    SURE,
    TICK_DOUBT,
    TICK_RATIO,
    WHITELISTS,
    FieldSpec,
    Layout,
    Option,
    code_line,
    edition_code,
    layout,
    mark_centers,
    parse_return_payload,
    qr_payload,
    return_payload,
    return_rows,
    return_specs,
)
from parsers.form_register import FormPage, recognise
from parsers.form_text import _i_or_l, _Read, _squash, _value
from parsers.types import Candidate, Provenance

# The form's layout, its pages' recognition and its boxes' text shaping live in modules of their
# own; their names stay offered here, where the intake, the generators and the tests use them.
__all__ = [
    "CELL_W",
    "CODE_LINE",
    "MARK_SIZE",
    "PAGES",
    "PAGE_H",
    "PAGE_W",
    "QR_BOX",
    "RETURN_BOTTOM",
    "RETURN_ROW",
    "RETURN_TOP",
    "_DATE_SEPARATORS",
    "FieldSpec",
    "FormPage",
    "FoundForms",
    "Layout",
    "Option",
    "_Read",
    "_i_or_l",
    "_value",
    "code_line",
    "edition_code",
    "layout",
    "mark_centers",
    "ocr_whitelist",
    "parse_return_payload",
    "qr_payload",
    "read_form_images",
    "read_found",
    "read_page",
    "read_pages",
    "recognise",
    "recognise_safely",
    "return_payload",
    "return_rows",
    "return_specs",
]

log = logging.getLogger(__name__)

os.environ["OMP_THREAD_LIMIT"] = "1"  # one Tesseract per core; its threads only fight each other


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


def _thinned(crop: _Crop) -> _Crop:
    """The crop with a pixel of ink taken off its strokes' edges: the same letters, other shapes."""
    return _Crop(crop.spec, cv2.dilate(crop.image, np.ones((2, 2), np.uint8)), crop.chars)


def _ocr_strip(crops: list[_Crop], whitelist: str, scale: float = 1.0) -> list[_Read]:
    """One Tesseract run over the stacked crops of one character class; words go back by row.

    `scale` != 1 reads an enlarged copy: a further, partly independent reading to check the first.
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
    for crop, words in zip(crops, found, strict=True):
        words.sort()
        # A company's legal form, a street's type: a last word from a closed list, whose thin
        # letters (`lic`, `bivd`) are settled before readings are compared (`form_words`).
        text = form_words.settle_last_word(crop.spec.path, " ".join(w for _, w, _ in words))
        if crop.spec.path.endswith(".street"):  # `Vondklaind Bivd, Suite 462`: a type before the suite
            text = form_words.street_type_slip(text) or text
        text = form_glyphs.lone_glyph(crop.image, text)
        out.append(_Read(text, min((c for _, _, c in words), default=0.0), text.split()))
    return out


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
    read again (`SECOND_READS`: enlarged 1.5 and 2 times, and enlarged with thinned strokes): only
    when every reading agrees, fits the box and none is a mere guess (`AGREE_FLOOR`) is that value
    taken. Otherwise the box goes to staff with the best fitting reading: shown, never taken
    silently. The thinned copy only checks: it is read to disagree, and its reading neither is
    shown nor votes (measured: thinning breaks as many faint strokes as it frees, `payroli` for
    `payroll`). It is read in a run of its own (in one strip with the others it changed their
    readings) and only for boxes of letters: digits have their count and shape to check them.
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
    checks: dict[int, list[_Read]] = {i: [] for i in readings}
    letters = any(c.isalpha() for c in whitelist)
    passes = [(scale, thin) for scale, thin in SECOND_READS if letters or not thin]
    complete = True
    for scale, thin in passes:
        again = list(readings)
        if not again:
            break
        batch = [crops[i] for i in again]
        try:
            more = _ocr_strip([_thinned(c) for c in batch] if thin else batch, whitelist, scale=scale)
        except (RuntimeError, OSError) as exc:
            log.warning("form zone OCR (another reading) failed: %s", type(exc).__name__)
            complete = False
            break
        for i, r in zip(again, more, strict=True):
            (checks if thin else readings)[i].append(r)
    for i, rs in readings.items():
        agreed = _agreed(crops[i], rs, checks[i]) if complete else None
        if agreed is not None:
            out[i] = (agreed, None)
            continue
        fitting = [r for r in rs if _fits(crops[i], r)] or rs
        votes = {_squash(r.text): sum(_squash(x.text) == _squash(r.text) for x in fitting) for r in fitting}
        best = max(fitting, key=lambda r: (votes[_squash(r.text)], r is rs[0], r.conf))
        best = form_render.drawn_choice(crops[i], best, rs + checks[i]) if letters else best
        texts = {_squash(r.text) for r in rs + checks[i]}
        out[i] = (best, "readings of the box differ" if len(texts) > 1 else f"read with {best.conf:.0%} confidence")
    return out


def _agreed(crop: _Crop, readings: list[_Read], checks: list[_Read]) -> _Read | None:
    """The value when every reading of the box and every check reading agree, fit the box and
    none is a guess; else None.

    Readings of one image by one engine are not independent: two out of three agreeing was
    measured to let wrong digits through, so only unanimity rescues a doubtful box.
    """
    a = readings[0]
    every = readings + checks
    if all(_squash(r.text) == _squash(a.text) for r in every) and min(r.conf for r in every) >= AGREE_FLOOR \
            and _fits(crop, a):
        return _Read(a.text, max(r.conf for r in readings), a.words)
    return None


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


def read_pages(pages: list[tuple[FormPage, str, int]]) -> list[list[Candidate]]:  # noqa: C901  (each correction of a box's reading in the order it applies)
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
        alike = form_digits.doubts([c.image for c in crops], [r.text for r, _ in reads]) if call == "digits" \
            else [None] * len(crops)
        for (index, crop), (first_read, first_doubt), look in zip(items, reads, alike, strict=True):
            read, doubt = first_read, first_doubt or look
            fp, part, number = pages[index]
            if call not in ("digits", "num"):
                read, shapes = _letter_shapes(crop, read, ocr_whitelist(crop.spec))
                doubt = doubt or shapes or form_glyphs.unread_ink(crop.image, read.text)
            cut = form_glyphs.cut_short(crop.image) if crop.spec.kind == "text" else None
            doubt = doubt or cut
            raw, shape = _value(crop.spec, read, crop.chars)
            if cut and crop.spec.path.endswith("country"):
                raw = value_places.country_cut(raw) or raw  # `Federal Republic of G`: one country's name
            doubt = doubt or shape or _doubt(crop.spec, read.text)
            _add(fp, crop.spec, part, number, raw or "?", read.conf, doubt, results[index])
    for index, specs in enumerate(page_specs):
        order = {s.path: i for i, s in enumerate(specs)}
        results[index].sort(key=lambda c: order.get(c.field, 0))
    return results


def _letter_shapes(crop: _Crop, read: _Read, whitelist: str) -> tuple[_Read, str | None]:
    """A box of letters' reading checked against the shapes of the letters Tesseract confuses,
    sure of itself: a `T` with a serif `I`'s foot, an `i` with an `l`'s stroke (typed in small
    letters), a `c` or `e` with the other's middle bar. The first doubt found is the box's; a
    doubted letter is swapped for the other only where the swapped word, drawn in the form's font,
    fits the box clearly better (`form_render.swap_letters`), and the box stays flagged."""
    doubt: str | None = None
    if "T" in read.text:
        read, doubt = form_glyphs.serif_i(crop.image, read)
    text, thin = form_glyphs.i_or_l(crop.image, read.text)
    if thin:
        text = form_render.swapped(crop, text, ("il",))  # `sondiey`: drawn, an l fits
        read, doubt = _Read(text, read.conf, text.split()), doubt or thin
    bar = form_bars.c_or_e(crop.image, read.text, whitelist)
    if bar:
        text = form_render.swapped(crop, read.text, ("ce", "CE"))  # `meshaltford`
        read = _Read(text, read.conf, text.split())
    return read, doubt or bar


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


def _settle_codes(found: list[Candidate]) -> list[Candidate]:
    """`postcodes.settle`, a doubted country counted as read when another box of the copy read the
    same code (the place of work's `IE` and the assignment's): two boxes do not slip alike."""
    codes = Counter(c.value for c in found if c.field.endswith(".country"))

    def doubted(c: Candidate) -> bool:
        return postcodes.flagged(c) and not (c.field.endswith(".country") and codes[c.value] > 1)

    return postcodes.settle(found, doubted)


def read_found(found: list[tuple[int, FormPage]], part: str) -> FoundForms:
    """Read recognised pages (0-based page index, page)."""
    if not found:
        return FoundForms([], None, set(), [])
    reads = read_pages([(fp, part, index + 1) for index, fp in found])
    by_index = {index: cands for (index, _fp), cands in zip(found, reads, strict=True)}
    # One copy's boxes check one another: a postal code by its country, an address by the names.
    records = [email_names.settle(_settle_codes([c for index, _fp in copy for c in by_index[index]]))
               for copy in group_forms(found)]
    edition = next((fp.edition_code for _index, fp in found if fp.reference is None), None)
    references = list(dict.fromkeys(fp.reference for _index, fp in found if fp.reference))
    return FoundForms(records, edition, {index for index, _ in found}, references)
