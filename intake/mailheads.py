"""The header block of a stored mail, parsed once however many stages ask.

The sender check, threading, the RFC 3834 rules, the fax-gateway check and the reply all read a
few headers of the same message; each used to parse the header block anew (four to six parses per
mail). The parsed blocks of the last few messages are kept here, keyed by the header bytes (never
the whole message: a cache of bodies could hold hundreds of megabytes). Callers only read them.
"""

from __future__ import annotations

import functools
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.policy import default as default_policy

HEAD_LIMIT = 262144  # a header block longer than this is cut (a hostile mail may have megabytes)


def head_of(raw: bytes) -> bytes:
    """The header block of an RFC 5322 message, whichever line ending it uses (at most HEAD_LIMIT)."""
    hits = [i for sep in (b"\r\n\r\n", b"\n\n") if (i := raw.find(sep, 0, HEAD_LIMIT + 4)) >= 0]
    return raw[: min(hits)] if hits else raw[:HEAD_LIMIT]


@functools.lru_cache(maxsize=64)
def _parsed(head: bytes, modern: bool) -> Message:
    return BytesHeaderParser(policy=default_policy if modern else compat32).parsebytes(head + b"\n\n")


def headers(raw: bytes, *, modern: bool = False) -> Message:
    """The parsed header block: `modern` with `email.policy.default` (structured address headers),
    else `compat32` (the strings as written). Do not change the object: it is shared."""
    return _parsed(head_of(raw), modern)
