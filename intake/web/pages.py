"""The source of a request as staff see it: page images of PDFs and faxes, text of mail bodies.

Page images are rendered on request and cached in memory only, keyed by a hash of the submission's
bytes and the page. Not on disk: a rendered page shows the full SSN, the submission itself is
encrypted at rest, and a cache file would be a clear copy outside the keyring (and outside key
rotation); a page renders again in a fraction of a second after a restart.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from intake.store.store import SubmissionRecord
from parsers.sniff import sniff
from parsers.types import Limits, Part

IMAGE_TYPES = ("application/pdf", "image/tiff", "image/png", "image/jpeg")
MAIL_CHANNELS = ("imap", "smtp", "lmtp")
RENDER_WIDTH = 1275  # pixels: a letter page at 150 dpi, sharp enough to read a fax
CACHE_BYTES = 64 * 1024 * 1024  # rendered pages kept in memory (a page is 50-300 kB)


@dataclass(frozen=True)
class SourcePart:
    """One part of a submission with what the page needs to show it."""

    index: int
    name: str
    media_type: str
    pages: int
    text: str
    data: bytes

    @property
    def is_image(self) -> bool:
        return self.media_type in IMAGE_TYPES


def source_parts(sub: SubmissionRecord, limits: Limits | None = None) -> list[SourcePart]:
    """The parts of a submission in extraction order, with their bytes (the mail is parsed again)."""
    limits = limits or Limits()
    summaries = list((sub.result or {}).get("parts") or [])
    if sub.channel in MAIL_CHANNELS:
        from parsers.mime import parse_mail

        raw_parts: list[Part] = list(parse_mail(sub.raw, limits).parts)
    else:
        media = sniff(sub.raw, sub.fax_filename, None)
        raw_parts = [Part(name=sub.fax_filename or "fax", media_type=media, data=sub.raw, filename=sub.fax_filename)]
    out: list[SourcePart] = []
    for i, part in enumerate(raw_parts):
        summary = summaries[i] if i < len(summaries) else {}
        media = part.media_type
        if media not in IMAGE_TYPES and media in ("application/octet-stream", ""):
            media = sniff(part.data, part.filename, None)
        out.append(
            SourcePart(
                index=i,
                name=str(summary.get("name") or part.name),
                media_type=media,
                pages=int(summary.get("pages") or (_count_pages(part.data, media) if media in IMAGE_TYPES else 0)),
                text=str(summary.get("text") or part.text or ""),
                data=part.data,
            )
        )
    return out


def _count_pages(data: bytes, media: str) -> int:
    try:
        if media == "application/pdf":
            import pypdfium2 as pdfium

            doc = pdfium.PdfDocument(data)
            try:
                return len(doc)
            finally:
                doc.close()
        from PIL import Image

        with Image.open(io.BytesIO(data)) as im:
            return int(getattr(im, "n_frames", 1))
    except Exception:
        return 0


def render_png(
    data: bytes, media_type: str, page: int, *, width: int = RENDER_WIDTH, max_pixels: int = 60_000_000
) -> bytes:
    """Page `page` (1-based) of a PDF or image file as a PNG about `width` pixels wide.

    Raises `ValueError` for a page that does not exist or a file that cannot be read.
    """
    from PIL import Image

    if page < 1:
        raise ValueError("pages count from 1")
    if media_type == "application/pdf":
        import pypdfium2 as pdfium

        try:
            doc = pdfium.PdfDocument(data)
        except Exception as exc:
            raise ValueError("the PDF cannot be read") from exc
        try:
            if page > len(doc):
                raise ValueError(f"the PDF has {len(doc)} page(s)")
            pdf_page = doc[page - 1]
            scale = width / max(pdf_page.get_width(), 1.0)
            image = pdf_page.render(scale=scale).to_pil()
        finally:
            doc.close()
    else:
        Image.MAX_IMAGE_PIXELS = max_pixels
        try:
            src = Image.open(io.BytesIO(data))
            src.seek(page - 1)
        except EOFError as exc:
            raise ValueError("no such page") from exc
        except Exception as exc:
            raise ValueError("the image cannot be read") from exc
        image = src.convert("L") if src.mode in ("1", "L", "I;16") else src.convert("RGB")
        # Normal-resolution faxes have half the vertical resolution: square the pixels.
        dpi = src.info.get("dpi") or (0, 0)
        xdpi, ydpi = float(dpi[0] or 0), float(dpi[1] or 0)
        height = image.height
        if xdpi and ydpi and abs(xdpi / ydpi - 2.0) < 0.2:
            height *= 2
        ratio = width / max(image.width, 1)
        image = image.resize((width, max(1, round(height * ratio))))
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def redact(png: bytes, boxes: list[dict[str, float]], margin: float = 0.01) -> bytes:
    """The page with each box (page fractions) painted over: what a reviewer may see of an SSN."""
    from PIL import Image, ImageDraw

    image = Image.open(io.BytesIO(png)).convert("RGB")
    draw = ImageDraw.Draw(image)
    w, h = image.size
    for b in boxes:
        draw.rectangle(
            (
                max(0, (b["x0"] - margin) * w),
                max(0, (b["y0"] - margin) * h),
                min(w, (b["x1"] + margin) * w),
                min(h, (b["y1"] + margin) * h),
            ),
            fill=(40, 40, 40),
        )
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


class PageCache:
    """Rendered pages in memory, least recently used dropped first once over `max_bytes`."""

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            png = self._items.get(key)
            if png is not None:
                self._items.move_to_end(key)
            return png

    def put(self, key: str, png: bytes) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            self._size -= len(old) if old is not None else 0
            self._items[key] = png
            self._size += len(png)
            while self._size > self.max_bytes and len(self._items) > 1:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped)

    def __len__(self) -> int:
        return len(self._items)


PAGES = PageCache()
_purged: set[Path] = set()


def purge_disk_cache(cache_dir: Path) -> None:
    """Remove page images an earlier version cached on disk in clear (once per directory)."""
    if cache_dir in _purged:
        return
    _purged.add(cache_dir)
    if cache_dir.is_dir():
        shutil.rmtree(cache_dir, ignore_errors=True)


def cached_png(
    cache_dir: Path, sub: SubmissionRecord, part: SourcePart, page: int, *, hide: list[dict[str, float]] | None = None
) -> bytes:
    """`render_png` through the in-memory cache, keyed by the submission's hash, part, page and what is
    hidden. `cache_dir` is where earlier versions kept pages on disk: whatever is left there is removed.
    """
    purge_disk_cache(cache_dir)
    hidden = ";".join(f"{b['x0']:.4f},{b['y0']:.4f},{b['x1']:.4f},{b['y1']:.4f}" for b in hide or [])
    key = hashlib.sha256(f"{sub.sha256}:{part.index}:{page}:{RENDER_WIDTH}:{hidden}".encode()).hexdigest()
    png = PAGES.get(key)
    if png is not None:
        return png
    png = render_png(part.data, part.media_type, page)
    if hide:
        png = redact(png, hide)
    PAGES.put(key, png)
    return png
