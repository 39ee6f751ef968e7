"""The one way an SSN may be shown outside the store and the staff page: `***-**-1234`.

Every log handler, problem message, reply and audit event masks through these two functions, so
what counts as "shaped like an SSN" is decided in one place.
"""

from __future__ import annotations

import re

# Nine digits as NNN-NN-NNNN, NNN NN NNNN or NNNNNNNNN (one separator style throughout, so that a
# ZIP+4 such as 83702-1234 is not taken for one).
_SSN_IN_TEXT = re.compile(r"(?<!\d)(\d{3})([- ]?)(\d{2})\2(\d{4})(?!\d)")


def mask_ssn(ssn: str | None) -> str:
    """`***-**-1234` for an SSN value ("" for none)."""
    if not ssn:
        return ""
    digits = re.sub(r"\D", "", ssn)
    return f"***-**-{digits[-4:]}" if len(digits) >= 4 else "***-**-****"


def mask_ssns(text: str) -> str:
    """Every SSN-shaped number in a text, masked."""
    return _SSN_IN_TEXT.sub(lambda m: f"***-**-{m.group(4)}", text)
