"""Mail messages built the way real clients build them, for tests of the MIME parser and end to end.

Each builder copies one client's habits (header set, boundary shape, structure, transfer encodings,
how it encodes non-ASCII file names) closely enough that a parser passing these tests has met the
structures it will meet in production. Everything is generated: names, addresses and numbers are
synthetic. Builders return the bytes as they travel on the wire (CRLF line ends).

Common signature: `(*, sender, to, subject, text, html, attachments, charset=...) -> bytes` where
`attachments` is a list of `(filename, data, media_type)`; `text=None` means no plain-text part
(Outlook and Gmail then still derive an HTML part from the text when `html` is None, as they do).
"""

from __future__ import annotations

import base64
import hashlib
import html as html_lib
import itertools
import quopri
import re
import unicodedata
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email import charset as email_charset
from email import message_from_bytes, policy
from email.header import Header
from email.message import EmailMessage, Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.utils import format_datetime, formataddr, getaddresses, parseaddr
from urllib.parse import quote

Attachment = tuple[str, bytes, str]  # (filename, data, media type)

WIRE = policy.compat32.clone(linesep="\r\n")
DEFAULT_DATE = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
_counter = itertools.count(1)

# A 1x1 PNG: small enough to be a signature logo.
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
TNEF_BYTES = b"\x78\x9f\x3e\x22" + bytes(range(256)) * 4  # starts like a real winmail.dat


def _token(*seed: object, n: int = 24, alphabet: str = "0123456789abcdef") -> str:
    """A deterministic pseudo-random token (boundaries, ids): same inputs and call order, same mail."""
    digest = hashlib.sha256(repr((next(_counter), seed)).encode()).digest()
    out = []
    num = int.from_bytes(digest * 2, "big")
    for _ in range(n):
        num, r = divmod(num, len(alphabet))
        out.append(alphabet[r])
    return "".join(out)


def _domain(address: str) -> str:
    addr = parseaddr(address)[1] or address
    return addr.rsplit("@", 1)[-1] if "@" in addr else "example.com"


def _addr(value: str, charset: str = "utf-8") -> str:
    """`Name <addr>` with a non-ASCII display name RFC 2047-encoded, as clients send it."""
    single = re.fullmatch(r"\s*(.*?)\s*<([^<>]+)>\s*", value)
    pairs = [(single.group(1).strip('"'), single.group(2))] if single else getaddresses([value])
    out = []
    for name, addr in pairs:
        out.append(formataddr((name, addr), charset=charset) if name else addr)
    return ", ".join(out)


def _encoded_header(value: str, charset: str = "utf-8", encoding: str = "q") -> str:
    """A header value, RFC 2047-encoded (Q or B) when it is not plain ASCII."""
    if all(" " <= ch <= "~" for ch in value):
        return value
    try:
        value.encode(charset)
    except UnicodeEncodeError:
        charset = "utf-8"
    cs = email_charset.Charset(charset)
    cs.header_encoding = email_charset.QP if encoding == "q" else email_charset.BASE64
    return Header(value, cs).encode()


def _usable_charset(text: str, charset: str) -> str:
    """The requested charset if it can carry the text, else UTF-8 (what clients fall back to)."""
    try:
        text.encode(charset)
    except (UnicodeEncodeError, LookupError):
        return "utf-8"
    return charset


def _strip_mime_version(part: Message) -> Message:
    del part["MIME-Version"]
    return part


def _text_part(
    text: str, subtype: str, charset: str, *, cte: str = "quoted-printable", quote_params: bool = False,
    **params: str,
) -> MIMENonMultipart:  # fmt: skip
    """A text part encoded as clients do: quoted-printable with soft line breaks by default."""
    charset = _usable_charset(text, charset)
    part = MIMENonMultipart("text", subtype)
    _strip_mime_version(part)
    ps = "".join(f"; {k.replace('_', '-')}={v}" for k, v in params.items())
    cs = f'"{charset}"' if quote_params else charset
    part.replace_header("Content-Type", f"text/{subtype}; charset={cs}{ps}")
    data = text.replace("\r\n", "\n").encode(charset)
    if cte == "quoted-printable":
        part.set_payload(quopri.encodestring(data, quotetabs=False).decode("ascii"))
    elif cte == "base64":
        part.set_payload(base64.encodebytes(data).decode("ascii"))
    else:
        part.set_payload(data.decode("ascii", "surrogateescape"))
    part["Content-Transfer-Encoding"] = cte
    return part


def _binary_part(media_type: str, data: bytes, headers: list[tuple[str, str]]) -> MIMEBase:
    maintype, _, subtype = media_type.partition("/")
    part = MIMEBase(maintype or "application", subtype or "octet-stream")
    _strip_mime_version(part)
    del part["Content-Type"]
    for name, value in headers:
        part[name] = value
    part["Content-Transfer-Encoding"] = "base64"
    part.set_payload(base64.encodebytes(data).decode("ascii"))
    return part


def _rfc2231(param: str, value: str, *, nfd: bool = False, chunk: int = 60) -> str:
    """`filename*=UTF-8''...`, split into `filename*0*=` continuations when long (Thunderbird, Apple)."""
    if nfd:
        value = unicodedata.normalize("NFD", value)
    encoded = quote(value, safe="!#$&+-.^_`|~")
    if len(encoded) <= chunk:
        return f"{param}*=utf-8''{encoded}" if nfd else f"{param}*=UTF-8''{encoded}"
    pieces, rest = [], encoded
    while rest:
        cut = chunk
        while cut < len(rest) and "%" in rest[cut - 2 : cut]:
            cut -= 1  # never split a %XX escape
        pieces.append(rest[:cut])
        rest = rest[cut:]
    prefix = "utf-8" if nfd else "UTF-8"
    return ";\n ".join(f"{param}*{i}*={prefix}''{p}" if i == 0 else f"{param}*{i}*={p}" for i, p in enumerate(pieces))


def _plain_name(name: str) -> bool:
    """True when a file name can go into a header as is: printable ASCII without quotes or backslashes."""
    return all(" " <= ch <= "~" for ch in name) and '"' not in name and "\\" not in name


def _quoted_param(param: str, value: str, encoding: str = "b") -> str:
    """`name="..."` with an RFC 2047 word inside the quotes for non-ASCII (Outlook, Gmail)."""
    if _plain_name(value):
        return f'{param}="{value}"'
    if all(" " <= ch <= "~" for ch in value):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{param}="{escaped}"'
    return f'{param}="{_encoded_header(value, "utf-8", encoding)}"'


def _wrap_flowed(text: str, width: int = 72) -> str:
    """RFC 3676 format=flowed: long lines soft-broken with a trailing space, space-stuffing."""
    out: list[str] = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = " " + raw if raw.startswith((" ", "From ")) else raw  # space-stuffing
        if len(line) <= width or line.startswith(">"):
            out.append(line.rstrip(" ") if line != "-- " else line)
            continue
        words = line.split(" ")
        current = ""
        for word in words:
            candidate = f"{current}{word} "
            if len(candidate) > width and current:
                out.append(current)  # ends with a space: soft break
                current = f"{word} "
            else:
                current = candidate
        out.append(current.rstrip(" "))
    return "\n".join(out)


def _text_to_html(text: str) -> str:
    return "<br>\n".join(html_lib.escape(line) for line in text.split("\n"))


def _html_to_text(source: str) -> str:
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</tr>", "\n", source)
    return html_lib.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def _finish(msg: Message, headers: list[tuple[str, str]]) -> bytes:
    """Put the top headers first, in client order, and serialise with CRLF."""
    body_headers = [(k, v) for k, v in msg.items() if k.lower() in ("content-type", "content-transfer-encoding")]
    for k in ("Content-Type", "Content-Transfer-Encoding", "MIME-Version"):
        del msg[k]
    for k, v in headers:
        msg[k] = v
    for k, v in body_headers:
        msg[k] = v
    return msg.as_bytes(policy=WIRE)


def _common(
    sender: str, to: str | Sequence[str], subject: str, date: datetime | None, message_id: str | None,
    extra: Sequence[tuple[str, str]] | None, *, subject_encoding: str = "q", subject_charset: str = "utf-8",
) -> tuple[list[tuple[str, str]], str]:  # fmt: skip
    recipients = [to] if isinstance(to, str) else list(to)
    mid = message_id or f"<{_token(sender, subject, n=20)}@{_domain(sender)}>"
    headers = [
        ("From", _addr(sender)),
        ("To", ", ".join(_addr(r) for r in recipients)),
        ("Subject", _encoded_header(subject, subject_charset, subject_encoding)),
        ("Date", format_datetime(date or DEFAULT_DATE)),
        ("Message-ID", mid),
    ]
    headers.extend(extra or [])
    return headers, mid


# --- clients ---------------------------------------------------------------------------------


def thunderbird(
    *, sender: str, to: str | Sequence[str], subject: str, text: str | None, html: str | None = None,
    attachments: Sequence[Attachment] = (), charset: str = "utf-8", date: datetime | None = None,
    message_id: str | None = None, extra_headers: Sequence[tuple[str, str]] | None = None,
) -> bytes:  # fmt: skip
    """Thunderbird: format=flowed plain text, RFC 2231 names, `------------` boundaries."""

    def boundary() -> str:
        return "------------" + _token(subject, n=24, alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef")

    body: Message | None = None
    plain = _text_part(_wrap_flowed(text), "plain", charset, format="flowed") if text is not None else None
    html_part = _text_part(html, "html", charset) if html is not None else None
    if plain is not None and html_part is not None:
        alt = MIMEMultipart("alternative", boundary=boundary())
        _strip_mime_version(alt)
        alt.attach(plain)
        alt.attach(html_part)
        body = alt
    else:
        body = plain or html_part
    top: Message
    if attachments:
        top = MIMEMultipart("mixed", boundary=boundary())
        top.preamble = "This is a multi-part message in MIME format."
        if body is not None:
            top.attach(body)
        for filename, data, media in attachments:
            if _plain_name(filename):
                ctype = f'{media}; name="{filename}"'
                disp = f'attachment; filename="{filename}"'
            else:
                ctype = f"{media}; {_rfc2231('name', filename)}"
                disp = f"attachment; {_rfc2231('filename', filename)}"
            top.attach(_binary_part(media, data, [("Content-Type", ctype), ("Content-Disposition", disp)]))
    else:
        top = body if body is not None else _text_part("", "plain", charset, format="flowed")
    headers, _ = _common(sender, to, subject, date, message_id, extra_headers)
    headers[3:3] = [("MIME-Version", "1.0"), ("User-Agent", "Mozilla Thunderbird"),
                    ("Content-Language", "en-US")]  # fmt: skip
    return _finish(top, headers)


def outlook(  # noqa: PLR0913  (the options of one mail program's message, each named at the call)
    *, sender: str, to: str | Sequence[str], subject: str, text: str | None, html: str | None = None,
    attachments: Sequence[Attachment] = (), charset: str = "windows-1252", date: datetime | None = None,
    message_id: str | None = None, extra_headers: Sequence[tuple[str, str]] | None = None,
    logo: bool = False, tnef: bool = False,
) -> bytes:  # fmt: skip
    """Outlook / Exchange: windows-1252 quoted-printable, Thread-Index, X-MS-Has-Attach, `_000_` boundaries.

    `logo` adds a signature image in multipart/related; `tnef` adds a winmail.dat.
    """
    stem = _token(sender, n=16, alphabet="0123456789ABCDEF") + "DM6PR11MB" + _token(n=4)
    mid = message_id or f"<{stem}@DM6PR11MB{_token(n=4, alphabet='0123456789')}.namprd11.prod.outlook.com>"
    ascii_only = all(t is None or t.isascii() for t in (text, html))
    cs = "us-ascii" if ascii_only else charset
    if html is None and text is not None:
        paras = "".join(
            f'<p class="MsoNormal">{html_lib.escape(line) or "<o:p>&nbsp;</o:p>"}</p>\n' for line in text.split("\n")
        )
        html = (
            '<html xmlns:o="urn:schemas-microsoft-com:office:office"><head>'
            '<meta http-equiv="Content-Type" content="text/html; charset=' + cs + '">'
            '<style><!-- p.MsoNormal {margin:0in;} --></style></head>'
            f'<body lang="EN-US"><div class="WordSection1">\n{paras}'
            + ('<p class="MsoNormal"><img width="80" height="20" src="cid:image001.png@01DA0000.00000000"></p>'
               if logo else "")
            + "</div></body></html>"
        )  # fmt: skip
    alt = MIMEMultipart("alternative", boundary=f"_000_{stem}_")
    _strip_mime_version(alt)
    if text is not None:
        alt.attach(_text_part(text, "plain", cs, quote_params=True))
    if html is not None:
        alt.attach(_text_part(html, "html", cs, quote_params=True))
    body: Message = alt
    if logo:
        related = MIMEMultipart("related", boundary=f"_003_{stem}_", type="multipart/alternative")
        _strip_mime_version(related)
        related.attach(alt)
        related.attach(_binary_part("image/png", TINY_PNG, [
            ("Content-Type", 'image/png; name="image001.png"'),
            ("Content-Description", "image001.png"),
            ("Content-Disposition", f'inline; filename="image001.png"; size={len(TINY_PNG)}'),
            ("Content-ID", "<image001.png@01DA0000.00000000>"),
        ]))  # fmt: skip
        body = related
    all_attachments = list(attachments)
    if tnef:
        all_attachments.append(("winmail.dat", TNEF_BYTES, "application/ms-tnef"))
    top: Message = body
    if all_attachments:
        top = MIMEMultipart("mixed", boundary=f"_004_{stem}_")
        top.attach(body)
        stamp = format_datetime((date or DEFAULT_DATE) - timedelta(minutes=5), usegmt=True)
        for filename, data, media in all_attachments:
            top.attach(_binary_part(media, data, [
                ("Content-Type", f"{media}; {_quoted_param('name', filename)}"),
                ("Content-Description", _encoded_header(filename, "utf-8", "b")),
                ("Content-Disposition", f"attachment; {_quoted_param('filename', filename)}; "
                                        f'size={len(data)};\n creation-date="{stamp}";\n'
                                        f' modification-date="{stamp}"'),
            ]))  # fmt: skip
    headers, _ = _common(sender, to, subject, date, mid, extra_headers, subject_encoding="q",
                         subject_charset="iso-8859-1")  # fmt: skip
    thread_index = base64.b64encode(hashlib.sha256(subject.encode()).digest()[:22]).decode()
    headers[3:3] = [
        ("Thread-Topic", _encoded_header(re.sub(r"^(?i:(re|fw|fwd|aw|wg):\s*)+", "", subject), "iso-8859-1")),
        ("Thread-Index", thread_index),
    ]
    headers += [
        ("Accept-Language", "en-US"),
        ("Content-Language", "en-US"),
        ("X-MS-Has-Attach", "yes" if all_attachments else ""),
        ("X-MS-TNEF-Correlator", ""),
        ("x-ms-exchange-organization-authas", "Internal"),
        ("MIME-Version", "1.0"),
    ]
    return _finish(top, headers)


def gmail(
    *, sender: str, to: str | Sequence[str], subject: str, text: str | None, html: str | None = None,
    attachments: Sequence[Attachment] = (), charset: str = "utf-8", date: datetime | None = None,
    message_id: str | None = None, extra_headers: Sequence[tuple[str, str]] | None = None,
) -> bytes:  # fmt: skip
    """Gmail: alternative inside mixed, `000000000000...` boundaries, X-Gm-Message-State, X-Attachment-Id."""

    def boundary() -> str:
        return "000000000000" + _token(sender, subject, n=16)

    if html is None and text is not None:
        html = f'<div dir="ltr">{_text_to_html(text)}</div>\n'
    alt = MIMEMultipart("alternative", boundary=boundary())
    _strip_mime_version(alt)
    if text is not None:
        alt.attach(_text_part(text, "plain", charset, quote_params=True))
    if html is not None:
        alt.attach(_text_part(html, "html", charset, quote_params=True))
    top: Message = alt
    if attachments:
        top = MIMEMultipart("mixed", boundary=boundary())
        top.attach(alt)
        for filename, data, media in attachments:
            att_id = "f_" + _token(filename, n=9, alphabet="0123456789abcdefghijklmnopqrstuvwxyz")
            top.attach(_binary_part(media, data, [
                ("Content-Type", f"{media}; {_quoted_param('name', filename)}"),
                ("Content-Disposition", f"attachment; {_quoted_param('filename', filename)}"),
                ("Content-ID", f"<{att_id}>"),
                ("X-Attachment-Id", att_id),
            ]))  # fmt: skip
    mid = (
        message_id
        or f"<CA+{_token(sender, n=40, alphabet='ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef0123456789')}@mail.gmail.com>"
    )
    headers, _ = _common(sender, to, subject, date, mid, extra_headers, subject_encoding="b")
    when = format_datetime(date or DEFAULT_DATE)
    headers[0:0] = [
        ("Received", f"by mail-sor-f41.google.com with SMTPS id {_token(n=12)}; {when}"),
        ("X-Google-Smtp-Source", "AGHT+IH" + _token(n=40)),
        ("X-Gm-Message-State", "AOJu0Y" + _token(n=40)),
        ("X-Received", f"by 2002:a05:6402:{_token(n=4)} with SMTP id {_token(n=12)}; {when}"),
        ("MIME-Version", "1.0"),
    ]
    return _finish(top, headers)


def apple_mail(  # noqa: C901, PLR0913  (the options of one mail program's message, each named at the call)
    *, sender: str, to: str | Sequence[str], subject: str, text: str | None, html: str | None = None,
    attachments: Sequence[Attachment] = (), charset: str = "utf-8", date: datetime | None = None,
    message_id: str | None = None, extra_headers: Sequence[tuple[str, str]] | None = None,
    inline_images: Sequence[Attachment] = (),
) -> bytes:  # fmt: skip
    """Apple Mail: alternative with related and inline images, inline-disposition attachments, NFD RFC 2231 names.

    Without HTML, a body with attachments is split around them (text, attachment, text) as Mail does.
    """

    def boundary() -> str:
        return "Apple-Mail=_" + str(uuid.UUID(_token(subject, n=32))).upper()

    def attachment_part(filename: str, data: bytes, media: str, *, cid: bool = False) -> MIMEBase:
        if re.fullmatch(r"[A-Za-z0-9._+-]+", filename):  # Mail quotes only when a token cannot hold it
            disp = f"inline; filename={filename}"
            ctype = f'{media}; x-unix-mode=0644; name="{filename}"'
        elif _plain_name(filename):
            disp = f'inline; filename="{filename}"'
            ctype = f'{media}; x-unix-mode=0644; name="{filename}"'
        else:
            disp = f"inline; {_rfc2231('filename', filename, nfd=True)}"
            ctype = f"{media}; x-unix-mode=0644; {_rfc2231('name', filename, nfd=True)}"
        headers = [("Content-Disposition", disp), ("Content-Type", ctype)]
        if cid:
            headers.append(("Content-Id", f"<{str(uuid.UUID(_token(filename, n=32))).upper()}>"))
        return _binary_part(media, data, headers)

    top: Message
    if html is None:
        plain_text = text or ""
        if not attachments:
            top = _text_part(plain_text, "plain", charset)
        else:
            top = MIMEMultipart("mixed", boundary=boundary())
            top.attach(_text_part(plain_text, "plain", charset))
            for a in attachments:
                top.attach(attachment_part(*a))
            top.attach(_text_part("\n", "plain", charset))
    else:
        html_branch: Message = _text_part(html, "html", charset)
        if inline_images:
            related = MIMEMultipart("related", boundary=boundary(), type="text/html")
            _strip_mime_version(related)
            related.attach(html_branch)
            for a in inline_images:
                related.attach(attachment_part(*a, cid=True))
            html_branch = related
        if attachments:
            mixed = MIMEMultipart("mixed", boundary=boundary())
            _strip_mime_version(mixed)
            mixed.attach(html_branch)
            for a in attachments:
                mixed.attach(attachment_part(*a))
            mixed.attach(_text_part("<html><body></body></html>", "html", charset))
            html_branch = mixed
        if text is None:
            top = html_branch
        else:
            top = MIMEMultipart("alternative", boundary=boundary())
            top.attach(_text_part(text, "plain", charset))
            top.attach(html_branch)
    mid = message_id or f"<{str(uuid.UUID(_token(sender, n=32))).upper()}@{_domain(sender)}>"
    headers, _ = _common(sender, to, subject, date, mid, extra_headers)
    headers = [h for h in headers if h[0] != "Message-ID"] + [("Message-Id", mid)]
    headers += [("Mime-Version", "1.0 (Mac OS X Mail 16.0 \\(3774.600.62\\))"),
                ("X-Mailer", "Apple Mail (2.3774.600.62)")]  # fmt: skip
    return _finish(top, headers)


CLIENTS = {"thunderbird": thunderbird, "outlook": outlook, "gmail": gmail, "apple_mail": apple_mail}


# --- conversations ---------------------------------------------------------------------------


def _read(original: bytes) -> EmailMessage:
    msg = message_from_bytes(original, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def _plain_of(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    content = body.get_content()
    text = content if isinstance(content, str) else ""
    return _html_to_text(text) if body.get_content_type() == "text/html" else text


def reply_to(
    original: bytes, text: str, *, sender: str | None = None, client: str = "gmail",
    attachments: Sequence[Attachment] = (), date: datetime | None = None,
) -> bytes:  # fmt: skip
    """A reply quoting the original below the new text, threaded with In-Reply-To and References.

    Gmail replies carry the quote in a `gmail_quote` block of the HTML part as well.
    """
    orig = _read(original)
    orig_from = str(orig.get("From", ""))
    orig_to = str(orig.get("To", ""))
    subject = str(orig.get("Subject", ""))
    subject = subject if subject.lower().startswith("re:") else f"Re: {subject}"
    orig_id = str(orig.get("Message-ID", "")).strip()
    refs = " ".join(x for x in (str(orig.get("References", "")).strip(), orig_id) if x)
    when = orig.get("Date")
    when_text = when.datetime.strftime("%a, %b %-d, %Y at %-I:%M %p") if when is not None else "an earlier day"
    quoted = "\n".join(f"> {line}" if line else ">" for line in _plain_of(orig).split("\n"))
    attribution = f"On {when_text} {orig_from} wrote:"
    plain = f"{text}\n\n{attribution}\n\n{quoted}\n"
    html: str | None = None
    if client == "gmail":
        html = (
            f'<div dir="ltr">{_text_to_html(text)}</div><br><div class="gmail_quote">'
            f'<div dir="ltr" class="gmail_attr">{html_lib.escape(attribution)}<br></div>'
            '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid '
            f'rgb(204,204,204);padding-left:1ex">{_text_to_html(_plain_of(orig))}</blockquote></div>\n'
        )
    extra = [("In-Reply-To", orig_id), ("References", refs)] if orig_id else []
    me = sender or (getaddresses([orig_to])[0][1] if orig_to else "someone@example.com")
    builder = CLIENTS[client]
    return builder(sender=me, to=orig_from, subject=subject, text=plain, html=html,
                   attachments=list(attachments), extra_headers=extra, date=date)  # fmt: skip


def forward(
    original: bytes, *, sender: str, to: str, text: str = "", inline: bool = False, client: str = "thunderbird",
    date: datetime | None = None,
) -> bytes:  # fmt: skip
    """A forward: the original as a `message/rfc822` attachment, or inline under a "Forwarded" header block.

    Inline forwards re-attach the original's attachments, as clients do.
    """
    orig = _read(original)
    subject = f"Fwd: {orig.get('Subject', '')}"
    if not inline:
        stem = re.sub(r"[^\w\- ]+", "", str(orig.get("Subject", "")))[:60].strip() or "Forwarded Message"
        top = MIMEMultipart("mixed", boundary="------------" + _token(subject, n=24))
        top.preamble = "This is a multi-part message in MIME format."
        top.attach(_text_part(_wrap_flowed(text), "plain", "utf-8", format="flowed"))
        part = MIMEBase("message", "rfc822")
        _strip_mime_version(part)
        del part["Content-Type"]
        part["Content-Type"] = f'message/rfc822; name="{stem}.eml"'
        part["Content-Disposition"] = f'attachment; filename="{stem}.eml"'
        part["Content-Transfer-Encoding"] = "8bit"
        part.set_payload(original.decode("ascii", "surrogateescape"))
        top.attach(part)
        headers, _ = _common(sender, to, subject, date, None, None)
        headers[3:3] = [("MIME-Version", "1.0"), ("User-Agent", "Mozilla Thunderbird")]
        return _finish(top, headers)
    if client == "gmail":
        block = (
            "---------- Forwarded message ---------\n"
            f"From: {orig.get('From', '')}\nDate: {orig.get('Date', '')}\n"
            f"Subject: {orig.get('Subject', '')}\nTo: {orig.get('To', '')}\n"
        )
    else:
        block = (
            "-------- Forwarded Message --------\n"
            f"Subject: \t{orig.get('Subject', '')}\nDate: \t{orig.get('Date', '')}\n"
            f"From: \t{orig.get('From', '')}\nTo: \t{orig.get('To', '')}\n"
        )
    body = f"{text}\n\n{block}\n\n{_plain_of(orig)}\n"
    atts: list[Attachment] = []
    for att in orig.iter_attachments():
        data = att.get_payload(decode=True)
        if isinstance(data, bytes):
            atts.append((att.get_filename() or "attachment", data, att.get_content_type()))
    return CLIENTS[client](sender=sender, to=to, subject=subject, text=body, html=None, attachments=atts,
                           date=date)  # fmt: skip


def bounce(
    original: bytes, *, recipient: str | None = None, mta: str = "mx.example.net", status: str = "5.1.1",
    diagnostic: str = "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown",
    headers_only: bool = False, date: datetime | None = None,
) -> bytes:  # fmt: skip
    """A delivery status notification (RFC 3464) from MAILER-DAEMON, as Postfix sends it."""
    orig = _read(original)
    rcpt = recipient or (getaddresses([str(orig.get("To", ""))]) or [("", "nobody@example.com")])[0][1]
    to = str(orig.get("From", "")) or "postmaster@example.com"
    top = MIMEMultipart("report", boundary=f"{_token(n=12, alphabet='0123456789ABCDEF')}.{mta}",
                        report_type="delivery-status")  # fmt: skip
    top.preamble = "This is a MIME-encapsulated message."
    notice = (
        f"This is the mail system at host {mta}.\n\nI'm sorry to have to inform you that your message could\n"
        "not be delivered to one or more recipients. It's attached below.\n\n"
        f"<{rcpt}>: host {mta} said: {diagnostic.format(rcpt=rcpt)}\n"
    )
    desc = _text_part(notice, "plain", "us-ascii", cte="7bit")
    desc["Content-Description"] = "Notification"
    top.attach(desc)
    per_message = Message()
    per_message["Reporting-MTA"] = f"dns; {mta}"
    per_message["Arrival-Date"] = format_datetime(date or DEFAULT_DATE)
    per_rcpt = Message()
    per_rcpt["Final-Recipient"] = f"rfc822; {rcpt}"
    per_rcpt["Action"] = "failed"
    per_rcpt["Status"] = status
    per_rcpt["Diagnostic-Code"] = f"smtp; {diagnostic.format(rcpt=rcpt)}"
    ds = MIMEBase("message", "delivery-status")
    _strip_mime_version(ds)
    ds["Content-Description"] = "Delivery report"
    ds.set_payload([per_message, per_rcpt])
    top.attach(ds)
    if headers_only:
        head = original.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
        returned = MIMEBase("text", "rfc822-headers")
        returned.set_payload(head.decode("ascii", "surrogateescape"))
    else:
        returned = MIMEBase("message", "rfc822")
        returned.set_payload(original.decode("ascii", "surrogateescape"))
    _strip_mime_version(returned)
    returned["Content-Description"] = "Undelivered Message"
    top.attach(returned)
    headers = [
        ("Return-Path", "<>"),
        ("From", f"MAILER-DAEMON@{mta} (Mail Delivery System)"),
        ("To", to),
        ("Subject", "Undelivered Mail Returned to Sender"),
        ("Date", format_datetime(date or DEFAULT_DATE)),
        ("Message-ID", f"<{_token(n=16)}@{mta}>"),
        ("Auto-Submitted", "auto-replied"),
        ("MIME-Version", "1.0"),
    ]
    return _finish(top, headers)


def auto_reply(
    original: bytes | None = None, *, sender: str, to: str | None = None, text: str = "",
    subject: str | None = None, style: str = "outlook", date: datetime | None = None,
) -> bytes:  # fmt: skip
    """A vacation / out-of-office message with the headers RFC 3834 and Exchange put on it."""
    orig = _read(original) if original is not None else None
    to_addr = to or (str(orig.get("From", "")) if orig is not None else "someone@example.com")
    orig_subject = str(orig.get("Subject", "")) if orig is not None else ""
    text = text or "I am out of the office until March 16 with limited access to email."
    extra: list[tuple[str, str]] = [("Auto-Submitted", "auto-replied")]
    if orig is not None and orig.get("Message-ID"):
        extra += [("In-Reply-To", str(orig["Message-ID"])), ("References", str(orig["Message-ID"]))]
    if style == "outlook":
        extra += [("X-Auto-Response-Suppress", "All"), ("X-MS-Exchange-Inbox-Rules-Loop", _addr(sender))]
        return outlook(sender=sender, to=to_addr, subject=subject or f"Automatic reply: {orig_subject}",
                       text=text, extra_headers=extra, date=date)  # fmt: skip
    extra += [("X-Autoreply", "yes"), ("Precedence", "bulk")]
    return thunderbird(sender=sender, to=to_addr, subject=subject or f"Out of Office: {orig_subject}", text=text,
                       extra_headers=extra, date=date)  # fmt: skip


def list_mail(
    *, sender: str, to: str, subject: str, text: str, list_id: str = "coc-news.lists.example.org",
    list_name: str = "CoC news", date: datetime | None = None,
) -> bytes:  # fmt: skip
    """A mailing-list post as Mailman delivers it: List-Id, Precedence: list, List-Unsubscribe."""
    local, _, domain = list_id.partition(".")
    list_addr = f"{local}@{domain}"
    bounces = f"{local}-bounces@{domain}"
    unsubscribe = f"<mailto:{local}-request@{domain}?subject=unsubscribe>"
    extra = [
        ("Sender", bounces),
        ("Errors-To", bounces),
        ("Precedence", "list"),
        ("List-Id", f"{list_name} <{list_id}>"),
        ("List-Unsubscribe", f"<https://{domain}/mailman/options/{local}>, {unsubscribe}"),
        ("List-Post", f"<mailto:{list_addr}>"),
        ("X-BeenThere", list_addr),
    ]  # fmt: skip
    return thunderbird(sender=sender, to=to, subject=f"[{list_name}] {subject}", text=text, extra_headers=extra,
                       date=date)  # fmt: skip


def sample_text(charset: str) -> str:
    """A request letter body with the characters that break naive decoders in `charset`."""
    base = (
        "Dear Sir or Madam,\n\nPlease issue a certificate of coverage for our employee \u201cJos\u00e9 "
        "M\u00fcller-Stra\u00dfe\u201d.\nEmployee name: Jos\u00e9 M\u00fcller\nSSN: 123-45-6789\n"
        "Country: Germany\nStart date: 2026-04-01\nEnd date: 2027-03-31\n"
    )
    if charset.lower().replace("_", "-") in ("windows-1252", "cp1252", "utf-8"):
        base += "Allowance: 1.200 \u20ac per month \u2013 paid in Munich.\n"
    if charset.lower() in ("iso-8859-1", "latin-1", "latin1"):
        base = base.replace("\u201c", '"').replace("\u201d", '"')
    return base + "\nKind regards,\nRen\u00e9e Fa\u00dfbender\n"
