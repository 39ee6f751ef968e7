"""Our form faxed (issue 12, class 9: no wrong value without a flag): a digit Tesseract read as
another, sure of itself, is doubted by the page's other digits (`parsers.form_digits`).

Boxes of digits are typed in a face (sans, serif, monospaced), squashed to 98 lines an inch and
back with speckle, as a 204x98 fax does; one digit's reading is then swapped for another digit,
and that box must be flagged, while the boxes read right are not (unless they hold the swapped
digits: beside the misread picture, their own look like the other digit).
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from parsers import form_digits

FACES = ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
         "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"]


def _box(digits: str, face: str, rng: random.Random) -> np.ndarray:
    """A comb's crop as the reader sets it: the digits side by side with paper between, faxed.

    Drawn four times larger, each digit shifted by a random fraction of a pixel, then shrunk and
    squashed to 98 lines an inch and back: each digit's pixels differ from its twins', as on a fax.
    """
    scale = 4
    font = ImageFont.truetype(face, 30 * scale)
    width = sum(int(font.getlength(d)) + 8 * scale for d in digits) + 12 * scale
    img = Image.new("L", (width, 46 * scale), 255)
    draw, x = ImageDraw.Draw(img), 6 * scale
    for d in digits:
        draw.text((x + rng.randrange(scale), 4 * scale + rng.randrange(2 * scale)), d, fill=0, font=font)
        x += int(font.getlength(d)) + 8 * scale
    small = img.resize((img.width // scale, img.height // scale), Image.Resampling.BOX)
    low = small.resize((small.width, small.height // 2), Image.Resampling.BOX).resize(small.size,
                                                                                       Image.Resampling.NEAREST)
    pixels = np.where(np.asarray(low) < rng.choice([130, 150, 170]), 0, 255).astype(np.uint8)
    pixels[np.random.default_rng(rng.randrange(1 << 30)).random(pixels.shape) < 0.002] = 0
    return pixels


def _page(face: str, rng: random.Random) -> tuple[list[np.ndarray], list[str]]:
    texts = ["".join(rng.choice("0123456789") for _ in range(n)) for n in (9, 9, 8, 8, 8, 5, 10)]
    return [_box(t, face, rng) for t in texts], texts


@pytest.mark.parametrize("face", FACES)
def test_a_digit_read_as_another_is_doubted_and_right_boxes_are_not(face: str) -> None:
    rng = random.Random(face)
    caught = cases = 0
    for _ in range(6):
        images, texts = _page(face, rng)
        assert form_digits.doubts(images, texts) == [None] * len(texts)  # read right: no doubt
        k = rng.randrange(len(texts))
        at = rng.randrange(len(texts[k]))
        wrong = rng.choice([d for d in "0123456789" if d != texts[k][at]])
        misread = [*texts[:k], texts[k][:at] + wrong + texts[k][at + 1:], *texts[k + 1:]]
        found = form_digits.doubts(images, misread)
        # Another box may be doubted too, but only one holding the misread digit's true or read
        # digit: beside the misread picture it looks like the other.
        near = {texts[k][at], wrong}
        assert all(f is None or near & set(texts[i]) for i, f in enumerate(found) if i != k)
        cases += 1
        caught += found[k] is not None
    assert caught == cases


def test_too_few_digits_to_compare_doubt_nothing() -> None:
    rng = random.Random(3)
    images, texts = [_box("75", FACES[0], rng)], ["78"]
    assert form_digits.doubts(images, texts) == [None]
