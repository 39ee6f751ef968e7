"""A faxed or scanned page recognised as one of ours: its QR code read, registered to the template.

A page is recognised by its QR code (form id, edition, layout version, page), registered to the
template from the four solid corner marks (rotation, skew, scale and the 2:1 stretch of 204x98
faxes are one homography). A return page whose QR code did not survive the fax is still known by
its printed page code with a check number.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pytesseract
from PIL import Image

from parsers.form_layout import (
    _CODE,
    _PAYLOAD,
    _RETURN,
    CODE_LINE,
    MARK_INSET,
    MARK_SIZE,
    PAGE_H,
    PAGE_W,
    QR_BOX,
    READ_DPI,
    RETURN_ID,
    FieldSpec,
    _check,
    _px,
    edition_code,
    mark_centers,
    parse_return_payload,
    return_specs,
)
from parsers.types import Box


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
            text: str = sym.data.decode("ascii", errors="replace")
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
