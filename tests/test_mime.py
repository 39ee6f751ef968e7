"""parse_mail against messages built as real clients build them, and against broken and hostile ones."""

from __future__ import annotations

import base64
import io
import zipfile
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers.mime import ParsedMail, html_to_text, is_html_boilerplate, parse_mail, safe_filename, unflow
from parsers.types import Limits, Part
from tests import mailgen

LIMITS = Limits()
SENDER = "Ren\u00e9e Fa\u00dfbender <renee.fassbender@example.com>"
TO = "coc-requests@ssa.example.gov"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
TIFF = b"II*\x00\x08\x00\x00\x00" + bytes(300)
PNG = mailgen.TINY_PNG
JPEG_BIG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 120  # ~30 KB: a pasted scan, not a logo


def _xlsx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
    return buf.getvalue()


def by_name(parsed: ParsedMail) -> dict[str, Part]:
    return {p.name: p for p in parsed.parts}


def codes(parsed: ParsedMail) -> set[str]:
    return {p.code for p in parsed.problems}


def assert_storable(parsed: ParsedMail) -> None:
    """Every string the parser hands on must encode as UTF-8 (no surrogate escapes leak to the store)."""
    meta = parsed.meta
    strings = [meta.message_id, meta.from_addr, meta.from_name, meta.reply_to, meta.subject, meta.in_reply_to]
    strings += meta.to + meta.references + list(meta.headers) + list(meta.headers.values())
    strings += [x for p in parsed.parts for x in (p.name, p.filename, p.text)]
    strings += [x for p in parsed.problems for x in (p.message, p.part)]
    for s in strings:
        if s is not None:
            s.encode("utf-8")


def attachments(parsed: ParsedMail) -> list[Part]:
    return [p for p in parsed.parts if " attachment " in f" {p.name}" and not p.name.startswith("forwarded")]


# --- every client, every charset -------------------------------------------------------------------

CHARSETS = ["utf-8", "iso-8859-1", "windows-1252"]


@pytest.mark.parametrize("client", sorted(mailgen.CLIENTS))
@pytest.mark.parametrize("charset", CHARSETS)
def test_client_body_and_attachments_round_trip(client: str, charset: str) -> None:
    text = mailgen.sample_text(charset)
    atts = [
        ("request.pdf", PDF, "application/pdf"),
        ("Antrag M\u00fcller \u2013 Stra\u00dfe.pdf", PDF + b"2", "application/pdf"),
        ("workers.xlsx", _xlsx(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ]
    raw = mailgen.CLIENTS[client](
        sender=SENDER, to=TO, subject="Certificate for Jos\u00e9 \u2013 \u20ac", text=text, html=None,
        attachments=atts, charset=charset,
    )  # fmt: skip
    parsed = parse_mail(raw, LIMITS)
    parts = by_name(parsed)
    body = parts["body"]
    assert body.media_type == "text/plain"
    assert body.text is not None
    assert body.text.strip() == text.strip()
    assert "\u00e9" in body.text and "\u00df" in body.text
    assert "body (html)" not in parts  # plain text present: the HTML is not kept
    names = [p.name for p in attachments(parsed)]
    assert names == [
        "attachment 1: request.pdf",
        "attachment 2: Antrag M\u00fcller \u2013 Stra\u00dfe.pdf",
        "attachment 3: workers.xlsx",
    ]
    assert [p.data for p in attachments(parsed)] == [a[1] for a in atts]
    assert parts["attachment 2: Antrag M\u00fcller \u2013 Stra\u00dfe.pdf"].filename == (
        "Antrag M\u00fcller \u2013 Stra\u00dfe.pdf"
    )
    assert parsed.meta.subject == "Certificate for Jos\u00e9 \u2013 \u20ac"
    assert parsed.meta.from_addr == "renee.fassbender@example.com"
    assert parsed.meta.from_name == "Ren\u00e9e Fa\u00dfbender"
    assert parsed.meta.to == [TO]
    assert parsed.meta.date == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    assert parsed.meta.message_id and parsed.meta.message_id.startswith("<")
    assert not {"bad_charset", "malformed_multipart", "truncated", "parse_error"} & codes(parsed)


def test_client_specific_headers_are_exposed() -> None:
    outlook = parse_mail(mailgen.outlook(sender=SENDER, to=TO, subject="x", text="hi", attachments=[
        ("a.pdf", PDF, "application/pdf")]), LIMITS)  # fmt: skip
    assert outlook.meta.headers["x-ms-has-attach"] == "yes"
    assert outlook.meta.headers["thread-index"]
    gmail = parse_mail(mailgen.gmail(sender=SENDER, to=TO, subject="x", text="hi"), LIMITS)
    assert "x-gm-message-state" in gmail.meta.headers
    tb = mailgen.thunderbird(sender=SENDER, to=TO, subject="x", text="hi")
    assert b"format=flowed" in tb
    assert parse_mail(tb, LIMITS).meta.headers["user-agent"] == "Mozilla Thunderbird"


def test_outlook_windows_1252_quoted_printable_curly_quotes_and_euro() -> None:
    text = "Employee: \u201cJ\u00f6rg Wei\u00df\u201d \u2013 allowance 900 \u20ac\nSSN: 123-45-6789"
    raw = mailgen.outlook(sender=SENDER, to=TO, subject="Antrag", text=text)
    assert b'charset="windows-1252"' in raw and b"=93" in raw and b"=80" in raw
    parsed = parse_mail(raw, LIMITS)
    assert by_name(parsed)["body"].text == text


def test_rfc2047_attachment_names_outlook_and_gmail() -> None:
    name = "B\u00e9l\u00e9nd\u00e9z \u00fcbersicht \u00df.pdf"
    for builder in (mailgen.outlook, mailgen.gmail):
        raw = builder(sender=SENDER, to=TO, subject="x", text="see file", attachments=[(name, PDF, "application/pdf")])
        assert b'filename="=?utf-8?b?' in raw.lower()
        parsed = parse_mail(raw, LIMITS)
        assert attachments(parsed)[0].name == f"attachment 1: {name}"
        assert attachments(parsed)[0].filename == name


def test_rfc2231_continuations_and_nfd_names() -> None:
    long_name = "Bescheinigung \u00fcber die Entsendung nach \u00d6sterreich f\u00fcr J\u00f6rg Wei\u00df 2026.pdf"
    raw = mailgen.thunderbird(sender=SENDER, to=TO, subject="x", text="t", attachments=[
        (long_name, PDF, "application/pdf")])  # fmt: skip
    assert b"filename*0*=UTF-8''" in raw and b"filename*1*=" in raw
    assert attachments(parse_mail(raw, LIMITS))[0].filename == long_name
    # Apple Mail sends decomposed letters; staff see (and tests compare) the composed form.
    raw = mailgen.apple_mail(sender=SENDER, to=TO, subject="x", text="t", attachments=[
        ("J\u00f6rg.pdf", PDF, "application/pdf")])  # fmt: skip
    assert b"Jo%CC%88rg" in raw
    assert attachments(parse_mail(raw, LIMITS))[0].filename == "J\u00f6rg.pdf"


def test_rfc2047_names_in_utf8_and_latin1_headers_by_hand() -> None:
    name_b = base64.b64encode("r\u00e9sum\u00e9 \u20ac.pdf".encode()).decode()
    raw = (
        "From: a@example.com\r\nSubject: =?iso-8859-1?q?Gr=FC=DFe?=\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n'
        f'--b\r\nContent-Type: application/pdf; name="=?utf-8?b?{name_b}?="\r\nContent-Transfer-Encoding: base64\r\n'
        f"\r\n{base64.b64encode(PDF).decode()}\r\n--b--\r\n"
    ).encode()
    parsed = parse_mail(raw, LIMITS)
    assert parsed.meta.subject == "Gr\u00fc\u00dfe"
    assert attachments(parsed)[0].filename == "r\u00e9sum\u00e9 \u20ac.pdf"
    assert attachments(parsed)[0].data == PDF


# --- body selection --------------------------------------------------------------------------------


def test_html_only_mail_gives_one_html_body() -> None:
    html = (
        "<html><head><style>p{color:red}</style></head><body><p>Employee: <b>Jos\u00e9 Garc\u00eda</b></p>"
        "<table><tr><td>SSN</td><td>123-45-6789</td></tr><tr><td>Country</td><td>Italy</td></tr></table>"
        "<div>Start&nbsp;date: 2026-05-01<br>End date: 2027-04-30</div></body></html>"
    )
    for charset in CHARSETS:
        raw = mailgen.thunderbird(sender=SENDER, to=TO, subject="html only", text=None, html=html, charset=charset)
        parsed = parse_mail(raw, LIMITS)
        assert [p.name for p in parsed.parts] == ["body"]
        body = parsed.parts[0]
        assert body.media_type == "text/html"
        assert body.text == html
        assert body.data == html.encode("utf-8")
    lines = html_to_text(html).split("\n")
    assert "Employee: Jos\u00e9 Garc\u00eda" in lines
    assert "SSN\t123-45-6789" in lines
    assert "Start date: 2026-05-01" in lines and "End date: 2027-04-30" in lines
    assert "color" not in html_to_text(html)


def test_boilerplate_plain_alternative_yields_to_html() -> None:
    html = "<p>Worker: Ana Silva</p><p>Country: Portugal</p>"
    raw = mailgen.gmail(
        sender=SENDER, to=TO, subject="x", text="This is an HTML message. Please use an HTML capable mail program "
        "to read this message.", html=html,
    )  # fmt: skip
    parsed = parse_mail(raw, LIMITS)
    assert [p.name for p in parsed.parts] == ["body"]
    assert parsed.parts[0].media_type == "text/html"
    assert parsed.parts[0].text == html
    assert html_to_text(html) == "Worker: Ana Silva\nCountry: Portugal"


def test_plain_alternative_preferred_over_html() -> None:
    raw = mailgen.gmail(sender=SENDER, to=TO, subject="x", text="plain words", html="<p>html words</p>")
    parts = by_name(parse_mail(raw, LIMITS))
    assert parts["body"].text == "plain words"
    assert "body (html)" not in parts


@pytest.mark.parametrize("plain", [
    "Hi, the details of our request are below. Thanks, Nora",  # a stub in no words we know
    "Employee: Ana Silva\n\nSSN\nDate of birth\nCountry\n\nThanks",  # a rendering that lost the table
])
def test_a_plain_alternative_that_carries_less_of_the_request_yields_to_html(plain: str) -> None:
    html = ("<table><tr><td>Employee</td><td>Ana Silva</td></tr><tr><td>SSN</td><td>123-45-6789</td></tr>"
            "<tr><td>Date of birth</td><td>04/24/1985</td></tr><tr><td>Country</td><td>Portugal</td></tr></table>")
    raw = mailgen.gmail(sender=SENDER, to=TO, subject="x", text=plain, html=html)
    [body] = parse_mail(raw, LIMITS).parts
    assert body.media_type == "text/html" and body.text == html


def test_boilerplate_detection() -> None:
    assert is_html_boilerplate("")
    assert is_html_boilerplate("  \n ")
    assert is_html_boilerplate("Your email client does not support HTML messages.")
    assert is_html_boilerplate("To view this message, please enable HTML.")
    assert not is_html_boilerplate("SSN: 123-45-6789\nCountry: Germany")
    assert not is_html_boilerplate("Please find attached the request for our employee.")


def test_quoted_printable_soft_line_breaks_rejoin() -> None:
    long_line = "Employer address: " + " ".join(f"word{i}" for i in range(60)) + " Springfield IL 62704"
    raw = mailgen.gmail(sender=SENDER, to=TO, subject="x", text=long_line + "\nnext line")
    assert b"=\r\n" in raw  # the encoder really soft-broke the line
    assert by_name(parse_mail(raw, LIMITS))["body"].text == long_line + "\nnext line"


def test_format_flowed_rejoins_and_unstuffs() -> None:
    long_line = "Work address: " + " ".join(f"Stra\u00dfe{i}" for i in range(30))
    text = f"{long_line}\nFrom here on\n>quoted line\n-- \nsig"
    raw = mailgen.thunderbird(sender=SENDER, to=TO, subject="x", text=text)
    assert raw.count(b"=20\r\n") >= 2  # soft breaks (QP-encoded trailing spaces) on the wire
    assert by_name(parse_mail(raw, LIMITS))["body"].text == text
    assert unflow("a \nb\n c\n") == "a b\nc\n"
    assert unflow("a \nb", delsp=True) == "ab"
    assert unflow("> a \n> b\nc") == "> a b\nc"


def test_apple_mail_split_body_and_related_images() -> None:
    raw = mailgen.apple_mail(sender=SENDER, to=TO, subject="x", text="Please see the scan.",
                             attachments=[("scan.pdf", PDF, "application/pdf")])  # fmt: skip
    parsed = parse_mail(raw, LIMITS)
    assert by_name(parsed)["body"].text == "Please see the scan."  # the empty tail piece is dropped
    assert [p.name for p in attachments(parsed)] == ["attachment 1: scan.pdf"]
    raw = mailgen.apple_mail(
        sender=SENDER, to=TO, subject="x", text="see pasted scan", html="<p>see pasted scan</p><img src=cid:a>",
        attachments=[("form.pdf", PDF, "application/pdf")],
        inline_images=[("logo.png", PNG, "image/png"), ("pasted.jpg", JPEG_BIG, "image/jpeg")],
    )  # fmt: skip
    parsed = parse_mail(raw, LIMITS)
    assert by_name(parsed)["body"].text == "see pasted scan"
    names = [p.name for p in attachments(parsed)]
    assert names == ["attachment 1: pasted.jpg", "attachment 2: form.pdf"]  # the small logo is skipped
    assert attachments(parsed)[0].data == JPEG_BIG


def test_outlook_signature_logo_skipped_and_tnef_flagged() -> None:
    raw = mailgen.outlook(sender=SENDER, to=TO, subject="x", text="hello", logo=True, tnef=True,
                          attachments=[("req.pdf", PDF, "application/pdf")])  # fmt: skip
    parsed = parse_mail(raw, LIMITS)
    names = [p.name for p in parsed.parts]
    assert names == ["body", "attachment 1: req.pdf", "attachment 2: winmail.dat"]
    tnef = by_name(parsed)["attachment 2: winmail.dat"]
    assert tnef.media_type == "application/ms-tnef" and tnef.data == mailgen.TNEF_BYTES
    problem = [p for p in parsed.problems if p.part == "attachment 2: winmail.dat"]
    assert problem and problem[0].message == "unsupported (Outlook TNEF)"


# --- media types -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "data", "expected"),
    [
        ("scan", PDF, "application/pdf"),
        ("fax.bin", TIFF, "image/tiff"),
        ("fax-mm", b"MM\x00*" + bytes(100), "image/tiff"),
        ("pic", PNG, "image/png"),
        ("photo.dat", JPEG_BIG, "image/jpeg"),
        ("workers", _xlsx(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("workers.csv", b"last;first;ssn\nDoe;Jo;123-45-6789\n", "text/csv"),
        ("note.txt", "na\u00efve caf\u00e9\n".encode(), "text/plain"),
    ],
)
def test_octet_stream_is_sniffed(filename: str, data: bytes, expected: str) -> None:
    raw = mailgen.gmail(sender=SENDER, to=TO, subject="x", text="t",
                        attachments=[(filename, data, "application/octet-stream")])  # fmt: skip
    part = attachments(parse_mail(raw, LIMITS))[0]
    assert part.media_type == expected
    assert part.data == data
    if expected.startswith("text/"):
        assert part.text == data.decode("utf-8")


def test_declared_type_is_kept_when_specific() -> None:
    raw = mailgen.gmail(sender=SENDER, to=TO, subject="x", text="t", attachments=[("a.pdf", PDF, "application/pdf")])
    assert attachments(parse_mail(raw, LIMITS))[0].media_type == "application/pdf"


def test_text_attachment_is_a_part_with_text() -> None:
    raw = mailgen.thunderbird(sender=SENDER, to=TO, subject="x", text="body",
                              attachments=[("worker.txt", b"SSN: 123-45-6789\n", "text/plain")])  # fmt: skip
    part = attachments(parse_mail(raw, LIMITS))[0]
    assert part.name == "attachment 1: worker.txt"
    assert part.text == "SSN: 123-45-6789\n"


# --- forwards, replies, bounces --------------------------------------------------------------------


def _original() -> bytes:
    return mailgen.outlook(
        sender="Jane Doe <jane.doe@corp.example.com>", to=TO, subject="CoC request \u2013 J\u00f6rg",
        text="Worker: J\u00f6rg Wei\u00df\nSSN: 123-45-6789", attachments=[("form.pdf", PDF, "application/pdf")],
    )  # fmt: skip


def test_forward_as_attachment_gives_forwarded_parts() -> None:
    raw = mailgen.forward(_original(), sender="hr@corp.example.com", to=TO, text="FYI, please process.")
    parsed = parse_mail(raw, LIMITS)
    parts = by_name(parsed)
    assert parts["body"].text == "FYI, please process."
    assert parts["forwarded 1: body"].text == "Worker: J\u00f6rg Wei\u00df\nSSN: 123-45-6789"
    assert parts["forwarded 1: attachment 1: form.pdf"].data == PDF
    assert [p.name for p in parsed.parts] == ["body", "forwarded 1: body", "forwarded 1: attachment 1: form.pdf"]


def test_forward_of_forward_numbers_each_message() -> None:
    once = mailgen.forward(_original(), sender="hr@corp.example.com", to="boss@corp.example.com", text="fyi")
    twice = mailgen.forward(once, sender="boss@corp.example.com", to=TO, text="please handle")
    names = [p.name for p in parse_mail(twice, LIMITS).parts]
    assert names == ["body", "forwarded 1: body", "forwarded 2: body", "forwarded 2: attachment 1: form.pdf"]


def test_inline_forward_keeps_attachments_and_header_block() -> None:
    raw = mailgen.forward(_original(), sender="hr@corp.example.com", to=TO, text="see below", inline=True,
                          client="gmail")  # fmt: skip
    parsed = parse_mail(raw, LIMITS)
    body = by_name(parsed)["body"].text or ""
    assert "---------- Forwarded message ---------" in body and "SSN: 123-45-6789" in body
    assert attachments(parsed)[0].data == PDF


def test_eml_attachment_is_a_part_and_is_read() -> None:
    inner = mailgen.thunderbird(sender=SENDER, to=TO, subject="inner", text="inner body",
                                attachments=[("in.pdf", PDF, "application/pdf")])  # fmt: skip
    raw = mailgen.gmail(sender=SENDER, to=TO, subject="outer", text="outer body",
                        attachments=[("old request.eml", inner, "application/octet-stream")])  # fmt: skip
    parts = by_name(parse_mail(raw, LIMITS))
    eml = parts["attachment 1: old request.eml"]
    assert eml.media_type == "message/rfc822" and eml.data == inner
    assert parts["forwarded 1: body"].text == "inner body"
    assert parts["forwarded 1: attachment 1: in.pdf"].data == PDF


def test_reply_threads_and_quotes() -> None:
    original = _original()
    raw = mailgen.reply_to(original, "Here is the EIN: 12-3456789", client="gmail")
    assert b"gmail_quote" in raw
    parsed = parse_mail(raw, LIMITS)
    orig_id = parse_mail(original, LIMITS).meta.message_id
    assert parsed.meta.in_reply_to == orig_id
    assert parsed.meta.references == [orig_id]
    assert parsed.meta.subject.startswith("Re: ")
    body = by_name(parsed)["body"].text or ""
    assert body.startswith("Here is the EIN: 12-3456789")
    assert "> SSN: 123-45-6789" in body


def test_bounce_auto_reply_and_list_headers() -> None:
    original = _original()
    dsn = parse_mail(mailgen.bounce(original), LIMITS)
    assert dsn.meta.headers["auto-submitted"] == "auto-replied"
    assert dsn.meta.from_addr == "mailer-daemon@mx.example.net"
    assert dsn.meta.headers["content-type"].startswith("multipart/report")
    assert any(p.media_type == "message/delivery-status" and "Status: 5.1.1" in (p.text or "") for p in dsn.parts)
    assert "forwarded 1: body" in by_name(dsn)
    headers_only = parse_mail(mailgen.bounce(original, headers_only=True), LIMITS)
    assert any(p.media_type == "text/rfc822-headers" for p in headers_only.parts)
    vacation = parse_mail(mailgen.auto_reply(original, sender="jane.doe@corp.example.com"), LIMITS)
    assert vacation.meta.headers["auto-submitted"] == "auto-replied"
    assert vacation.meta.headers["x-auto-response-suppress"] == "All"
    generic = parse_mail(mailgen.auto_reply(original, sender="x@corp.example.com", style="generic"), LIMITS)
    assert generic.meta.headers["precedence"] == "bulk" and generic.meta.headers["x-autoreply"] == "yes"
    post = parse_mail(mailgen.list_mail(sender="news@lists.example.org", to=TO, subject="hi", text="t"), LIMITS)
    assert post.meta.headers["precedence"] == "list"
    assert post.meta.headers["list-id"] == "CoC news <coc-news.lists.example.org>"
    assert "list-unsubscribe" in post.meta.headers


# --- broken and hostile input ----------------------------------------------------------------------


def test_truncated_message_keeps_what_was_read() -> None:
    raw = mailgen.gmail(sender=SENDER, to=TO, subject="x", text="Worker: Ana", attachments=[
        ("a.pdf", PDF, "application/pdf"), ("b.pdf", PDF * 4, "application/pdf")])  # fmt: skip
    cut = raw[: len(raw) - 2000]
    parsed = parse_mail(cut, LIMITS)
    parts = by_name(parsed)
    assert parts["body"].text == "Worker: Ana"
    assert parts["attachment 1: a.pdf"].data == PDF
    partial = parts["attachment 2: b.pdf"].data
    assert 0 < len(partial) < len(PDF * 4) and (PDF * 4).startswith(partial[:1000])
    assert "truncated" in codes(parsed)


def test_missing_closing_boundary() -> None:
    raw = (
        b'From: a@example.com\r\nContent-Type: multipart/mixed; boundary="XX"\r\n\r\n'
        b"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSSN: 123-45-6789\r\n"
        b'--XX\r\nContent-Type: application/pdf; name="a.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + base64.encodebytes(PDF).replace(b"\n", b"\r\n")
    )
    parsed = parse_mail(raw, LIMITS)
    assert by_name(parsed)["body"].text == "SSN: 123-45-6789"
    assert attachments(parsed)[0].data == PDF
    assert "truncated" in codes(parsed)


def test_missing_boundary_parameter_is_guessed() -> None:
    raw = (
        b"From: a@example.com\r\nContent-Type: multipart/mixed\r\n\r\n"
        b"--zzz\r\nContent-Type: text/plain\r\n\r\nhello there\r\n"
        b'--zzz\r\nContent-Type: application/pdf; name="a.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + base64.encodebytes(PDF).replace(b"\n", b"\r\n")
        + b"--zzz--\r\n"
    )
    parsed = parse_mail(raw, LIMITS)
    assert by_name(parsed)["body"].text == "hello there"
    assert attachments(parsed)[0].data == PDF
    assert "malformed_multipart" in codes(parsed)


def test_bad_base64_and_unknown_charset_and_undeclared_8bit() -> None:
    raw = (
        b'From: a@example.com\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain; charset=x-klingon\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        b"Gr\xc3\xbc\xc3\x9fe\r\n"
        b"--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=old.txt\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\nCaf\xe9 \x93quoted\x94 \x80\r\n"
        b'--b\r\nContent-Type: application/pdf; name="bad.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        b"JVBERi0x!!!LjQK@@@\r\n--b--\r\n"
    )
    parsed = parse_mail(raw, LIMITS)
    parts = by_name(parsed)
    assert parts["body"].text == "Gr\u00fc\u00dfe"
    assert parts["attachment 1: old.txt"].text == "Caf\u00e9 \u201cquoted\u201d \u20ac"
    assert parts["attachment 2: bad.pdf"].data.startswith(b"%PDF-1")
    assert {"bad_charset", "bad_base64"} <= codes(parsed)


def test_iso_8859_1_label_with_windows_1252_bytes() -> None:
    raw = b"From: a@example.com\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\n\x93Ren\xe9e\x94 \x80 5\r\n"
    assert by_name(parse_mail(raw, LIMITS))["body"].text == "\u201cRen\u00e9e\u201d \u20ac 5\n"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe garbage \x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
        b"From: <<<>>> @@@\r\nTo: ,,,\r\nDate: yesterday-ish\r\nSubject: =?bogus?q?x?=\r\n\r\nbody",
        b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n--\r\n",
        b"Content-Type: message/rfc822\r\n\r\n",
        b'Content-Type: text/plain; charset="\r\nContent-Transfer-Encoding: base64\r\n\r\n====',
        b"From: a@example.com\nContent-Type: multipart/alternative; boundary=q\n\n--q\n--q--",
        b"MIME-Version: 1.0\r\nContent-Type: application/pdf; name*=utf-8''%ZZ%\r\n\r\n\xff\xfe",
    ],
)
def test_garbage_never_raises(raw: bytes) -> None:
    parsed = parse_mail(raw, LIMITS)
    assert isinstance(parsed, ParsedMail)
    assert_storable(parsed)
    for part in parsed.parts:
        assert isinstance(part.data, bytes)


def test_comment_bomb_in_headers_is_read_without_the_comments() -> None:
    raw = (
        b'From: a@example.com\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        b"Content-Type: text/plain; x=" + b"(" * 1500 + b"\r\n\r\nhello\r\n--b\r\n"
        b'Content-Type: application/pdf; name="a.pdf"\r\n\r\n%PDF-1.4\r\n--b--\r\n'
    )
    parsed = parse_mail(raw, LIMITS)
    assert by_name(parsed)["body"].text == "hello"
    assert by_name(parsed)["attachment 1: a.pdf"].data == b"%PDF-1.4"
    assert parse_mail(b"From: " + b"(" * 1500 + b"a@example.com\r\n\r\nhi", LIMITS).meta.from_addr == "a@example.com"


def test_garbage_headers_give_none_not_errors() -> None:
    parsed = parse_mail(b"From: <<<>>> @@@\r\nDate: not a date\r\n\r\nbody text", LIMITS)
    assert parsed.meta.date is None
    assert by_name(parsed)["body"].text == "body text"


def test_too_many_parts_stops_with_problem() -> None:
    atts = [(f"p{i}.pdf", PDF[:50] + str(i).encode(), "application/pdf") for i in range(200)]
    raw = mailgen.gmail(sender=SENDER, to=TO, subject="many", text="t", attachments=atts)
    parsed = parse_mail(raw, LIMITS)
    assert "too_many_parts" in codes(parsed)
    got = attachments(parsed)
    assert 90 <= len(got) <= LIMITS.max_parts
    assert [p.data for p in got] == [a[1] for a in atts[: len(got)]]


def _bomb(depth: int, kind: str = "multipart") -> bytes:
    head = b"From: a@example.com\r\n"
    tail = b""
    for i in range(depth):
        if kind == "multipart":
            head += b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
            tail = b"\r\n--b%d--\r\n" % i + tail
        else:
            head += b"Content-Type: message/rfc822\r\n\r\n"
    return head + b"Content-Type: text/plain\r\n\r\ndeep inside" + tail


@pytest.mark.parametrize("depth", [11, 60, 3000])
@pytest.mark.parametrize("kind", ["multipart", "rfc822"])
def test_nesting_bomb(depth: int, kind: str) -> None:
    parsed = parse_mail(_bomb(depth, kind), LIMITS)
    assert "too_deep" in codes(parsed)
    assert all("deep inside" not in (p.text or "") for p in parsed.parts)


def test_nesting_within_limit_is_read() -> None:
    parsed = parse_mail(_bomb(5), LIMITS)
    assert by_name(parsed)["body"].text == "deep inside"
    assert "too_deep" not in codes(parsed)


def test_too_large() -> None:
    big = PDF * 100
    raw = mailgen.gmail(sender=SENDER, to=TO, subject="x", text="t", attachments=[
        ("small.pdf", PDF, "application/pdf"), ("big.pdf", big, "application/pdf")])  # fmt: skip
    limits = Limits(max_bytes=len(raw) - 10)
    parsed = parse_mail(raw, limits)
    assert "too_large" in codes(parsed)
    assert by_name(parsed)["attachment 1: small.pdf"].data == PDF
    # Cut by the limit in the middle of the second attachment: the first is whole, the cut is reported.
    raw = mailgen.gmail(sender=SENDER, to=TO, subject="x", text="t", attachments=[
        ("a.pdf", big, "application/pdf"), ("b.pdf", big, "application/pdf")])  # fmt: skip
    parsed = parse_mail(raw, Limits(max_bytes=len(raw) * 3 // 4))
    assert by_name(parsed)["attachment 1: a.pdf"].data == big
    assert {"too_large", "truncated"} <= codes(parsed)
    assert all(p.part == "message" for p in parsed.problems if p.code == "too_large")


# --- names -----------------------------------------------------------------------------------------


def test_safe_filename() -> None:
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("C:\\Users\\x\\req.pdf") == "req.pdf"
    assert safe_filename("evil\u202egpj.exe") == "evilgpj.exe"
    assert safe_filename("a\x00b\x1fc\r\n.pdf") == "abc.pdf"
    assert safe_filename("..") is None and safe_filename("  ") is None and safe_filename("/") is None
    assert safe_filename("=?utf-8?q?caf=C3=A9.pdf?=") == "caf\u00e9.pdf"
    assert safe_filename("Jo\u0308rg.pdf") == "J\u00f6rg.pdf"


def test_hostile_filename_in_message() -> None:
    raw = mailgen.gmail(sender=SENDER, to=TO, subject="x", text="t",
                        attachments=[("../../x/\u202eevil\x07.pdf", PDF, "application/pdf")])  # fmt: skip
    part = attachments(parse_mail(raw, LIMITS))[0]
    assert part.filename == "evil.pdf"
    assert part.name == "attachment 1: evil.pdf"


def test_unnamed_attachment_gets_a_display_name() -> None:
    raw = (
        b'From: a@example.com\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        b"Content-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/pdf\r\n"
        b"Content-Disposition: attachment\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(PDF)
        + b"--b--\r\n"
    )
    part = attachments(parse_mail(raw, LIMITS))[0]
    assert part.name == "attachment 1: unnamed.pdf" and part.filename is None and part.data == PDF


def test_html_to_text_entities_and_scripts() -> None:
    assert html_to_text("<script>var a=1;</script><p>A&amp;B &eacute;</p><p>x</p>") == "A&B \u00e9\nx"


# --- property --------------------------------------------------------------------------------------

_names = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40).filter(
    lambda s: safe_filename(s) is not None and not s.lower().endswith((".eml", ".dat"))
)
_media = st.sampled_from(
    ["application/pdf", "image/png", "image/jpeg", "image/tiff", "application/octet-stream", "text/csv",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "text/plain"]
)  # fmt: skip
_attachment = st.tuples(_names, st.binary(max_size=3000), _media)
_body_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=300)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    client=st.sampled_from(sorted(mailgen.CLIENTS)),
    charset=st.sampled_from(CHARSETS),
    text=st.one_of(st.none(), _body_text),
    html=st.one_of(st.none(), _body_text.map(lambda t: f"<p>{t}</p>")),
    atts=st.lists(_attachment, max_size=6),
    subject=_body_text,
)
def test_property_never_raises_and_keeps_attachment_bytes(
    client: str, charset: str, text: str | None, html: str | None, atts: list[tuple[str, bytes, str]], subject: str
) -> None:
    subject = " ".join(subject.split())
    raw = mailgen.CLIENTS[client](sender=SENDER, to=TO, subject=subject, text=text, html=html, attachments=atts,
                                  charset=charset)  # fmt: skip
    parsed = parse_mail(raw, LIMITS)
    got = [p for p in parsed.parts if p.name.startswith("attachment ")]
    assert [p.data for p in got] == [a[1] for a in atts]
    for i, (part, (name, _, _)) in enumerate(zip(got, atts, strict=True), start=1):
        expected = safe_filename(name) or ""
        # Control characters may reach us as spaces or not at all, depending on the header encoding.
        assert (part.filename or "").replace(" ", "") == expected.replace(" ", "")
        assert part.name == f"attachment {i}: {part.filename}"
        assert not any(ch in (part.filename or "") for ch in "/\\\x00\n\r")
    assert parsed.meta.subject == subject
    assert_storable(parsed)
    # Cut anywhere, the message still parses.
    for cut in (len(raw) // 3, len(raw) // 2, len(raw) - 7):
        parse_mail(raw[:cut], LIMITS)


_SEED_MAILS = [
    mailgen.outlook(sender=SENDER, to=TO, subject="s", text="SSN: 123-45-6789", logo=True, tnef=True,
                    attachments=[("\u00e4.pdf", PDF, "application/pdf")]),
    mailgen.apple_mail(sender=SENDER, to=TO, subject="s", text="t", html="<p>t</p>",
                       attachments=[("J\u00f6rg.pdf", PDF, "application/pdf")],
                       inline_images=[("logo.png", PNG, "image/png")]),
]  # fmt: skip
_SEED_MAILS.append(mailgen.forward(_SEED_MAILS[0], sender="hr@corp.example.com", to=TO, text="fw"))
_SPLICE = [b"--", b"\r\n", b'Content-Type: multipart/mixed; boundary="x"\r\n', b"=?utf-8?b?", b"charset=", b"\xff",
           b"\x00", b"message/rfc822", b";", b'"', b"*0*=", b"%", b"=\r\n", b"\r\n\r\n"]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    seed=st.sampled_from(range(len(_SEED_MAILS))),
    edits=st.lists(
        st.tuples(st.floats(0, 1), st.sampled_from(["cut", "splice", "byte"]), st.integers(0, 255)), max_size=15
    ),
)
def test_property_mutated_real_mail_never_raises(seed: int, edits: list[tuple[float, str, int]]) -> None:
    raw = bytearray(_SEED_MAILS[seed])
    for where, op, value in edits:
        pos = int(where * len(raw))
        if op == "cut":
            del raw[pos : pos + value]
        elif op == "splice":
            raw[pos:pos] = _SPLICE[value % len(_SPLICE)]
        else:
            raw[pos : pos + 1] = bytes([value])
    parsed = parse_mail(bytes(raw), LIMITS)
    assert_storable(parsed)
    assert len(parsed.parts) <= LIMITS.max_parts
    assert all(isinstance(p.data, bytes) for p in parsed.parts)
    assert all("\n" not in p.name and "/" not in (p.filename or "") for p in parsed.parts)


def test_problem_messages_mask_ssns() -> None:
    raw = b"From: a@example.com\r\nContent-Type: text/plain; charset=x-123-45-6789\r\n\r\nhi\r\n"
    parsed = parse_mail(raw, LIMITS)
    assert "bad_charset" in codes(parsed)
    assert all("123-45-6789" not in p.message for p in parsed.problems)
    assert any("***-**-6789" in p.message for p in parsed.problems)


def test_wide_alternative_respects_part_limit() -> None:
    alts = b"".join(b"--a\r\nContent-Type: text/plain\r\n\r\nx%d\r\n" % i for i in range(300))
    raw = b'From: a@example.com\r\nContent-Type: multipart/alternative; boundary="a"\r\n\r\n' + alts + b"--a--\r\n"
    parsed = parse_mail(raw, LIMITS)
    assert "too_many_parts" in codes(parsed)
    assert by_name(parsed)["body"].text == "x0"


def test_headers_with_raw_8bit_and_folding() -> None:
    raw = (
        "From: J\u00f6rg Wei\u00df <Joerg@Example.COM>\r\nSubject: Gr\u00fc\u00dfe \u2013 \u20ac\r\n"
        'To: "M\u00fcller, A" <a@x.example.de>, b@y.example.de\r\nReply-To: <R@x.example.de>\r\n'
        "Date: Tue, 3 Mar 2026 10:00:00 +0100\r\nReferences: <a@b.example> <c@d.example>\r\n   <e@f.example>\r\n"
        "Message-ID: <m1@x.example.de>\r\nAuto-Submitted: no\r\n\r\nbody"
    ).encode()
    meta = parse_mail(raw, LIMITS).meta
    assert meta.from_addr == "joerg@example.com"
    assert meta.from_name == "J\u00f6rg Wei\u00df"
    assert meta.subject == "Gr\u00fc\u00dfe \u2013 \u20ac"
    assert meta.to == ["a@x.example.de", "b@y.example.de"]
    assert meta.reply_to == "r@x.example.de"
    assert meta.message_id == "<m1@x.example.de>"
    assert meta.references == ["<a@b.example>", "<c@d.example>", "<e@f.example>"]
    assert meta.date == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    assert meta.headers["auto-submitted"] == "no"
    latin = raw.replace("Gr\u00fc\u00dfe \u2013 \u20ac".encode(), "Gr\u00fc\u00dfe".encode("latin-1"))
    assert parse_mail(latin, LIMITS).meta.subject == "Gr\u00fc\u00dfe"


def test_smime_signature_skipped_and_encrypted_flagged() -> None:
    signed = (
        b'From: a@example.com\r\nContent-Type: multipart/signed; protocol="application/pkcs7-signature"; '
        b'micalg=sha-256; boundary="s"\r\n\r\n--s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSigned body\r\n'
        b'--s\r\nContent-Type: application/pkcs7-signature; name="smime.p7s"\r\nContent-Transfer-Encoding: base64\r\n'
        b'Content-Disposition: attachment; filename="smime.p7s"\r\n\r\nMIAGCSqGSIb3DQEHAqCAMIACAQEx\r\n--s--\r\n'
    )
    parsed = parse_mail(signed, LIMITS)
    assert [p.name for p in parsed.parts] == ["body"]
    assert parsed.parts[0].text == "Signed body"
    encrypted = (
        b'From: a@example.com\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"\r\n'
        b'Content-Disposition: attachment; filename="smime.p7m"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        b"MIAGCSqGSIb3DQEHA6CAMIACAQAx\r\n"
    )
    parsed = parse_mail(encrypted, LIMITS)
    assert [p.name for p in parsed.parts] == ["attachment 1: smime.p7m"]
    assert any(p.code == "unsupported" and "encrypted" in p.message for p in parsed.problems)


@pytest.mark.parametrize("client", sorted(mailgen.CLIENTS))
def test_reply_and_inline_forward_from_every_client(client: str) -> None:
    original = _original()
    reply = parse_mail(mailgen.reply_to(original, "Answer: 12-3456789", client=client), LIMITS)
    assert reply.meta.in_reply_to == parse_mail(original, LIMITS).meta.message_id
    assert (by_name(reply)["body"].text or "").startswith("Answer: 12-3456789")
    fwd = parse_mail(mailgen.forward(original, sender="hr@corp.example.com", to=TO, inline=True, client=client), LIMITS)
    assert "SSN: 123-45-6789" in (by_name(fwd)["body"].text or "")
    assert attachments(fwd)[0].data == PDF
    vacation = parse_mail(mailgen.auto_reply(sender="away@corp.example.com", to=TO, style="generic"), LIMITS)
    assert vacation.meta.headers["auto-submitted"] == "auto-replied"


@pytest.mark.parametrize(
    ("raw", "cut"),
    [
        # 200k empty parts: the stdlib parser alone would take half a minute.
        (b'From: a@example.com\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n' + b"--b\r\n\r\nx\r\n" * 200_000,
         "too_many_parts"),
        # Parameter-laden Content-Type on every part (header parsing is ~3 ms per KB of parameters).
        (b'From: a@example.com\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
         + b"".join(
             b"--b\r\nContent-Type: text/plain; x=%d; " % i + b"a=b; " * 400 + b"\r\n\r\nx\r\n" for i in range(2000)
         ), "too_many_parts"),
        (b"From: a@example.com\r\nTo: " + b"a@example.com, " * 100_000 + b"\r\n\r\nbody", "header_too_large"),
        (b"From: a@example.com\r\nSubject: " + b"=?utf-8?q?a?= " * 100_000 + b"\r\n\r\nbody", "header_too_large"),
        (b"From: a@example.com\r\n" + b"X-A: y\r\n" * 100_000 + b"\r\nbody", "header_too_large"),
    ],
    ids=["part-flood", "param-laden", "to-flood", "subject-words", "header-flood"],
)
def test_costly_structures_are_cut_short(raw: bytes, cut: str) -> None:
    """Unbounded, these take from 20 seconds to minutes: the parser stops at its limit and says so
    (how long the cut reading takes is measured by `bench/fuzz.py`, not timed here)."""
    parsed = parse_mail(raw, LIMITS)
    assert cut in {p.code for p in parsed.problems}
    assert len(parsed.parts) <= 1
    assert_storable(parsed)
