"""Repairs to what Tesseract read of a fax's marks: leaders, ruled lines and their remnants.

`parsers.ocr` takes leaders, ruled lines and streaks off a page before Tesseract reads it
(`parsers.page_marks`), but a fax breaks such marks into pieces: the piece too close to a label to
be found glues onto the label's last word (`starts__...`), a piece too short to be a line reads as
dashes beyond the leader's end, and at 204x98 dpi the broken end of an underline reads as a flat
"word" of letters (`wee,`, `wu.`, `a.`) at the baseline, between the leader and the value. Read as
text, these become part of a label or of a value ("wee, Sulard" read as "Last, First"). Here they go
back to being what they are: a leader between label and value, or nothing. A word a removed line
crossed may have lost a stroke with it, so its confidence is capped.
"""

from __future__ import annotations

import re

from parsers import page_marks
from parsers.layout import Word
from parsers.types import Box

# A word a removed line or streak crossed or touched may have lost a stroke with it (`J` read `l`
# when a ruled line took its hook): never above ocr.LOW_CONFIDENCE, so its value is checked by staff.
CROSSED_CONFIDENCE = 0.80
REMNANT_REACH = 0.35  # inches from a leader's end: what a fax broke off it, too short to be taken off
# Ink no taller than this (inches) is no letter: the x-height of 7 pt type is 0.05 in, and an
# underline's broken end read as a word is 0.02-0.035 in (4-7 pixels of a squared 204 dpi page).
FLAT_INCHES = 0.045
FLAT_REACH = 0.6  # inches beyond a leader's end within which a flat word is the rest of that leader

# One underscore is enough: no word of a label or value ends in one ("payroll_ ______ yes").
_LEADER_TAIL = re.compile(r"(?P<word>.*[A-Za-z0-9?)\]])(?P<tail>(?:_|[._]{2,})[._,:;]*)")
_DASHES = re.compile(r"[-_=~\u2012-\u2015]+")
# Characters no request value holds, which Tesseract reads for a hyphen, a stop or a letter's stroke
# on a fax ("Theano~Sheamis", "L.L.\u00a2.", a section sign for an S or 5): a word holding one is misread somewhere.
_MISREAD = re.compile(r"[~\u00a2\u00a7{}\\\[\]]")


def misread(text: str) -> bool:
    """Whether an OCR'd word holds a character no value holds (its confidence is then capped at
    CROSSED_CONFIDENCE, so its value is checked by staff)."""
    return _MISREAD.search(text) is not None




_STRAY_OPEN = re.compile(r"^[\u2018\u201c\u201a\u201e`](?=[A-Za-z])")


def stray_quote(text: str) -> str | None:
    """A word opening with a curly quote it never closes ("\u2018Traveller's"): a speck read as a mark
    glued to the word (a lone one is dropped as speckle); the word without it, else None."""
    if not _STRAY_OPEN.match(text) or text.rstrip(".,:;").endswith(("\u2019", "\u201d", "'", '"')):
        return None
    return text[1:]


def leader_tail(word: Word) -> list[Word]:
    """A word with the first dots or underscores of its leader glued on (`starts__...`, what the
    fax left of the leader too close to the label to be taken off): the word, then a leader word."""
    m = _LEADER_TAIL.fullmatch(word.text)
    if m is None or word.box is None or ("_" not in m["tail"] and len(m["tail"].strip(",:;")) < 3):
        return [word]
    b, cut = word.box, len(m["word"]) / len(word.text)
    split = b.x0 + (b.x1 - b.x0) * cut
    leader = "______" if "_" in m["tail"] else "......"
    return [Word(m["word"], Box(x0=b.x0, y0=b.y0, x1=split, y1=b.y1), word.conf, word.page),
            Word(leader, Box(x0=split, y0=b.y0, x1=b.x1, y1=b.y1), 1.0, word.page)]




def leader_remnants(words: list[Word], leaders: list[page_marks.Leader], w: int, h: int,
                     dpi: int) -> tuple[list[Word], list[page_marks.Leader]]:
    """Dashes Tesseract read on a leader's row just beyond its end are what the fax broke off the
    leader (a piece too short to be found as a line): they join the leader, not the value
    (`Citizenship ______ — United States`)."""
    if not leaders:
        return words, leaders
    reach = REMNANT_REACH * dpi
    keep: list[Word] = []
    grown = list(leaders)
    for word in words:
        b = word.box
        if b is None or not _DASHES.fullmatch(word.text):
            keep.append(word)
            continue
        x0, y0, x1, y1 = b.x0 * w, b.y0 * h, b.x1 * w, b.y1 * h
        k = next((k for k, d in enumerate(grown) if d.y0 <= y1 and y0 <= d.y1 + 2
                  and (0 <= x0 - d.x1 <= reach or 0 <= d.x0 - x1 <= reach)), None)
        if k is None:
            keep.append(word)
            continue
        d = grown[k]
        grown[k] = page_marks.Leader(min(d.x0, x0), d.y0, max(d.x1, x1), d.y1, d.kind)
    return keep, grown




def crossed(left: int, top: int, right: int, bottom: int, lines: list[page_marks.Leader], near: int) -> bool:
    """Whether a removed line ran through a word's box or within `near` pixels of it (what it
    took may be just what made the box reach it: the hook of a `J` on a ruled line)."""
    return any(d.x0 <= right + near and left - near <= d.x1 and d.y0 <= bottom + near and top - near <= d.y1
               for d in lines)




def flat_remnants(words: list[Word], leaders: list[page_marks.Leader], w: int, h: int,
                  dpi: int) -> tuple[list[Word], list[page_marks.Leader]]:
    """Words too flat to be letters are what a fax left of an underline or a box's edge.

    At 204x98 dpi the end of an underline breaks into a row of strokes Tesseract reads as a word
    (`wee,`, `wma,`, `—..`) sitting on the baseline of the line, 4 to 7 pixels high where the
    line's letters are 20 or more. Beside a leader (within `FLAT_REACH` of its end, on its row)
    such a word is the rest of that leader, which grows over it, so it still separates the label
    from the value and lies on the leader's row; anywhere else it is dropped.
    """
    flat = FLAT_INCHES * dpi
    reach = FLAT_REACH * dpi
    keep: list[Word] = []
    grown = list(leaders)
    for word in words:
        b = word.box
        if b is None or (b.y1 - b.y0) * h > flat or word.text.isdigit():
            keep.append(word)
            continue
        x0, y0, x1, y1 = b.x0 * w, b.y0 * h, b.x1 * w, b.y1 * h
        k = next((k for k, d in enumerate(grown) if d.y0 - flat <= y1 and y0 <= d.y1 + flat
                  and (-flat <= x0 - d.x1 <= reach or -flat <= d.x0 - x1 <= reach)), None)
        if k is not None:
            d = grown[k]
            grown[k] = page_marks.Leader(min(d.x0, x0), d.y0, max(d.x1, x1), d.y1, d.kind)
    return keep, grown
