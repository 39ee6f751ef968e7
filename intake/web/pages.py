"""The source of a request as staff see it: page images of PDFs and faxes, text of mail bodies.

Page images are rendered on request and cached in memory only, keyed by a hash of the submission's
bytes and the page. Not on disk: a rendered page shows the full SSN, the submission itself is
encrypted at rest, and a cache file would be a clear copy outside the keyring (and outside key
rotation); a page renders again in a fraction of a second after a restart.

Rendering happens in the web process, so every page's size is checked before it is rasterised
(`RenderLimit`: `[limits] max_pixels`, and what `[pipeline] memory_mb` allows): a 552-byte PDF
with a 20 x 14000 pt page, or a small TIFF of 40 x 1,000,000 pixels, gets a message, not a
MemoryError.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intake.store.states import MAIL_CHANNELS
from intake.store.store import SubmissionRecord
from parsers.mime import parse_mail
from parsers.sniff import sniff
from parsers.types import Limits, Part

_RATIO_SLACK = 0.2  # a page 204x98 within this of 2:1 is a standard-resolution fax, shown squared

IMAGE_TYPES = ("application/pdf", "image/tiff", "image/png", "image/jpeg")
RENDER_WIDTH = 1275  # pixels: a letter page at 150 dpi, sharp enough to read a fax
CACHE_BYTES = 64 * 1024 * 1024  # rendered pages kept in memory (a page is 50-300 kB)
# Bytes one output pixel costs while a page is made: the renderer's bitmap (4), the PIL copy (3),
# the PNG encoder's rows and a painted-over copy for reviewers.
BYTES_PER_PIXEL = 16


class PageTooLarge(ValueError):
    """A page whose image would be over the render limit: it is answered with this message instead."""


@dataclass(frozen=True)
class RenderLimit:
    """The most pixels one page image may have (its source image too), and the setting that says so."""

    pixels: int = 60_000_000
    setting: str = "[limits] max_pixels"

    @classmethod
    def of(cls, max_pixels: int, memory_mb: int) -> RenderLimit:
        by_memory = memory_mb * 1024 * 1024 // BYTES_PER_PIXEL
        if by_memory < max_pixels:
            return cls(by_memory, "[pipeline] memory_mb")
        return cls(max_pixels, "[limits] max_pixels")

    def check(self, page: int, out: tuple[int, int], source_pixels: int = 0) -> None:
        """Raise `PageTooLarge` for a page whose output (width, height) or source is over the limit."""
        w, h = out
        if w * h > self.pixels or source_pixels > self.pixels:
            size = f"{w:,} x {h:,} pixels" if w * h > self.pixels else f"{source_pixels:,} pixels in the file"
            raise PageTooLarge(f"Page {page} is too large to show as an image ({size}, over the limit of "
                               f"{self.pixels:,} set by {self.setting}); the document is kept as it came.")


@dataclass(frozen=True)
class SourcePart:
    """One part of a submission with what the page needs to show it."""

    index: int
    name: str
    media_type: str
    pages: int
    text: str
    data: bytes
    too_large: dict[int, str] = field(default_factory=dict)  # page -> why it is not shown as an image

    @property
    def is_image(self) -> bool:
        return self.media_type in IMAGE_TYPES


def source_parts(sub: SubmissionRecord, limits: Limits | None = None,
                 render: RenderLimit | None = None) -> list[SourcePart]:
    """The parts of a submission in extraction order, with their bytes (the mail is parsed again),
    and the pages too large to render (`render`, by default the pixel limit of `limits`)."""
    limits = limits or Limits()
    render = render or RenderLimit(limits.max_pixels)
    summaries = list((sub.result or {}).get("parts") or [])
    if sub.channel in MAIL_CHANNELS:
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
        pages = int(summary.get("pages") or (_count_pages(part.data, media) if media in IMAGE_TYPES else 0))
        out.append(
            SourcePart(
                index=i,
                name=str(summary.get("name") or part.name),
                media_type=media,
                pages=pages,
                text=str(summary.get("text") or part.text or ""),
                data=part.data,
                too_large=oversized_pages(part.data, media, pages, render) if media in IMAGE_TYPES else {},
            )
        )
    return out


def oversized_pages(data: bytes, media_type: str, pages: int, render: RenderLimit) -> dict[int, str]:
    """Page number -> message for each of the first `pages` pages over the render limit (sizes are
    read from the file's headers; nothing is rasterised)."""
    out: dict[int, str] = {}
    try:
        with _opened(data, media_type, render) as doc:
            for n in range(1, pages + 1):
                try:
                    render.check(n, *_geometry(doc, media_type, n, RENDER_WIDTH))
                except PageTooLarge as exc:
                    out[n] = str(exc)
                except (EOFError, IndexError, ValueError):
                    break
    except PageTooLarge as exc:  # the file's first image alone is over the limit
        out = {n: str(exc).replace("Page 1 ", f"Page {n} ", 1) for n in range(1, pages + 1)}
    except Exception:  # noqa: BLE001 - an unreadable file: rendering says so, page by page
        return {}
    return out


class _opened:
    """A PDF document or a PIL image opened for reading page sizes and rendering; closed after."""

    def __init__(self, data: bytes, media_type: str, render: RenderLimit) -> None:
        self.data, self.media_type, self.render = data, media_type, render
        self.doc: Any = None

    def __enter__(self) -> Any:
        from PIL import Image  # noqa: PLC0415  (a page image's library loads only when staff open a page)

        if self.media_type == "application/pdf":
            import pypdfium2 as pdfium  # noqa: PLC0415  (a page image's library loads only when staff open a page)

            try:
                self.doc = pdfium.PdfDocument(self.data)
            except Exception as exc:
                raise ValueError("the PDF cannot be read") from exc
            return self.doc
        Image.MAX_IMAGE_PIXELS = self.render.pixels  # Pillow refuses twice this outright
        try:
            self.doc = Image.open(io.BytesIO(self.data))
        except Image.DecompressionBombError:
            raise PageTooLarge(f"Page 1 is too large to show as an image (over twice the limit of "
                               f"{self.render.pixels:,} pixels set by {self.render.setting}); the document "
                               f"is kept as it came.") from None
        except Exception as exc:
            raise ValueError("the image cannot be read") from exc
        return self.doc

    def __exit__(self, *exc: object) -> None:
        if self.doc is not None:
            self.doc.close()


def _geometry(doc: Any, media_type: str, page: int, width: int) -> tuple[tuple[int, int], int]:
    """((output width, height), source pixels) of page `page` rendered `width` pixels wide; for an
    image, `doc` is left on that frame."""
    if page < 1:
        raise ValueError("pages count from 1")
    if media_type == "application/pdf":
        if page > len(doc):
            raise ValueError(f"the PDF has {len(doc)} page(s)")
        pw, ph = doc[page - 1].get_size()
        scale = width / max(pw, 1.0)
        return (max(1, round(pw * scale)), max(1, round(ph * scale))), 0
    try:
        doc.seek(page - 1)
    except EOFError as exc:
        raise ValueError("no such page") from exc
    w, h = doc.size
    return (width, max(1, round(_square_height(doc, h) * width / max(w, 1)))), w * h


def _square_height(image: Any, height: int) -> int:
    """Normal-resolution faxes have half the vertical resolution: the height with square pixels."""
    dpi = image.info.get("dpi") or (0, 0)
    xdpi, ydpi = float(dpi[0] or 0), float(dpi[1] or 0)
    return height * 2 if xdpi and ydpi and abs(xdpi / ydpi - 2.0) < _RATIO_SLACK else height


def _count_pages(data: bytes, media: str) -> int:
    try:
        if media == "application/pdf":
            import pypdfium2 as pdfium  # noqa: PLC0415  (a page image's library loads only when staff open a page)

            doc = pdfium.PdfDocument(data)
            try:
                return len(doc)
            finally:
                doc.close()
        from PIL import Image  # noqa: PLC0415  (a page image's library loads only when staff open a page)

        with Image.open(io.BytesIO(data)) as im:
            return int(getattr(im, "n_frames", 1))
    except Exception:  # noqa: BLE001  (a page image that cannot be rendered is shown as missing)
        return 0


def render_png(data: bytes, media_type: str, page: int, *, width: int = RENDER_WIDTH,
               render: RenderLimit | None = None) -> bytes:
    """Page `page` (1-based) of a PDF or image file as a PNG about `width` pixels wide.

    Raises `PageTooLarge` for a page over the render limit (checked before anything is rasterised)
    and `ValueError` for a page that does not exist or a file that cannot be read.
    """
    render = render or RenderLimit()
    with _opened(data, media_type, render) as doc:
        out, source_pixels = _geometry(doc, media_type, page, width)
        render.check(page, out, source_pixels)
        if media_type == "application/pdf":
            pdf_page = doc[page - 1]
            image = pdf_page.render(scale=width / max(pdf_page.get_width(), 1.0)).to_pil()
        else:
            try:
                image = doc.convert("L") if doc.mode in ("1", "L", "I;16") else doc.convert("RGB")
            except Exception as exc:
                raise ValueError("the image cannot be read") from exc
            image = image.resize(out)
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def redact(png: bytes, boxes: list[dict[str, float]], margin: float = 0.01) -> bytes:
    """The page with each box (page fractions) painted over: what a reviewer may see of an SSN."""
    from PIL import Image, ImageDraw  # noqa: PLC0415  (a page image's library loads only when staff open a page)

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
    cache_dir: Path, sub: SubmissionRecord, part: SourcePart, page: int, *, hide: list[dict[str, float]] | None = None,
    render: RenderLimit | None = None,
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
    if page in part.too_large:
        raise PageTooLarge(part.too_large[page])
    png = render_png(part.data, part.media_type, page, render=render)
    if hide:
        png = redact(png, hide)
    PAGES.put(key, png)
    return png
