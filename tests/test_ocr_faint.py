"""A light fax (issue 12): a thin typeface's strokes broken by the sender's threshold, a page
Tesseract is unsure of a quarter of its words on. It is read again with its strokes a pixel wider;
the reading Tesseract is surer of is kept, and none of that page's words is trusted."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from parsers import ocr


def _page() -> Image.Image:
    """A one-bit 204x98 page with a few thin bars of ink (the words' stand-ins)."""
    arr = np.full((1078, 1734), 255, np.uint8)
    for k in range(12):
        for x in range(200, 900, 14):  # letters of two thin strokes, a pixel apart
            arr[200 + 40 * k: 210 + 40 * k, x: x + 2] = 0
            arr[200 + 40 * k: 210 + 40 * k, x + 3: x + 5] = 0
    img = Image.fromarray(arr).convert("1")
    img.info["dpi"] = (204, 98)
    return img


def _data(confs: list[float], words: list[str]) -> dict[str, list[object]]:
    n = len(words)
    return {"text": words, "conf": confs, "left": [100 + 60 * k for k in range(n)], "top": [300] * n,
            "width": [50] * n, "height": [20] * n}


def test_unsure_share_counts_words_of_three_characters_or_more() -> None:
    assert ocr._unsure_share(_data([30, 95, 95, 20], ["Harlow", "Bennet", "Tools", "a"])) == pytest.approx(1 / 3)
    assert ocr._unsure_share(_data([], [])) == 0.0


def test_thickening_widens_a_faint_pages_strokes() -> None:
    img = _page()
    plain, thick = ocr.prepare_page(img), ocr.prepare_page(img, thicken=True)
    assert (thick.arr < 128).sum() > 1.2 * (plain.arr < 128).sum()


def test_a_faint_page_is_read_again_and_its_words_doubted(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    words = ["Employee", "Harlow", "Bennet", "Canadian"]

    def fake(image: Image.Image, config: str, timeout: float, page: int, budget: float) -> dict[str, list[object]]:
        calls.append(config)
        if len(calls) == 1:
            return _data([40, 45, 95, 50], ["Emp1oyec", "Har1ow", "Bennet", "Canad1an"])
        return _data([96, 94, 97, 95], words)

    monkeypatch.setattr(ocr, "_tesseract_data", fake)
    got = ocr.ocr_page(_page(), page=1)
    assert len(calls) == 2 and [w.text for w in got] == words
    assert max(w.conf for w in got) <= 0.80


def test_a_page_read_with_confidence_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def fake(image: Image.Image, config: str, timeout: float, page: int, budget: float) -> dict[str, list[object]]:
        calls.append(config)
        return _data([96, 40, 95, 97], ["Employee", "Har1ow", "Bennet", "Canadian"])

    monkeypatch.setattr(ocr, "_tesseract_data", fake)
    got = ocr.ocr_page(_page(), page=1)
    assert len(calls) == 1 and max(w.conf for w in got) > 0.85
