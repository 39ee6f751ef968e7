"""Words with positions, grouped into lines: the common shape of every text-bearing input.

Mail bodies, text PDFs and OCR all become lines of words, so one label finder
(`parsers.fields.find_fields`) serves them all; positions, where known, let it look for a value
to the right of or under its label.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from parsers.types import Box


@dataclass(frozen=True)
class Word:
    text: str
    box: Box | None = None  # fractions of the page; None for plain text
    conf: float = 1.0  # 0..1; 1.0 for text that was not OCRed
    page: int | None = None  # 1-based


@dataclass
class Line:
    words: list[Word] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def box(self) -> Box | None:
        return Box.union([w.box for w in self.words if w.box is not None])

    @property
    def page(self) -> int | None:
        return self.words[0].page if self.words else None


def lines_from_text(text: str) -> list[Line]:
    """Split plain text into lines of words (no positions, full confidence)."""
    return [Line([Word(t) for t in raw.split()]) for raw in text.splitlines()]
