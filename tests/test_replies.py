"""Acknowledgements and their delivery: RFC 3834 rules, templates, masking, a real aiosmtpd relay."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import SecretStr

from intake.faxreply import render_fax_pdf
from intake.model import Problem, build_request
from intake.outbox import next_attempt, send_smtp, write_eml, write_fax
from intake.replies import RequestView, render_mail, should_reply
from intake.settings import RelaySettings
from tests.servers import SmtpSink, free_port, smtp_sink  # noqa: F401  (fixture)
from tests.synth import flat, make_request


def _mail(**headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = headers.pop("From", "Pat HR <pat@acme.example.com>")
    msg["To"] = "certificate@localhost"
    msg["Subject"] = "COC request"
    msg["Message-ID"] = headers.pop("Message-ID", "<abc@acme.example.com>")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("SSN: 123-45-6789\n")
    return msg.as_bytes()


def test_an_ordinary_message_is_answered() -> None:
    assert should_reply(_mail(), our_domain="localhost").reply


@pytest.mark.parametrize("headers", [
    {"Auto_Submitted": "auto-replied"}, {"Auto_Submitted": "auto-generated"}, {"Precedence": "bulk"},
    {"Precedence": "list"}, {"Precedence": "junk"}, {"X_Loop": "certificate@localhost"},
    {"X_Auto_Response_Suppress": "All"}, {"List_Id": "<hr.acme.example.com>"},
    {"List_Unsubscribe": "<mailto:leave@acme.example.com>"}, {"From": "MAILER-DAEMON@mx.example.com"},
    {"From": "postmaster@acme.example.com"}, {"From": "owner-hr@lists.example.com"},
    {"From": "hr-request@lists.example.com"}, {"Message-ID": "<123.456@localhost>"},
])
def test_rfc3834_cases_get_no_reply(headers: dict[str, str]) -> None:
    decision = should_reply(_mail(**headers), our_domain="localhost")
    assert not decision.reply and decision.reason


def test_null_envelope_sender_gets_no_reply() -> None:
    assert not should_reply(_mail(), our_domain="localhost", envelope_sender="<>").reply
    assert should_reply(_mail(Auto_Submitted="no"), our_domain="localhost").reply
    # Mail read from a mailbox, or stored by the SMTP listener with a null MAIL FROM: only the
    # topmost Return-Path (written by the delivering MTA) tells that it was a bounce.
    assert not should_reply(b"Return-Path: <>\r\n" + _mail(), our_domain="localhost").reply
    assert should_reply(b"Return-Path: <pat@acme.example.com>\r\n" + _mail(), our_domain="localhost").reply


def _view(seed: int = 3, problems: list[Problem] | None = None) -> RequestView:
    req, _ = build_request(flat(make_request(random.Random(seed), kind="employee")))
    return RequestView.of("COC-2026-000042", req, problems)


def test_received_reply_is_threaded_masked_and_automatic() -> None:
    view = _view()
    msg = render_mail("received", to="pat@acme.example.com", from_address="certificate@localhost",
                      our_domain="localhost", requests=[view], original_subject="COC request",
                      in_reply_to="<abc@acme.example.com>", references=["<prev@acme.example.com>"])
    parsed = message_from_bytes(msg.as_bytes(), policy=default_policy)
    assert parsed["Auto-Submitted"] == "auto-replied"
    assert parsed["In-Reply-To"] == "<abc@acme.example.com>"
    assert parsed["References"] == "<prev@acme.example.com> <abc@acme.example.com>"
    assert parsed["Subject"].startswith("Re: COC request") and "COC-2026-000042" in parsed["Subject"]
    assert parsed["Message-ID"].endswith("@localhost>")
    text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert view.ssn_masked in text and view.ssn_masked in html
    full = flat(make_request(random.Random(3), kind="employee"))["worker.ssn"]
    assert full not in msg.as_string() and full.replace("-", "") not in msg.as_string()
    assert "COC-2026-000042" in text and view.worker_name in text


def test_incomplete_reply_lists_each_problem_with_its_help() -> None:
    problems = [Problem(field="employer.ein", code="missing", message="The employer's EIN is missing.",
                        help="The U.S. employer's 9-digit Employer Identification Number, written NN-NNNNNNN.")]
    msg = render_mail("incomplete", to="pat@acme.example.com", from_address="certificate@localhost",
                      our_domain="localhost", requests=[_view(problems=problems)], form_url="https://x.example/form")
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Employer's EIN (Employer Identification Number): The employer's EIN is missing." in text
    assert "NN-NNNNNNN" in text and "https://x.example/form" in text


def test_fax_acknowledgement_is_a_pdf() -> None:
    pdf = render_fax_pdf("received", fax_number="+1 208 555 0142", requests=[_view()])
    assert pdf.startswith(b"%PDF")


def test_delivery_to_a_real_relay(smtp_sink: SmtpSink, tmp_path: Path) -> None:  # noqa: F811
    relay = RelaySettings(host=smtp_sink.host, port=smtp_sink.port, security="none")
    msg = render_mail("received", to="pat@acme.example.com", from_address="certificate@localhost",
                      our_domain="localhost", requests=[_view()])
    assert send_smtp(relay, "pat@acme.example.com", msg.as_bytes()).ok
    (got,) = smtp_sink.wait_for(1)
    assert got.mail_from in ("", "<>") and got.rcpt_tos == ("pat@acme.example.com",)
    assert b"Auto-Submitted: auto-replied" in got.content

    smtp_sink.fail("451 4.3.0 try later", times=1)
    temporary = send_smtp(relay, "pat@acme.example.com", msg.as_bytes())
    assert not temporary.ok and not temporary.permanent and "451" in temporary.error
    smtp_sink.fail("550 5.1.1 no such user", stage="rcpt")
    permanent = send_smtp(relay, "pat@acme.example.com", msg.as_bytes())
    assert not permanent.ok and permanent.permanent
    nobody = RelaySettings(host="127.0.0.1", port=free_port(), security="none", timeout_seconds=5)
    down = send_smtp(nobody, "pat@acme.example.com", msg.as_bytes())
    assert not down.ok and not down.permanent


def test_retry_schedule_and_files(tmp_path: Path) -> None:
    relay = RelaySettings(first_retry_seconds=60, max_retry_seconds=600, retry_for_seconds=3600)
    t0 = datetime(2026, 11, 25, tzinfo=UTC)
    assert next_attempt(relay, 1, t0, t0) == t0 + timedelta(seconds=60)
    assert next_attempt(relay, 3, t0, t0) == t0 + timedelta(seconds=240)
    assert next_attempt(relay, 9, t0, t0) == t0 + timedelta(seconds=600)
    assert next_attempt(relay, 2, t0, t0 + timedelta(hours=2)) is None
    write_eml(tmp_path / "sent", 7, "pat@acme.example.com", b"Subject: x\r\n\r\nx")
    write_fax(tmp_path / "fax", 8, "+1 (208) 555-0142", b"%PDF-1.4")
    assert (tmp_path / "sent" / "00000007-pat@acme.example.com.eml").exists()
    assert (tmp_path / "fax" / "+12085550142_00000008.pdf").read_bytes() == b"%PDF-1.4"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_delivery_over_tls_with_auth(tmp_path: Path, security: Literal["starttls", "tls"]) -> None:
    """The relay as sites run it: STARTTLS on 587 or TLS on 465, AUTH required; the envelope sender
    stays empty, the password is refused over no TLS, and a certificate we cannot verify is refused."""
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    from tests.servers import _self_signed

    _self_signed(tmp_path / "cert.pem", tmp_path / "key.pem", "127.0.0.1")
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    got: list[tuple[str, list[str], bytes, bool]] = []

    class Handler:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            got.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content,  # type: ignore[attr-defined]
                        bool(session.authenticated  # type: ignore[attr-defined]
                             and server.transport.get_extra_info("ssl_object"))))  # type: ignore[attr-defined]
            return "250 OK"

    def authenticator(server: object, session: object, envelope: object, mechanism: str, data: object) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"coc", b"Relay-Secret-7")
        return AuthResult(success=ok, handled=False)

    port = free_port()
    kwargs: dict[str, Any] = {"authenticator": authenticator, "auth_required": True, "auth_require_tls": True}
    if security == "starttls":
        kwargs.update(tls_context=server_tls, require_starttls=True)
    else:  # aiosmtpd only counts STARTTLS as TLS for auth_require_tls; this connection is TLS from the start
        kwargs.update(ssl_context=server_tls, auth_require_tls=False)
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    msg = render_mail("received", to="pat@acme.example.com", from_address="certificate@localhost",
                      our_domain="localhost", requests=[_view()])
    try:
        relay = RelaySettings(host="127.0.0.1", port=port, security=security, tls_verify=False,
                              username="coc", password="Relay-Secret-7", timeout_seconds=10)  # type: ignore[arg-type]
        assert send_smtp(relay, "pat@acme.example.com", msg.as_bytes()).ok
        ((mail_from, rcpts, content, authenticated_over_tls),) = got
        assert mail_from in ("", "<>") and rcpts == ["pat@acme.example.com"] and authenticated_over_tls
        assert b"Auto-Submitted: auto-replied" in content
        wrong = relay.model_copy(update={"password": SecretStr("Wrong-Secret-8")})
        refused = send_smtp(wrong, "pat@acme.example.com", msg.as_bytes())
        assert not refused.ok and refused.permanent and "535" in refused.error
        strict = relay.model_copy(update={"tls_verify": True})
        unverified = send_smtp(strict, "pat@acme.example.com", msg.as_bytes())
        assert not unverified.ok and "CERTIFICATE_VERIFY_FAILED" in unverified.error
        if security == "starttls":  # the same relay without TLS: it will not take the password in clear
            plain = relay.model_copy(update={"security": "none"})
            assert not send_smtp(plain, "pat@acme.example.com", msg.as_bytes()).ok
        assert len(got) == 1
    finally:
        controller.stop()


def test_no_full_ssn_comes_back_in_any_header_part_or_file_name_of_a_reply() -> None:
    """The sender's Subject comes back in `Re: ...`: an SSN written there, in any shape the parsers
    read, is masked like the body (issue 11), and so is an attachment's name."""
    from tests.pii_scan import fake_ssns, found, mail_text

    ssns = fake_ssns(5, seed=11)
    shapes = [f"{d[:3]}{sep}{d[3:5]}{sep}{d[5:]}" for d, sep in zip(ssns, ["-", " / ", "\u2013", "", "_"], strict=True)]
    subject = "COC request for Jane Roe, SSN " + ", ".join(shapes[:4])
    msg = render_mail("incomplete", to="pat@acme.example.com", from_address="certificate@localhost",
                      our_domain="localhost", requests=[_view()], original_subject=subject,
                      in_reply_to="<abc@acme.example.com>", references=["<prev@acme.example.com>"],
                      attachments=[(f"form for {shapes[4]}.pdf", b"%PDF-1.4\n", "application/pdf")])
    raw = msg.as_bytes()
    decoded = mail_text(raw)
    for d in ssns:
        assert not found(d, raw) and not found(d, decoded), d
    parsed = message_from_bytes(raw, policy=default_policy)
    assert parsed["Subject"].startswith("Re: COC request for Jane Roe, SSN ***-**-")
    assert f"***-**-{ssns[0][5:]}" in parsed["Subject"] and parsed["In-Reply-To"] == "<abc@acme.example.com>"
    assert f"form for ***-**-{ssns[4][5:]}.pdf" in decoded
