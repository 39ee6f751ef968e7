"""Lines of OCR'd words as a typed fax letter gives them, for the faxed-letter reader's tests."""

from __future__ import annotations

from parsers.layout import Word
from parsers.types import Box

H = 0.012  # a line's height, as a share of the page's


def typed_row(text: str, y: float, x: float = 0.1, page: int = 1, conf: float = 0.95) -> list[Word]:
    """A line's words from `x`, a tab (`|`) a wide gap: what OCR gives for a typed line."""
    out: list[Word] = []
    for part in text.split(" | "):
        for t in part.split():
            w = 0.009 * len(t)
            out.append(Word(t, Box(x0=x, y0=y, x1=x + w, y1=y + H), conf, page))
            x += w + 0.006
        x += 0.12
    return out
