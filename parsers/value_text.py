"""The text of a value before it is read: folded for comparison, trimmed of what forms and OCR add.

Shared by every value reader (`parsers.values` and the date, place and people readers it uses), so
"Québec" and "QUEBEC" compare equal and a value's stray end punctuation is gone whichever reads it.
"""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Lower case without accents: "Québec" and "QUEBEC" compare equal."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def clean(raw: str | None) -> str:
    """Trim spaces, and the stray punctuation a value picks up at its ends on forms and in OCR."""
    if raw is None:
        return ""
    # NFKC leaves ASCII as it is (and makes a no-break space a space); `split()` splits on the
    # white space `\s` matches: the same text as a regular expression's, four times faster, which
    # counts for a sheet's thousands of cells.
    text = raw if raw.isascii() else unicodedata.normalize("NFKC", raw)
    return " ".join(text.split()).strip(" \t:;,|_")


