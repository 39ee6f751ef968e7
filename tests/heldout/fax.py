"""A PDF as a fax machine sends it: rasterised at 204x196 (fine) or 204x98 (standard) dots per inch,
a little skew and speckle, thresholded to black and white, with a sender's header line; written as
a Group 4 TIFF or as a PDF of page images (as fax servers mail them).
"""

from __future__ import annotations

import io
import random

import numpy as np
import pymupdf
from PIL import Image, ImageDraw, ImageFont

RESOLUTIONS = {"fine": (204, 196), "standard": (204, 98)}
_HEADER_FONT = "/usr/share/fonts/truetype/liberation2/LiberationMono-Regular.ttf"


def _page_images(pdf: bytes, dpi: tuple[int, int]) -> list[Image.Image]:
    doc = pymupdf.open(stream=pdf, filetype="pdf")
    out = []
    for page in (doc.load_page(i) for i in range(doc.page_count)):
        pix = page.get_pixmap(matrix=pymupdf.Matrix(dpi[0] / 72, dpi[1] / 72), colorspace=pymupdf.csGRAY,
                              annots=True)
        out.append(Image.frombytes("L", (pix.width, pix.height), pix.samples))
    return out


def _noisy(img: Image.Image, dpi: tuple[int, int], rng: random.Random, page: int, pages: int,
           sender: str) -> Image.Image:
    # The sender's fax header, drawn before the page is sent (so it is stretched like the page).
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(_HEADER_FONT, 22)
    header = f"NOV-20-2026 09:{rng.randint(10, 59)}  FROM: {sender[:28].upper()}  P.{page}/{pages}"
    vscale = dpi[1] / dpi[0]
    strip = Image.new("L", (img.width, 30), 255)
    ImageDraw.Draw(strip).text((30, 2), header, font=font, fill=0)
    strip = strip.resize((img.width, max(8, int(30 * vscale))))
    img.paste(strip, (0, int(8 * vscale)))
    del draw
    img = img.rotate(rng.uniform(-0.8, 0.8), resample=Image.Resampling.BILINEAR, fillcolor=255, expand=False)
    arr = np.asarray(img, dtype=np.float64)
    gen = np.random.default_rng(rng.randrange(1 << 30))
    arr = arr + gen.normal(0, 18, arr.shape)
    speck = gen.random(arr.shape) < 0.0008
    arr[speck] = 0
    if rng.random() < 0.15:  # a scanner streak down the page
        x = rng.randrange(arr.shape[1] // 4, arr.shape[1] * 3 // 4)
        arr[:, x : x + 2] = 0
    bw = np.where(arr < rng.uniform(140, 185), 0, 255).astype(np.uint8)
    return Image.fromarray(bw, "L").convert("1")


def fax(pdf: bytes, resolution: str, container: str, rng: random.Random, sender: str = "") -> bytes:
    """The PDF faxed: `resolution` fine|standard, `container` tiff|pdf."""
    dpi = RESOLUTIONS[resolution]
    pages = _page_images(pdf, dpi)
    images = [_noisy(p, dpi, rng, i + 1, len(pages), sender or "FAX") for i, p in enumerate(pages)]
    buf = io.BytesIO()
    if container == "tiff":
        images[0].save(buf, format="TIFF", compression="group4", dpi=dpi, save_all=True,
                       append_images=images[1:])
        return buf.getvalue()
    doc = pymupdf.open()
    for img in images:
        png = io.BytesIO()
        img.save(png, format="PNG")
        width, height = img.width / dpi[0] * 72, img.height / dpi[1] * 72
        page = doc.new_page(width=width, height=height)
        page.insert_image(page.rect, stream=png.getvalue(), keep_proportion=False)
    return bytes(doc.tobytes(deflate=True))
