"""The reply composer writes mails any reader parses back as they were meant (issue 13 made it
write the bytes itself instead of through `EmailMessage`)."""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import cast

from intake.mailcompose import compose, header_line


def _parsed(raw: bytes) -> EmailMessage:
    return cast(EmailMessage, message_from_bytes(raw, policy=default_policy))


def test_a_sender_chosen_value_cannot_add_a_header() -> None:
    raw = compose([("Subject", "Re: COC\r\nBcc: someone@evil.example\nX-Injected: yes")], "body", "<p>body</p>")
    msg = _parsed(raw)
    assert msg["Bcc"] is None and msg["X-Injected"] is None
    assert msg["Subject"] == "Re: COC Bcc: someone@evil.example X-Injected: yes"


def test_non_ascii_headers_text_and_file_names_come_back_unchanged_on_a_7bit_wire() -> None:
    subject = "Re: Anfrage für Jörg Müller – Entsendung nach Österreich " + "lange Zeile " * 12
    text = "Grüße,\nline with = sign and trailing space \n" + "x" * 200 + "\n"
    html = "<p>Grüße</p>"
    pdf = bytes(range(256)) * 40
    raw = compose([("From", "Certificate of Coverage <certificate@localhost>"), ("Subject", subject)], text, html,
                  [("formular für Jörg.pdf", pdf, "application/pdf"), ("plain.pdf", b"%PDF-1.4", "application/pdf")])
    assert all(byte < 128 for byte in raw)
    assert max(len(line) for line in raw.split(b"\n")) <= 78
    msg = _parsed(raw)
    assert msg["Subject"] == subject.strip()
    assert msg.get_body(("plain",)).get_content() == text  # type: ignore[union-attr]
    assert msg.get_body(("html",)).get_content().strip() == html  # type: ignore[union-attr]
    files = [(part.get_filename(), part.get_content()) for part in msg.iter_attachments()]
    assert files == [("formular für Jörg.pdf", pdf), ("plain.pdf", b"%PDF-1.4")]
    assert msg.get_content_type() == "multipart/mixed" and not msg.defects
    assert all(not part.defects for part in msg.walk())


def test_a_long_ascii_header_is_folded_at_spaces_and_unfolds_to_the_same_value() -> None:
    references = " ".join(f"<message-{i}@mail.example.com>" for i in range(10))
    line = header_line("References", references)
    assert "\n " in line and max(len(part) for part in line.split("\n")) <= 78
    msg = _parsed(compose([("References", references)], "t", "h"))
    assert msg["References"] == references
    assert msg.get_content_type() == "multipart/alternative"
