"""The one grammar of a Social Security number written in text: what is read as one is what is masked.

Before this module, the value reader (`parsers.values.parse_ssn`), the prose reader, the MIME
boilerplate check, validation and the mask (`parsers.pii`) each had a pattern of their own, and
they disagreed: `parse_ssn` read `807 / 97 / 9610` and `612–48–3957` (en dashes) that the mask let
through to reviewers, replies and the audit trail, and the review page under-counted the SSNs on a
page image. Every module now takes its pattern from here, and `tests/test_ssn_grammar.py` checks
with hypothesis that whatever `parse_ssn` reads, embedded in any text, `mask_ssns` masks and
`count_ssns` counts.

The grammar: nine digits in groups of 3, 2 and 4; between two groups either nothing, or a
separator: up to three spaces (any whitespace), or one or two of `- . / _` and the Unicode dashes
and minus, with up to two spaces on either side (`123-45-6789`, `123 45 6789`, `123.45.6789`,
`123 / 45 / 6789`, `123–45–6789`, `123_45_6789`, `123456789`, `123-456789`). One shape is never
an SSN: a separator after the fifth digit only (`83702-1234`) is a ZIP+4 postal code.
"""

from __future__ import annotations

import re

# Hyphen-minus, dot, slash, low line; the Unicode hyphens and dashes (U+2010..U+2015), the minus
# sign, and the small and full-width forms (which NFKC folds to the ASCII ones).
SEPARATOR_CHARS = "-./_\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d\uff0e\uff0f\uff3f"
_PUNCT = "[" + re.escape(SEPARATOR_CHARS) + "]"
# A separator between two groups of digits (empty allowed).
SEPARATOR = rf"(?:\s{{0,2}}{_PUNCT}{{1,2}}\s{{0,2}}|\s{{1,3}})?"

# The nine digits with their two separators as groups: area, sep1, group, sep2, serial.
_CORE = rf"(\d{{3}})({SEPARATOR})(\d{{2}})({SEPARATOR})(\d{{4}})"

# In running text: not part of a longer number.
SSN_IN_TEXT = re.compile(rf"(?<!\d){_CORE}(?!\d)")
# A whole value (after the reader trimmed it), with an optional "#" before it.
SSN_VALUE = re.compile(rf"#?\s*{_CORE}")
# The canonical form the model stores.
SSN_CANONICAL = re.compile(r"^(\d{3})-(\d{2})-(\d{4})$")


def is_ssn(m: re.Match[str]) -> bool:
    """Whether a match of `SSN_IN_TEXT` or `SSN_VALUE` is an SSN: not the ZIP+4 shape NNNNN-NNNN."""
    return bool(m.group(2)) or not m.group(4)


def find_ssns(text: str) -> list[re.Match[str]]:
    """Every SSN-shaped number in a text, in order."""
    return [m for m in SSN_IN_TEXT.finditer(text) if is_ssn(m)]


def canonical(m: re.Match[str]) -> str:
    """`NNN-NN-NNNN` from a match."""
    return f"{m.group(1)}-{m.group(3)}-{m.group(5)}"


def plain_hyphens(m: re.Match[str]) -> bool:
    """Whether the number is written with a hyphen between each group: the SSN's own shape, which
    a phone number (NNN-NNN-NNNN) never has."""
    return m.group(2).strip() == "-" and m.group(4).strip() == "-"
