"""OCR of scanned and faxed pages: square the pixels, deskew, despeckle, Tesseract with confidences.

Faxes arrive at 204x98 ("normal") or 204x196 ("fine") dpi, one bit deep, a degree or two crooked
and speckled. Tesseract reads them well only once the pixels are square, the text is around 300 dpi
and level, so `prepare` does that first. Word confidences come back with every word (0..1) so that
a field's confidence can be its weakest word, and values read with little confidence are flagged
for a person rather than trusted.

Tesseract runs single-threaded (`OMP_THREAD_LIMIT=1`), one process per core, as its maintainers
advise: its OpenMP threads only fight each other when pages are already read in parallel.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np
import pytesseract
from PIL import Image

from parsers import form_glyphs, ocr_repair, page_marks
from parsers.layout import Word
from parsers.types import Box, Limits

# Children inherit the environment; pytesseract offers no per-call env, so set it once, here.
os.environ["OMP_THREAD_LIMIT"] = "1"

# A candidate whose weakest word Tesseract was less sure of than this is flagged `low_confidence`
# by validation. Measured on 80 generated faxes (tests/test_ocr.py and held-out seeds): wrong values
# were read at up to 0.86 ("af" for "of", "Qkafor" for "Okafor"), while 6-7% of right values fall
# under 0.85 and 11-12% under 0.90. 0.88 keeps every wrong value seen flagged, with some margin.
LOW_CONFIDENCE = 0.88

TARGET_DPI = 300  # Tesseract's LSTM models are trained on text of roughly this size
MIN_DPI = 190  # from a fax's 204 dpi up, pages are read at their own resolution (squared)
MAX_SKEW_DEG = 5.0
BLANK_INK_RATIO = 0.0001  # after despeckling, less ink than two letters: a blank page
PSM = 6  # one block; psm 3, 4 and 6 read the generated faxes equally well (98.4% of fields)
SPECKLE_PIXELS = 2  # connected ink no bigger than this is noise, not text
# A one-bit page stretched this much or more (a 204x98 fax made square) has rows two pixels high:
# its letters' staircase edges, smoothed (Gaussian, sigma in squared pixels), read better. Measured on
# the held-out 204x98 faxes of seed 12: 235 of 315 values read verbatim against 225 unsmoothed;
# a one-bit smoothing (blurred, thresholded again) read 205.
STRETCHED = 1.5
STRETCH_BLUR = 1.2
# Tesseract is as sure of a 204x98 page's words as of a fine page's, yet misreads more of them
# ("Wiencette" for "Wieneette" at 0.9): on such a page every word is trusted this much less, so that
# a doubtful value is flagged for staff rather than passed on.
STRETCHED_DOUBT = 0.05
# A light fax (a high threshold at the sender) breaks a thin typeface's strokes: Tesseract is then
# unsure (under FAINT_WORD) of a quarter or more of a page's words, as of 40% on the one such page of
# 40 held-out faxed letters (seeds 71, 83; the others at most 14%). Such a page is read again with its
# strokes a pixel wider (fields right there: 6 of 29 against 13), and all its words are doubted.
FAINT_SHARE = 0.25
FAINT_WORD = 60.0
# Characters no request value contains that Tesseract reads for a stray l, I or 0 in faxes.
CHAR_BLACKLIST = "!\u00a9\u00a5|"
DIGITS_WHITELIST = "0123456789-/"
_SKEW_KEY = "coc_intake_skew"  # in a page image's `info`: the skew `ocr_page` took off it


# A lone dot or tick is almost always leftover speckle read as punctuation; real punctuation
# sticks to its word.
_SPECKLE_WORD = re.compile(r"[.,'`~_:;|\u2018\u2019\u201c\u201d-]{1,2}")


class OcrError(Exception):
    """Tesseract could not read a page (it failed, or it was stopped)."""


class OcrTimeout(OcrError):
    """Tesseract took longer than `Limits.ocr_seconds_per_page` on a page."""

    def __init__(self, page: int, seconds: float) -> None:
        super().__init__(f"OCR of page {page} took longer than {seconds:g} s")
        self.page = page
        self.seconds = seconds


def _dpi(image: Image.Image) -> tuple[float, float]:
    """The image's (x, y) dpi; when unknown or nonsense, guessed from a letter page's width."""
    raw = image.info.get("dpi")
    try:
        x, y = float(raw[0]), float(raw[1])  # type: ignore[index]
    except (TypeError, ValueError, IndexError):
        x = y = 0.0
    if not (20 <= x <= 2400 and 20 <= y <= 2400):
        guess = min(600.0, max(72.0, image.width / 8.5))  # phones and some scanners write none
        return guess, guess
    return x, y


def _scale_factors(image: Image.Image) -> tuple[float, float]:
    """Horizontal and vertical stretch that make the pixels square, at a size Tesseract reads well.

    A fax's 204 dpi across is kept (204x98 pages are stretched to 204x204, 204x196 to 204x204):
    measured on the generated and the held-out faxes, squaring them at 204 reads as many fields
    right as scaling them up to 300 dpi did (99.2% against 99.0%, 46.1% against 46.3%), and
    Tesseract's time grows with the pixels (a fine page at 300 dpi costs it half as much again).
    Lower resolutions are scaled up to TARGET_DPI (text that small is too small for Tesseract);
    600 dpi scans down, which costs no accuracy and halves Tesseract's time.
    """
    xdpi, ydpi = _dpi(image)
    base = max(xdpi, ydpi)
    up = TARGET_DPI / base if base < MIN_DPI or base > TARGET_DPI * 1.5 else 1.0
    return up * base / xdpi, up * base / ydpi


def _ink(gray: np.ndarray) -> np.ndarray:
    """Boolean mask of dark pixels (Otsu threshold; fixed for pure bilevel pages)."""
    if gray.min() == gray.max():
        return np.zeros(gray.shape, dtype=bool)
    thresh, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return gray <= thresh


def estimate_skew(gray: np.ndarray, *, max_deg: float = MAX_SKEW_DEG) -> float:
    """The angle (degrees, counter-clockwise like `Image.rotate`) by which the text lines are tilted.

    Projection profile: the rows of ink are sharpest (largest sum of squared row counts) when
    projected along the text lines. Works on ink pixel coordinates, so a page costs a few
    milliseconds per trial angle; a coarse pass then a fine one around the best.
    """
    ys, xs = np.nonzero(_ink(gray))
    return _skew_of_ink(ys.astype(np.float64), xs.astype(np.float64) - gray.shape[1] / 2, max_deg)


SKEW_SAMPLE = 60_000  # ink pixels: plenty to find a line direction to a few hundredths of a degree


def _skew_of_ink(yf: np.ndarray, xf: np.ndarray, max_deg: float = MAX_SKEW_DEG) -> float:
    """`estimate_skew` on ink pixel coordinates (square pixels, x from the page's centre)."""
    if len(xf) < 50:
        return 0.0
    if len(xf) > SKEW_SAMPLE:  # an even stride through the rows: no random permutation of them all
        step = len(xf) / SKEW_SAMPLE
        pick = (np.arange(SKEW_SAMPLE) * step).astype(np.int64)
        yf, xf = yf[pick], xf[pick]

    def score(deg: float) -> float:
        proj = yf + xf * math.tan(math.radians(deg))
        # Shifted, never clipped: clipping would pile the top line into one bin and win.
        hist = np.bincount((proj - proj.min()).astype(np.int64))
        return float(np.square(hist.astype(np.float64)).sum())

    coarse = np.arange(-max_deg, max_deg + 1e-9, 0.25)
    best = max(coarse, key=score)
    fine = np.arange(best - 0.25, best + 0.25 + 1e-9, 0.02)
    return float(np.clip(max(fine, key=score), -max_deg, max_deg))


def _despeckle(mask: np.ndarray, max_area: int) -> np.ndarray:
    """Drop connected ink components no bigger than `max_area` pixels (fax line speckle)."""
    if max_area < 1:
        return mask
    _count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    small = stats[:, cv2.CC_STAT_AREA] <= max_area
    small[0] = False  # background
    if not small.any():
        return mask
    kept: np.ndarray = mask & ~small[labels]
    return kept


def _is_bilevel(image: Image.Image, gray: np.ndarray) -> bool:
    if image.mode == "1":
        return True
    values = np.unique(gray[:: max(1, gray.shape[0] // 200), :: max(1, gray.shape[1] // 200)])
    return len(values) <= 2


@dataclass(frozen=True)
class Prepared:
    """A page made ready for Tesseract: square pixels at about 300 dpi, level, marks taken off."""

    arr: np.ndarray  # uint8, 0 ink, 255 paper
    dpi: int
    angle: float  # the skew that was removed (degrees)
    leaders: list[page_marks.Leader]  # in `arr`'s pixels
    lines: list[page_marks.Leader]  # the lines taken off, in `arr`'s pixels
    stretched: bool = False  # a one-bit page stretched to square pixels (a 204x98 fax): read with doubt


def _resize(arr: np.ndarray, fx: float, fy: float) -> np.ndarray:
    size = (max(1, round(arr.shape[1] * fx)), max(1, round(arr.shape[0] * fy)))
    interpolation = cv2.INTER_CUBIC if fx * fy >= 1 else cv2.INTER_AREA
    out: np.ndarray = cv2.resize(arr, size, interpolation=interpolation)
    return out


def _moved(leaders: list[page_marks.Leader], fx: float, fy: float, turn: np.ndarray | None) -> list[page_marks.Leader]:
    """The leaders' boxes scaled, then turned with the page (about their centres)."""
    out = []
    for d in leaders:
        x0, y0, x1, y1 = d.x0 * fx, d.y0 * fy, d.x1 * fx, d.y1 * fy
        if turn is not None and d.kind == "vertical":  # a streak runs down the page as scanned: it leans now
            corners = turn @ np.array([[x0, x1, x0, x1], [y0, y0, y1, y1], [1.0, 1.0, 1.0, 1.0]])
            x0, x1 = float(corners[0].min()), float(corners[0].max())
            y0, y1 = float(corners[1].min()), float(corners[1].max())
        elif turn is not None:
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            nx, ny = turn @ np.array([cx, cy, 1.0])
            x0, x1, y0, y1 = x0 + nx - cx, x1 + nx - cx, y0 + ny - cy, y1 + ny - cy
        out.append(page_marks.Leader(x0, y0, x1, y1, d.kind))
    return out


def prepare_page(image: Image.Image, *, thicken: bool = False) -> Prepared:
    """The page ready for Tesseract (see `Prepared`).

    Speckle, lines, streaks and leader dots are taken off at the page's own resolution, where a
    fax is one bit deep and a quarter of the pixels; then the pixels are made square, and the page
    is levelled. OpenCV does the resampling: a few times faster than Pillow at these sizes.
    """
    arr = np.asarray(image.convert("L"))
    bilevel = _is_bilevel(image, arr)
    xdpi, ydpi = _dpi(image)
    if bilevel:
        # Speckle is one or two fax pixels; at the native resolution even a full stop is bigger.
        raw = arr < 128
        if thicken:  # each stroke a pixel wider across, at the page's own resolution (`FAINT_SHARE`)
            raw = cv2.dilate(raw.astype(np.uint8), np.ones((1, 2), np.uint8)).astype(bool)
        _count, labels, stats, _ = cv2.connectedComponentsWithStats(raw.astype(np.uint8), connectivity=8)
        speck = stats[:, cv2.CC_STAT_AREA] <= SPECKLE_PIXELS
        speck[0] = True  # the paper
        ink = raw & ~speck[labels]
        marks = page_marks.find_marks(ink, (xdpi, ydpi), (labels, stats, speck))
    else:
        ink = _ink(arr)
        marks = page_marks.find_marks(ink, (xdpi, ydpi))
    drop = marks.drop
    if bilevel:
        arr = np.where(ink & ~drop, 0, 255).astype(np.uint8)
    elif drop.any():
        arr = arr.copy()
        arr[cv2.dilate(drop.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)] = 255
    fx, fy = _scale_factors(image)
    if abs(fx - 1) > 0.01 or abs(fy - 1) > 0.01:
        arr = _resize(arr, fx, fy)
    if bilevel and fy > STRETCHED:
        arr = cv2.GaussianBlur(arr, (0, 0), STRETCH_BLUR)
    # On the squared page: a 98 dpi page's own rows are too coarse to find the skew to a
    # hundredth of a degree, and a letter broken by a rotation a tenth off reads as another.
    angle = estimate_skew(arr)
    turn = None
    if abs(angle) >= 0.1:
        h, w = arr.shape
        turn = cv2.getRotationMatrix2D((w / 2, h / 2), -angle, 1.0)
        arr = cv2.warpAffine(arr, turn, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)
    if not bilevel:
        # Tesseract gets the smooth gray edges of the scaled letters, not a second thresholding:
        # measured on the generated faxes, 98.4% of fields right against 97.1% when binarized.
        ink = _ink(arr)
        arr = arr.copy()
        arr[ink & ~_despeckle(ink, SPECKLE_PIXELS)] = 255
    return Prepared(np.ascontiguousarray(arr), round(xdpi * fx), angle, _moved(marks.leaders, fx, fy, turn),
                    _moved(marks.lines, fx, fy, turn), bilevel and fy > STRETCHED)


def _prepare_array(image: Image.Image) -> tuple[np.ndarray, float]:
    """Prepared page as a uint8 array (0 ink, 255 paper) and the skew angle that was removed."""
    prep = prepare_page(image)
    return prep.arr, prep.angle


def prepare(image: Image.Image) -> Image.Image:
    """Grayscale page with square pixels at about 300 dpi, level and without speckle.

    The fax header is kept (it carries the sender's number); it reads as one line of its own.
    """
    prep = prepare_page(image)
    out = Image.fromarray(prep.arr, mode="L")
    out.info["dpi"] = (prep.dpi, prep.dpi)
    return out


def ink_ratio(image: Image.Image) -> float:
    """Share of dark pixels: tells a blank page (or one carrying only speckle) from a written one."""
    arr = np.asarray(image.convert("L"))
    return float((arr < 128).mean()) if arr.size else 0.0


def _ink_bbox(arr: np.ndarray, pad: int) -> tuple[int, int, int, int] | None:
    """Bounding box of the inked region (rows/columns with more than a trace of ink)."""
    ink = arr < 128
    rows = np.nonzero(ink.sum(axis=1) >= 2)[0]
    cols = np.nonzero(ink.sum(axis=0) >= 2)[0]
    if not len(rows) or not len(cols):
        return None
    h, w = arr.shape
    return (max(0, cols[0] - pad), max(0, rows[0] - pad), min(w, cols[-1] + pad + 1),
            min(h, rows[-1] + pad + 1))


def _tesseract_data(image: Image.Image, config: str, timeout: float, page: int,
                    budget: float) -> dict[str, list[object]]:
    if timeout <= 0:
        raise OcrTimeout(page, budget)
    try:
        data: dict[str, list[object]] = pytesseract.image_to_data(
            image, lang="eng", config=config, output_type=pytesseract.Output.DICT, timeout=timeout)
    except RuntimeError as exc:  # pytesseract's TesseractError is a RuntimeError too
        if "timeout" in str(exc).lower():
            raise OcrTimeout(page, budget) from exc
        raise OcrError(f"Tesseract failed on page {page} ({type(exc).__name__})") from exc
    return data


def _read_prepared(prep: Prepared, psm: int, timeout: float, page: int,
                   budget: float) -> tuple[dict[str, list[object]], int, int] | None:
    """Tesseract's data on the inked region of a prepared page and that region's offset; None blank."""
    arr = prep.arr
    if float((arr < 128).mean()) < BLANK_INK_RATIO:
        return None
    bbox = _ink_bbox(arr, pad=max(10, arr.shape[1] // 100))
    if bbox is None:
        return None
    ox, oy, ex, ey = bbox
    # Tesseract reads a line touching the image edge badly (the fax header does): pad with paper.
    border = 20
    crop = _for_tesseract(np.pad(arr[oy:ey, ox:ex], border, constant_values=255))
    config = f"--psm {psm} --dpi {prep.dpi} -c tessedit_char_blacklist={CHAR_BLACKLIST}"
    return _tesseract_data(crop, config, timeout, page, budget), ox - border, oy - border


def _unsure_share(data: dict[str, list[object]]) -> float:
    """The share of a reading's words (three characters or more) Tesseract was unsure of."""
    confs = [float(str(c)) for t, c in zip(data["text"], data["conf"], strict=True)
             if len(str(t).strip()) > 2 and float(str(c)) >= 0]
    return sum(c < FAINT_WORD for c in confs) / len(confs) if confs else 0.0


def _thickened(image: Image.Image, prep: Prepared, read: tuple[dict[str, list[object]], int, int], psm: int,
               timeout: float, page: int, budget: float) -> tuple[Prepared, tuple[dict[str, list[object]], int, int]]:
    """A faint page read again with its strokes a pixel wider: the reading Tesseract is surer of."""
    thick = prepare_page(image, thicken=True)
    try:
        again = _read_prepared(thick, psm, timeout, page, budget)
    except OcrTimeout:
        return prep, read
    if again is not None and _unsure_share(again[0]) < _unsure_share(read[0]):
        return thick, again
    return prep, read


def ocr_page(image: Image.Image, *, page: int, limits: Limits | None = None, psm: int | None = None) -> list[Word]:
    """The words on one page image, with confidences (0..1) and boxes as fractions of the page.

    Blank pages cost nothing; only the inked region of a page is handed to Tesseract. Raises
    `OcrTimeout` when Tesseract needs longer than the per-page limit.
    """
    limits = limits or Limits()
    budget = limits.ocr_seconds_per_page
    started = time.monotonic()
    prep = prepare_page(image)
    read = _read_prepared(prep, psm or PSM, budget - (time.monotonic() - started), page, budget)
    if read is None:
        return []
    faint = _unsure_share(read[0]) > FAINT_SHARE and _is_bilevel(image, np.asarray(image.convert("L")))
    if faint:
        prep, read = _thickened(image, prep, read, psm or PSM, budget - (time.monotonic() - started), page, budget)
    image.info[_SKEW_KEY] = prep.angle  # for a second reading of a value from its crop
    arr, dpi, leaders = prep.arr, prep.dpi, prep.leaders
    h, w = arr.shape
    data, ox, oy = read
    words: list[Word] = []
    for i, said in enumerate(data["text"]):
        text = str(said).strip()
        conf = float(str(data["conf"][i]))
        if not text or conf < 0 or _SPECKLE_WORD.fullmatch(text):
            continue
        left, top = int(str(data["left"][i])) + ox, int(str(data["top"][i])) + oy
        right, bottom = left + int(str(data["width"][i])), top + int(str(data["height"][i]))
        # Fractions of the deskewed page: it has the original's size and centre, and in it the
        # words of one line share a baseline, which is what the line grouping relies on.
        box = Box(x0=max(0.0, left / w), y0=max(0.0, top / h), x1=min(1.0, right / w),
                  y1=min(1.0, bottom / h))
        sure = max(0.0, min(1.0, conf / 100))
        if (unquoted := ocr_repair.stray_quote(text)) is not None:
            text, sure = unquoted, min(sure, ocr_repair.CROSSED_CONFIDENCE)  # a speck glued on as a quote
        if prep.stretched:
            sure = max(0.0, sure - STRETCHED_DOUBT)
        if faint:  # on a page Tesseract doubted so much, no word is trusted
            sure = min(sure, ocr_repair.CROSSED_CONFIDENCE)
        if ocr_repair.crossed(left, top, right, bottom, prep.lines, round(0.02 * dpi)) or ocr_repair.misread(text):
            sure = min(sure, ocr_repair.CROSSED_CONFIDENCE)  # a stroke may have gone with the line
        elif "i" in text and form_glyphs.i_or_l(arr[max(0, top - 2):bottom + 2, max(0, left - 2):right + 2], text)[1]:
            sure = min(sure, ocr_repair.CROSSED_CONFIDENCE)  # an `l`'s stroke read as `i` (`Pealtell`)
        words.append(Word(text=text, box=box, conf=sure, page=page))
    words = [part for word in words for part in ocr_repair.leader_tail(word)]
    words, leaders = ocr_repair.leader_remnants(words, leaders, w, h, dpi)
    words, leaders = ocr_repair.flat_remnants(words, leaders, w, h, dpi)
    # A leader taken off the page stands between its label and value as in a PDF's text layer.
    words += [Word(text=d.text, box=Box(x0=d.x0 / w, y0=d.y0 / h, x1=min(1.0, d.x1 / w), y1=min(1.0, d.y1 / h)),
                   conf=1.0, page=page) for d in leaders]
    return words


def page_workers() -> int:
    """How many pages to OCR at once: one Tesseract per core, unless `COC_INTAKE_OCR_THREADS` says.

    The extraction pool already runs one document per core, so its children set it to 1: a core's
    worth of Tesseracts per document on top would only make them fight over the cores.
    """
    try:
        wanted = int(os.environ.get("COC_INTAKE_OCR_THREADS", ""))
    except ValueError:
        wanted = 0
    return wanted if wanted > 0 else (os.cpu_count() or 1)


def read_pages(images: Sequence[Image.Image], limits: Limits | None = None, *,
               workers: int | None = None) -> list[list[Word] | OcrError]:
    """Every page's words, pages in parallel: one single-threaded Tesseract process per core.

    A thread pool suffices, since each pytesseract call is its own process. A page that failed
    or timed out gives its `OcrError` in its place, so the other pages' words are not lost.
    """
    limits = limits or Limits()
    if not images:
        return []
    workers = max(1, min(workers or page_workers(), len(images)))

    def one(item: tuple[int, Image.Image]) -> list[Word] | OcrError:
        n, img = item
        try:
            return ocr_page(img, page=n, limits=limits)
        except OcrError as exc:
            return exc

    if workers == 1:
        return [one(item) for item in enumerate(images, start=1)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, enumerate(images, start=1)))


def ocr_pages(images: Sequence[Image.Image], limits: Limits | None = None, *,
              workers: int | None = None) -> list[list[Word]]:
    """Every page's words (see `read_pages`); raises the first failed page's `OcrError`, if any."""
    out: list[list[Word]] = []
    for result in read_pages(images, limits, workers=workers):
        if isinstance(result, OcrError):
            raise result
        out.append(result)
    return out


def _for_tesseract(arr: np.ndarray) -> Image.Image:
    """The array as an image pytesseract hands over uncompressed (PGM): compressing a 300 dpi page
    to PNG for a temporary file costs a tenth of a second that buys nothing."""
    img = Image.fromarray(arr, mode="L")
    img.format = "PPM"
    return img
