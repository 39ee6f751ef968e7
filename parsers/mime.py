"""A raw mail message, as any client or a hostile sender builds it, into readable `Part`s.

Everything downstream (body, PDF, OCR, spreadsheet parsers) wants one decoded body and each
attachment's exact bytes with a believable media type; it should never need to know about MIME.
Mail is adversarial and sloppy (wrong charsets, missing boundaries, truncated uploads, nesting
bombs), so `parse_mail` never raises: what cannot be read becomes a `PartProblem` beside whatever
could be read. Only stdlib `email` with `policy.default` is used (hostile header values are cut first).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from parsers.mime_headers import MailMeta, _empty_meta, read_meta
from parsers.mime_text import carries_less, decode_text, html_to_text, is_html_boilerplate, safe_filename, unflow
from parsers.mime_walk import (
    ENCRYPTED_TYPES,
    LOGO_MAX_BYTES,
    SIGNATURE_TYPES,
    TNEF_MAGIC,
    TNEF_TYPES,
    _flood_cut,
    _header_block_size,
    _Walker,
)
from parsers.types import Limits, Part, PartProblem

__all__ = [
    "ENCRYPTED_TYPES",
    "LOGO_MAX_BYTES",
    "SIGNATURE_TYPES",
    "TNEF_MAGIC",
    "TNEF_TYPES",
    "MailMeta",
    "ParsedMail",
    "carries_less",
    "decode_text",
    "html_to_text",
    "is_html_boilerplate",
    "parse_mail",
    "read_meta",
    "safe_filename",
    "unflow",
]

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class ParsedMail:
    meta: MailMeta
    parts: list[Part]
    problems: list[PartProblem]


def parse_mail(raw: bytes, limits: Limits) -> ParsedMail:
    """Read a raw RFC 5322 message into its metadata, body and attachment parts. Never raises.

    Parts, in message order:
    - `"body"`: `text/plain` with the plain text; or, when a message has no usable plain text
      (HTML only, or a "view this in HTML" placeholder), `text/html` with the HTML source as
      `text` (one part, not a rendering plus the source: the pipeline parses every text part, and
      the HTML body parser handles tables and quoted replies better than any flattening here;
      `html_to_text` is there for callers that want lines). No body part when there is no text.
    - `"attachment N: name"`: decoded bytes; `text` set for text types. `.eml` files are a part
      and are also read as a forwarded message.
    - `"forwarded N: body"`, `"forwarded N: attachment M: name"`: a `message/rfc822` part's contents,
      N counting forwarded messages through the whole message.
    """
    walker = _Walker(limits)
    data = raw
    if len(raw) > limits.max_bytes:
        walker.problem(
            "too_large", f"message is {len(raw)} bytes, over the limit of {limits.max_bytes}; "
            "only the start was read", "message",
        )  # fmt: skip
        data = raw[: limits.max_bytes]
    if _header_block_size(data) > limits.max_header_bytes:
        # The stdlib parser holds every header line in memory and re-parses values on access; a
        # header block of megabytes is not mail, and nothing in it is worth a worker's time.
        walker.problem(
            "header_too_large", f"message header block is over the limit of {limits.max_header_bytes} bytes; "
            "the message was not read", "message",
        )  # fmt: skip
        return ParsedMail(meta=_empty_meta(), parts=[], problems=walker.problems)
    cut = _flood_cut(data, max(400, 4 * limits.max_parts))
    if cut is not None:
        # The stdlib parser spends ~0.1 ms per part: a small message of 200k empty parts would hold a
        # worker for half a minute before the part limit below is ever consulted.
        walker.problem("too_many_parts", f"more than {limits.max_parts} MIME parts; the rest were not read",
                       "message")  # fmt: skip
        data = data[:cut]
    msg = walker.load(data, "message")
    meta = _empty_meta()
    if msg is not None:
        try:
            meta = read_meta(msg)
        except Exception as exc:  # never raise on hostile headers
            walker.problem("malformed_header", f"headers could not be read ({type(exc).__name__})", "message")
        try:
            walker.message(msg, depth=0, prefix="", where="message")
        except RecursionError:
            walker.problem("too_deep", "MIME structure nested too deeply", "message")
        except Exception as exc:  # keep what was read so far
            log.warning("mime walk failed: %s", type(exc).__name__)
            walker.problem("parse_error", f"message structure could not be read ({type(exc).__name__})",
                           "message")  # fmt: skip
    return ParsedMail(meta=meta, parts=walker.parts, problems=walker.problems)

