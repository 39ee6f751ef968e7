"""The text a prose reader sees: punctuation made plain, sentences found, one record per value said.

Shared by every reader of requests written as sentences (`parsers.prose`, `parsers.prose_numbers`,
`parsers.prose_cues`): a cue must stand in its value's own sentence, so the sentence windows live here.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from parsers import prose_contact
from parsers.types import Candidate, Method, Provenance

MAX_CONF = 0.9
NO_LABEL = "read from prose; no label"

# ---------------------------------------------------------------------------------------------
# Text preparation and sentence windows
# ---------------------------------------------------------------------------------------------

_PUNCT = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-", "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ",
    "\u200b": "", "\u200c": "", "\u200d": "", "\ufeff": "", "\u00ad": "",
    # windows-1252 punctuation that was decoded as Latin-1 (C1 controls)
    "\x91": "'", "\x92": "'", "\x93": '"', "\x94": '"', "\x96": "-", "\x97": "-", "\x85": "...",
})


def clean_punctuation(text: str) -> str:
    """Plain ASCII quotes, dashes and spaces, so one set of patterns reads every mail client's text.

    Windows-1252 curly quotes and en dashes arrive as Unicode, or as C1 control characters when a
    sender's cp1252 bytes were labelled Latin-1; both become `'`, `"` and `-`.
    """
    return text.translate(_PUNCT)


def _flatten(text: str) -> str:
    """Plain punctuation, single spaces; line breaks stay (a short line is a block of its own)."""
    text = clean_punctuation(text).replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[ \t\f\v]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# Words whose trailing period does not end a sentence.
_ABBREV = {
    "mr", "mrs", "ms", "dr", "st", "no", "nos", "inc", "co", "corp", "ltd", "jr", "sr", "u.s", "e.g",
    "i.e", "s.a", "s.l", "b.v", "n.v", "k.k", "s.r.l", "s.p.a", "sp", "o.o", "vs", "approx", "ave",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "ltda",
    "e.i.n", "soc", "sec", "tel", "dept",
}


def _sentence_starts(text: str) -> list[int]:
    """Offsets where sentences begin.

    After `.!?` + space + capital, unless the period ends an abbreviation or an initial
    ("Jane Q. Doe", "U.S.", "Nordlicht S.A."); after a blank line; and after a short line (an
    address line, the letter's date, a salutation), which a wrapped paragraph never has inside it.
    """
    starts = [0]
    for m in re.finditer(r"[.!?]\s+(?=[A-Z\"'(])|\n\n|\n", text):
        tok = m.group(0)
        if tok == "\n":
            line = text[text.rfind("\n", 0, m.start()) + 1 : m.start()]
            # a wrapped line is long, or ends in a small word that carries on ("... and ending")
            if len(line) >= 45 or re.search(r"\b[a-z]+$", line):
                continue
        elif tok.startswith("."):
            before = re.search(r"([A-Za-z.]+)$", text[max(0, m.start() - 40) : m.start()])
            word = before.group(1).lower() if before else ""
            if word in _ABBREV or len(word) == 1 or re.fullmatch(r"(?:[a-z]\.)+[a-z]", word):
                continue
        starts.append(m.end())
    return starts


@dataclass
class _Ctx:
    text: str
    starts: list[int]

    def sentence_start(self, pos: int) -> int:
        return self.starts[bisect.bisect_right(self.starts, pos) - 1]

    def before(self, pos: int, width: int) -> str:
        """The text before `pos`, at most `width` characters, never reaching into the previous
        sentence: a cue must be in the value's own sentence."""
        return self.text[max(self.sentence_start(pos), pos - width) : pos]


# ---------------------------------------------------------------------------------------------
# Candidates
# ---------------------------------------------------------------------------------------------


_Found = prose_contact.Said  # one record of a value said in a sentence, for every prose reader


def _cand(f: _Found, part: str, method: Method) -> Candidate:
    return Candidate(
        field=f.field,
        value=" ".join(f.value.split()),  # a value wrapped over two lines is one value
        raw=f.raw,
        confidence=min(f.conf, MAX_CONF),
        provenance=Provenance(part=part, method=method, label=None),
        uncertain=f.uncertain,
    )


# The patterns of a person's name and an e-mail address, shared by the readers of `prose` and
# `prose_cues`.
# "O'Brien", "McKay", "MacLeod" and the particles of a family name ("de la Cruz", "van der Berg")
_NAME_TOKEN = r"(?:[A-Z]'|Mc|Mac)?[A-Z][a-z]+(?:['-][A-Z]?[a-z]+)*(?![\w'-])"
_PARTICLES = r"(?:(?:van|von|de|der|den|del|della|la|le|da|di|du|dos|das|ter|ten|al|bin|ibn)(?: |\n(?!\n))){1,2}"
_NAME = rf"{_NAME_TOKEN}(?:(?: |\n(?!\n))(?:{_PARTICLES}{_NAME_TOKEN}|{_NAME_TOKEN}|[A-Z]\.|[A-Z](?![\w'-]))){{1,3}}"
_NOT_NAME = {
    "Social", "Security", "Certificate", "Coverage", "United", "States", "The", "This", "Our", "We",
    "Please", "Dear", "Sir", "Madam", "Administration", "Office", "International", "Programs",
    "Employee", "Employer", "Request", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December", "Street", "Avenue", "Road", "Drive", "Lane", "Human", "Resources",
    "Department", "Team", "Payroll", "Benefits", "Manager", "Director", "Self", "Employed", "Writing",
    "Happy", "Pleased", "Kind", "Regards", "Best", "Sincerely", "Thanks", "Thank", "Hello", "Hi", "Re",
    "Services", "Group", "Division", "Mobile", "Attached", "Enclosed", "Form", "Forms",
}
# The look-behind makes a match start only where an address can start: without it a long run of
# letters is scanned once per letter (quadratic).
_EMAIL_RE = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,24}\b")
