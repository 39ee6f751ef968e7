"""Looking for a full SSN where none may be: in text, bytes, mail and pages (test helpers).

A full SSN "in clear" is its nine digits in order with at most a few non-digit characters
(any separators: `-`, ` / `, en dashes, markup) between the groups, or the bare nine digits.
The SSNs themselves are generated (`fake_ssns`), never real.
"""

from __future__ import annotations

import random
import re
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy


def fake_ssns(n: int, seed: int) -> list[str]:
    """`n` distinct valid-looking made-up SSNs as 9 digits: area not 000, 666 or 9xx, group and
    serial not zero, and no two alike in any group (so that one cannot stand for another)."""
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < n:
        area = rng.choice([a for a in range(100, 900) if a != 666])
        d = f"{area:03d}{rng.randint(10, 99):02d}{rng.randint(1000, 9999):04d}"
        if all(d[:3] != o[:3] and d[3:5] != o[3:5] and d[5:] != o[5:] for o in out):
            out.append(d)
    return out


def ssn_pattern(digits: str, gap: int = 8) -> re.Pattern[bytes]:
    """The SSN's nine digits with up to `gap` non-digit bytes between the groups."""
    sep = rb"\D{0,%d}" % gap
    return re.compile(re.escape(digits[:3].encode()) + sep + re.escape(digits[3:5].encode()) + sep
                      + re.escape(digits[5:].encode()))


def found(digits: str, data: bytes | str) -> bool:
    """Whether `data` holds the full SSN in clear, with any separators."""
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    return bool(ssn_pattern(digits).search(raw))


def mail_text(raw: bytes) -> str:
    """Everything a mail says once decoded: every header (RFC 2047 words decoded), every part's
    content (base64 and quoted-printable undone) and every attachment's file name."""
    msg = message_from_bytes(raw, policy=default_policy)
    assert isinstance(msg, EmailMessage)
    out: list[str] = []
    for part in msg.walk():
        out += [f"{k}: {v}" for k, v in part.items()]
        if name := part.get_filename():
            out.append(name)
        if not part.is_multipart():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                out.append(payload.decode("utf-8", "replace"))
    return "\n".join(out)
