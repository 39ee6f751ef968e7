"""The bytes of a reply mail: headers, a text and an HTML alternative, attachments.

Written out directly rather than through `EmailMessage` (or the `email.mime` classes): the default
policy parses every header it is given into a structured object and tries encodings for each part,
and either class folds each header through `email.header`; that cost about 2 ms of the daemon's
GIL-bound time per reply, a fifth of what a text mail costs it end to end (issue 13). A reply's
shape is fixed and small, so the rules are applied here explicitly, in C where the stdlib has it:

- a header value is one line (a CR or LF in a value the sender chose, such as a subject, becomes a
  space: nothing can be injected), folded at spaces before 78 columns, RFC 2047 encoded
  (`email.header`) when it is not ASCII;
- bodies are UTF-8 quoted-printable (`binascii.b2a_qp`), so the mail is 7-bit on the wire;
  attachments base64, their names RFC 2231 encoded when not ASCII;
- a boundary starts with `=_`, which quoted-printable and base64 bodies can never hold.

Lines end in LF, as `Message.as_bytes()` wrote them; the SMTP client sends them as CRLF.
"""

from __future__ import annotations

import binascii
import re
import secrets
from collections.abc import Sequence
from email.header import Header
from email.utils import encode_rfc2231

_LINE_BREAKS = re.compile(r"[\r\n]+\s*")
_FOLD_AT = 78


def header_line(name: str, value: str) -> str:
    """`Name: value`, one logical line, folded and encoded as a mail header must be."""
    value = _LINE_BREAKS.sub(" ", value).strip()
    if not value.isascii():
        return f"{name}: " + Header(value, "utf-8", header_name=name).encode(linesep="\n")
    line, out = f"{name}:", []
    for word in value.split(" "):
        if len(line) + 1 + len(word) > _FOLD_AT and line.strip() and not line.endswith(":"):
            out.append(line)
            line = ""
        line += " " + word
    return "\n".join([*out, line])


def _boundary() -> str:
    return "=_" + secrets.token_hex(16)


def _text_part(body: str, subtype: str) -> str:
    encoded = binascii.b2a_qp(body.encode("utf-8"), istext=True).decode("ascii")
    return (f'Content-Type: text/{subtype}; charset="utf-8"\nContent-Transfer-Encoding: quoted-printable\n\n'
            f"{encoded}\n")


def _file_part(filename: str, data: bytes, media_type: str) -> str:
    name = f'filename="{filename}"' if filename.isascii() and '"' not in filename else \
        f"filename*={encode_rfc2231(filename, 'utf-8')}"
    encoded = binascii.b2a_base64(data, newline=False).decode("ascii")
    lines = "\n".join(encoded[i:i + 76] for i in range(0, len(encoded), 76))
    return (f"Content-Type: {media_type}\nContent-Transfer-Encoding: base64\n"
            f"Content-Disposition: attachment;\n {name}\n\n{lines}\n")


def _multipart(subtype: str, parts: Sequence[str]) -> str:
    boundary = _boundary()
    inner = "".join(f"--{boundary}\n{part}" for part in parts)
    return f'Content-Type: multipart/{subtype};\n boundary="{boundary}"\n\n{inner}--{boundary}--\n'


def compose(headers: Sequence[tuple[str, str]], text: str, html: str,
            attachments: Sequence[tuple[str, bytes, str]] = ()) -> bytes:
    """A `multipart/alternative` mail (inside a `multipart/mixed` one when files go with it)."""
    body = _multipart("alternative", [_text_part(text, "plain"), _text_part(html, "html")])
    if attachments:
        body = _multipart("mixed", [body, *(_file_part(*item) for item in attachments)])
    head = "".join(header_line(name, value) + "\n" for name, value in headers)
    return (head + "MIME-Version: 1.0\n" + body).encode("ascii")
