"""Generated scanned and faxed pages for OCR tests: letters typed, printed, skewed, faxed, speckled.

Every fax test builds its images here from a `tests.synth` request, so the ground truth is known
and no binary is ever committed. The degradations mimic what a fax machine does to a printed
letter: the paper goes in a little crooked, the scanner samples at 204x98 ("normal") or 204x196
("fine") dpi, the machine stamps its own header line straight across the top, the line adds
speckles and everything is thresholded to one bit.
"""

from __future__ import annotations

import io
import random
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from tests.synth import address_line, labelled_lines

FONT_DIR = "/usr/share/fonts/truetype/dejavu/"
FONTS = ["DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf"]
PAGE_DPI = 200  # the "printed" page, before it is faxed
PAGE_INCHES = (8.5, 11.0)
FAX_WIDTH = 1728  # pixels across a fax scan line (ITU-T T.4), 8.5 in at ~204 dpi
FAX_DPI: dict[str, tuple[int, int]] = {"normal": (204, 98), "fine": (204, 196)}

Resolution = Literal["normal", "fine"]


def _font(name: str, size_pt: float) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONT_DIR + name, round(size_pt * PAGE_DPI / 72))


def render_page(
    lines: list[str],
    *,
    font_size: float = 11.0,
    font: str = "DejaVuSans.ttf",
    letterhead: list[str] | None = None,
    margin_in: float = 1.0,
) -> Image.Image:
    """A typed letter page at 200 dpi, black on white, `info["dpi"]` set.

    `letterhead` lines are printed larger and bold-ish at the top, as an employer's stationery.
    """
    w, h = (round(PAGE_INCHES[0] * PAGE_DPI), round(PAGE_INCHES[1] * PAGE_DPI))
    img = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(img)
    x = y = round(margin_in * PAGE_DPI)
    if letterhead:
        bold = font.replace(".ttf", "-Bold.ttf")
        for i, text in enumerate(letterhead):
            f = _font(bold, font_size + 5) if i == 0 else _font(font, font_size - 1)
            draw.text((x, y), text, font=f, fill=0)
            y += round(f.size * 1.35)
        draw.line((x, y + 10, w - x, y + 10), fill=0, width=3)
        y += round(0.4 * PAGE_DPI)
    body = _font(font, font_size)
    for text in lines:
        draw.text((x, y), text, font=body, fill=0)
        y += round(body.size * 1.45)
    img.info["dpi"] = (PAGE_DPI, PAGE_DPI)
    return img


def fax(
    image: Image.Image,
    *,
    resolution: Resolution = "fine",
    skew_deg: float = 0.0,
    noise: float = 0.0,
    rng: random.Random | None = None,
    header: str | None = None,
) -> Image.Image:
    """The page as a fax machine would send it: skewed, resampled, headed, speckled, 1 bit.

    `noise` is the fraction of pixels flipped to black (speckle); a tenth as many black pixels
    drop out to white, as on a noisy line.
    """
    rng = rng or random.Random(0)
    page = image.convert("L")
    if skew_deg:
        page = page.rotate(skew_deg, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
    xdpi, ydpi = FAX_DPI[resolution]
    src_dpi = float(image.info.get("dpi", (PAGE_DPI, PAGE_DPI))[0])
    height = round(page.height / src_dpi * ydpi)
    page = page.resize((FAX_WIDTH, height), Image.Resampling.BOX)
    if header:
        # The sending machine stamps the header at its own resolution, straight, over the top.
        hfont = ImageFont.truetype(FONT_DIR + "DejaVuSansMono.ttf", 22)
        strip = Image.new("L", (FAX_WIDTH, 30), 255)
        ImageDraw.Draw(strip).text((20, 3), header, font=hfont, fill=0)
        strip = strip.resize((FAX_WIDTH, max(8, round(30 * ydpi / xdpi))), Image.Resampling.BOX)
        page.paste(strip, (0, 4))
    arr = np.asarray(page) < 140
    if noise:
        nrng = np.random.default_rng(rng.randrange(2**32))
        arr |= nrng.random(arr.shape) < noise
        arr &= ~(nrng.random(arr.shape) < noise / 10)
    out = Image.fromarray(np.where(arr, 0, 255).astype(np.uint8)).convert("1")
    out.info["dpi"] = (xdpi, ydpi)
    return out


def tiff_bytes(pages: list[Image.Image], compression: str = "group4") -> bytes:
    """A multi-page bilevel TIFF with resolution tags, as fax servers store received faxes."""
    frames = [p.convert("1") for p in pages]
    buf = io.BytesIO()
    dpi = pages[0].info.get("dpi", (204, 196))
    frames[0].save(buf, format="TIFF", save_all=True, append_images=frames[1:], compression=compression, dpi=dpi)
    return buf.getvalue()


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", dpi=image.info.get("dpi", (PAGE_DPI, PAGE_DPI)))
    return buf.getvalue()


def scanned(image: Image.Image, *, rng: random.Random | None = None, skew_deg: float = 0.5) -> Image.Image:
    """A flatbed scan: gray, slightly blurred and crooked, a faint paper tone."""
    rng = rng or random.Random(0)
    gray = image.convert("L").rotate(skew_deg, resample=Image.Resampling.BICUBIC, fillcolor=255)
    gray = gray.filter(ImageFilter.GaussianBlur(0.8))
    arr = np.asarray(gray).astype(np.float32) * 0.85 + 25
    arr += np.random.default_rng(rng.randrange(2**32)).normal(0, 6, arr.shape)
    out = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    out.info["dpi"] = image.info.get("dpi", (PAGE_DPI, PAGE_DPI))
    return out


def jpeg_bytes(image: Image.Image, *, quality: int = 80) -> bytes:
    """A scanned page as a JPEG (gray, slight blur), with its dpi."""
    page = image if image.mode == "L" else scanned(image)
    buf = io.BytesIO()
    page.save(buf, format="JPEG", quality=quality, dpi=image.info.get("dpi", (PAGE_DPI, PAGE_DPI)))
    return buf.getvalue()


def fax_header(rng: random.Random, sender: str, page: int, pages: int) -> str:
    phone = f"+1 {rng.randint(201, 989)} 555 {rng.randint(0, 9999):04d}"
    return (
        f"NOV-25-2026 {rng.randint(7, 17):02d}:{rng.randint(0, 59):02d}  FROM: {phone}  "
        f"{sender[:18].upper()}  P.{page:03d}/{pages:03d}"
    )


def letter_lines(req: dict[str, Any], rng: random.Random) -> tuple[list[str], list[str]]:
    """(letterhead, body) of a request letter typed from `labelled_lines`."""
    employer = req["employer"]
    if employer:
        head = [employer["name"], address_line(employer["address"])]
        sender = employer["name"]
    else:
        w = req["worker"]
        head = [f"{w['first_name']} {w['last_name']}", address_line(w["address"])]
        sender = head[0]
    body = [
        "November 25, 2026",
        "",
        "Social Security Administration",
        "Office of International Programs",
        "",
        "Re: Request for a Certificate of Coverage",
        "",
        *labelled_lines(req, rng),
        "",
        "Sincerely,",
        "",
        sender,
    ]
    return head, body


def fax_request(
    req: dict[str, Any],
    rng: random.Random,
    resolution: Resolution = "fine",
    *,
    noise: float = 0.002,
    skew: tuple[float, float] = (1.0, 2.0),
) -> list[Image.Image]:
    """The request typed as a letter on letterhead, then faxed (one or more pages)."""
    head, body = letter_lines(req, rng)
    font = rng.choice(FONTS)
    per_page = 40
    chunks = [body[i : i + per_page] for i in range(0, len(body), per_page)]
    pages = []
    for n, chunk in enumerate(chunks, start=1):
        page = render_page(chunk, font=font, letterhead=head if n == 1 else None)
        skew_deg = rng.uniform(*skew) * rng.choice([-1, 1])
        header = fax_header(rng, head[0], n, len(chunks))
        pages.append(fax(page, resolution=resolution, skew_deg=skew_deg, noise=noise, rng=rng, header=header))
    return pages
