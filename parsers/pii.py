"""The one way an SSN may be shown outside the store and the staff page: `***-**-1234`.

Every log handler, problem message, reply and audit event masks through these two functions, so
what counts as "shaped like an SSN" is decided in one place: `parsers.ssn_grammar`, the grammar
the parsers read SSNs with.
"""

from __future__ import annotations

import re

from parsers.ssn_grammar import SSN_IN_TEXT, find_ssns, is_ssn


def mask_ssn(ssn: str | None) -> str:
    """`***-**-1234` for an SSN value ("" for none)."""
    if not ssn:
        return ""
    digits = re.sub(r"\D", "", ssn)
    return f"***-**-{digits[-4:]}" if len(digits) >= 4 else "***-**-****"


def count_ssns(text: str) -> int:
    """How many SSN-shaped numbers a text holds (the same shapes `mask_ssns` masks)."""
    return len(find_ssns(text))


def mask_ssns(text: str) -> str:
    """Every SSN-shaped number in a text, masked."""
    return SSN_IN_TEXT.sub(lambda m: f"***-**-{m.group(5)}" if is_ssn(m) else m.group(0), text)
