"""The one way an SSN may be shown outside the store and the staff page: `***-**-1234`.

Every log handler, problem message, reply and audit event masks through these two functions, so
what counts as "shaped like an SSN" is decided in one place.
"""

from __future__ import annotations

import re

# Nine digits as NNN-NN-NNNN, NNN NN NNNN, NNN.NN.NNNN, NNNNNNNNN or with mixed separators, as the
# parsers read an SSN (parsers.values); but not NNNNN-NNNN, the shape of a ZIP+4 such as 83702-1234.
_SSN_IN_TEXT = re.compile(r"(?<!\d)(\d{3})([-. ]?)(\d{2})([-. ]?)(\d{4})(?!\d)")


def mask_ssn(ssn: str | None) -> str:
    """`***-**-1234` for an SSN value ("" for none)."""
    if not ssn:
        return ""
    digits = re.sub(r"\D", "", ssn)
    return f"***-**-{digits[-4:]}" if len(digits) >= 4 else "***-**-****"


def count_ssns(text: str) -> int:
    """How many SSN-shaped numbers a text holds (the same shapes `mask_ssns` masks)."""
    return sum(1 for m in _SSN_IN_TEXT.finditer(text) if not (m.group(4) and not m.group(2)))


def mask_ssns(text: str) -> str:
    """Every SSN-shaped number in a text, masked."""
    return _SSN_IN_TEXT.sub(lambda m: m.group(0) if m.group(4) and not m.group(2) else f"***-**-{m.group(5)}", text)
