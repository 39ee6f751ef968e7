"""Faxes that arrive by mail (`intake.faxmail`, `intake.faxintake`), with real parts: the mail HylaFAX's
own `faxrcvd` writes, DKIM-signed for the gateway's domain (dkimpy, keys made here, DNS from the stub),
sent to the SMTP listener; a fax-to-email service's mail read from Dovecot with our server's
Authentication-Results; Tesseract reading the fax; the reply queued on the real HylaFAX+ server.

Each is one fax submission answered by fax to the caller's number, never to the gateway's address.
"""

from __future__ import annotations

import base64
import io
import random
import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from intake.faxmail import read_fax_mail, tsi_from_text, written_numbers
from intake.faxsettings import FaxMailSettings
from intake.pipeline import Context, extract_stage, send_stage
from intake.sources.imap import ImapSource
from intake.sources.smtp import SmtpSource
from intake.store import Incoming
from tests import faxgen, faxserver
from tests.dnsstub import DnsStub, dns_stub
from tests.faxserver import HylaFax, received_fax_mail, running_hylafax
from tests.servers import DovecotServer, free_port, imap_append, running_dovecot
from tests.store_fixtures import stage_context
from tests.synth import make_request

TO = "certificate@localhost"
GATEWAY = "faxserver@fax.example.org"
SERVICE = "noreply@faxservice.example"
CALLER = "+14105550199"


@pytest.fixture(scope="module")
def key() -> tuple[bytes, str]:
    k = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption())
    der = k.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, base64.b64encode(der).decode()


@pytest.fixture
def dns(key: tuple[bytes, str]) -> Iterator[DnsStub]:
    with dns_stub() as stub:
        stub.add_txt("sel._domainkey.fax.example.org", f"v=DKIM1; k=rsa; p={key[1]}")
        stub.add_txt("_dmarc.fax.example.org", "v=DMARC1; p=reject")
        yield stub


@pytest.fixture(scope="module")
def hylafax() -> Iterator[HylaFax]:
    with running_hylafax() as server:
        yield server


@pytest.fixture
def ctx(tmp_path: Path, dns: DnsStub, hylafax: HylaFax) -> Iterator[Context]:
    c = stage_context(tmp_path, f'[trust]\ndns_servers = ["{dns.host}"]\ndns_port = {dns.port}\n'
                                'dns_timeout_seconds = 2\nauthserv_id = "mx.ours.example"\n'
                                f'[fax_mail]\ngateways = ["{GATEWAY}", "faxservice.example"]\n'
                                + hylafax.toml(), timeout=120)
    yield c
    c.store.dispose()


def _fax_tiff(seed: int, *, header_number: str | None = "+1 555 576 2927", extra: list[str] | None = None) -> bytes:
    """A request letter as a fax machine sends it: one page, with the sending machine's header line."""
    rng = random.Random(seed)
    req = make_request(rng, kind="employee")
    req["confirmation_email"] = None
    head, body = faxgen.letter_lines(req, rng)
    page = faxgen.render_page(body[:40] + (extra or []), letterhead=head)
    header = f"NOV-25-2026 10:14  FROM: {header_number}  {head[0][:18].upper()}  P.001/001" if header_number else None
    return faxgen.tiff_bytes([faxgen.fax(page, header=header, rng=rng)])


def _crlf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _sign(raw: bytes, key: tuple[bytes, str]) -> bytes:
    return dkim.sign(raw, b"sel", b"fax.example.org", key[0], include_headers=[b"from", b"to", b"subject"]) + raw


def _through_listener(ctx: Context, raw: bytes, mail_from: str) -> int:
    source = SmtpSource(ctx.store, host="127.0.0.1", port=free_port(), accepted_recipients=[TO])
    source.start()
    try:
        with smtplib.SMTP("127.0.0.1", source.port, local_hostname="fax.example.org") as s:
            s.sendmail(mail_from, [TO], raw)
    finally:
        source.stop()
    return ctx.store.pending_submissions()[-1]


def _answered_by_fax_only(ctx: Context, mail_id: int, number: str, gateway: str) -> int:
    """The bars: the mail is closed unanswered; one fax submission from `number`, answered once, by
    fax, to `number`; no reply of any submission to the gateway's address. Returns the fax's id."""
    mail = ctx.store.get_submission(mail_id)
    assert mail.state == "done" and ctx.store.replies_of(mail_id) == []
    assert any(e.kind == "no_reply" and "fax submission" in (e.new or "")
               for e in ctx.store.events_of(submission_id=mail_id))
    [fax_id] = [i for i in range(mail_id + 1, mail_id + 5) if _is_fax(ctx, i)]  # made after the mail
    fax = ctx.store.get_submission(fax_id)
    assert fax.channel == "fax" and fax.sender == number
    caller = [e.new or "" for e in ctx.store.events_of(submission_id=fax_id) if e.kind == "caller_id"]
    assert caller and f"caller ID {number}" in caller[0] and gateway in caller[0]
    [reply] = ctx.store.replies_of(fax_id)
    assert reply.channel == "fax" and reply.recipient == number
    everything = [r for i in (mail_id, fax_id) for r in ctx.store.replies_of(i)]
    assert [r.recipient for r in everything] == [number]
    return fax_id


def _is_fax(ctx: Context, sid: int) -> bool:
    try:
        return ctx.store.get_submission(sid).channel == "fax"
    except Exception:  # noqa: BLE001  (a submission not stored yet, or gone, is no fax)
        return False


def test_hylafax_faxrcvd_mail_over_smtp_is_answered_by_fax_to_the_caller(ctx: Context, key: Any,
                                                                         tmp_path: Path) -> None:
    raw = received_fax_mail(_fax_tiff(31), tmp_path, caller_id="4105550199", caller_name="ACME HR",
                            from_address=GATEWAY)
    assert b"CallID1: 4105550199" in raw and b'filename="fax' in raw  # as faxrcvd wrote it
    mail_id = _through_listener(ctx, _sign(_crlf(raw), key), GATEWAY)
    assert extract_stage(ctx, mail_id)
    fax_id = _answered_by_fax_only(ctx, mail_id, CALLER, GATEWAY)
    # The caller ID wins over the TSI the sending machine stamped on the page (+1 555 576 2927).
    assert ctx.store.requests_of(fax_id)
    [reply] = ctx.store.replies_of(fax_id)
    delivery = send_stage(ctx, reply)
    assert delivery is not None and delivery.ok, delivery
    job = ctx.store.get_reply(reply.id).fax_job
    assert job is not None and faxserver.jobs("-s")[job].number == "14105550199"


def test_unverified_mail_claiming_the_gateway_is_not_believed(ctx: Context, tmp_path: Path) -> None:
    raw = received_fax_mail(_fax_tiff(32), tmp_path, caller_id="2085550142", from_address=GATEWAY)
    mail_id = _through_listener(ctx, _crlf(raw), GATEWAY)  # not signed: SPF/DKIM do not vouch for it
    assert extract_stage(ctx, mail_id)
    mail = ctx.store.get_submission(mail_id)
    assert mail.state == "needs_review" and "not verified" in (mail.reason or "")
    assert ctx.store.replies_of(mail_id) == []
    assert not any(_is_fax(ctx, i) for i in range(1, mail_id + 3))
    # Nor does any later path answer the gateway: the reply stage, a reprocess with replies.
    from intake.pipeline import reply_stage
    from intake.reprocess import reprocess_one

    assert not reply_stage(ctx, mail_id)
    assert reprocess_one(ctx, mail_id, send_replies=True).skipped
    assert ctx.store.replies_of(mail_id) == []


def _service_mail(subject: str, attachment: bytes, *, auth: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Fax Service <{SERVICE}>"
    msg["To"] = TO
    msg["Subject"] = subject
    msg["Message-ID"] = f"<fax-{random.Random(subject).getrandbits(48)}@faxservice.example>"
    msg.set_content("You have received a new fax. The fax is attached as a PDF.\nPages: 1\n")
    msg.add_attachment(attachment, maintype="application", subtype="pdf", filename="FAX_20261125_1014.pdf")
    return f"Authentication-Results: {auth}\r\n".encode() + _crlf(msg.as_bytes())


def _pdf_of(tiff: bytes) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.open(io.BytesIO(tiff)).convert("L").save(out, format="PDF", resolution=200)
    return out.getvalue()


def test_fax_service_mail_from_dovecot_is_answered_by_fax_to_the_caller(ctx: Context) -> None:
    raw = _service_mail("Fax from +1 410 555 0199", _pdf_of(_fax_tiff(33)),
                        auth="mx.ours.example; dkim=pass header.d=faxservice.example; dmarc=pass "
                             "header.from=faxservice.example")
    with running_dovecot() as dovecot:
        imap_append(dovecot, "INBOX", raw)
        source = _imap(ctx, dovecot)
        try:
            [mail_id] = source.poll_once()
        finally:
            source.close()
    assert extract_stage(ctx, mail_id)
    _answered_by_fax_only(ctx, mail_id, CALLER, SERVICE)


def _imap(ctx: Context, server: DovecotServer) -> ImapSource:
    return ImapSource(ctx.store, host=server.host, port=server.port, username=server.user,
                      password=server.password, security="none", processed_folder="Processed", timeout=10.0)


@pytest.mark.parametrize(("subject", "body", "number"), [
    ("Fax from +1 410 555 0199", "", CALLER),
    ('eFax message from "4105550199" - 2 page(s), Caller-ID: 1-208-555-0142', "", "+12085550142"),
    ("New fax from (410) 555-0199", "", CALLER),
    ("You have received a fax from 410-555-0199", "", CALLER),
    ("Fax Received", "Caller ID: +44 20 7946 0018\nPages: 2\n", "+442079460018"),
    ('Fax received from "+1 555 576 2927"', "       Sender: +1 555 576 2927\n      CallID1: 4105550199\n", CALLER),
    ('Fax received from "<unknown>"', "      CallID1: \n      CallID2: \n", None),
])
def test_caller_number_presets(subject: str, body: str, number: str | None) -> None:
    msg = EmailMessage()
    msg["From"] = SERVICE
    msg["Subject"] = subject
    msg.set_content(body or "A fax for you.\n")
    msg.add_attachment(b"%PDF-1.4\n", maintype="application", subtype="pdf", filename="fax.pdf")
    fax = read_fax_mail(msg.as_bytes(), FaxMailSettings(gateways=["faxservice.example"]))
    assert fax is not None and fax.number == number and fax.data == b"%PDF-1.4\n"


def test_only_configured_gateways_are_fax_mail() -> None:
    raw = b"From: hr@acme.example\r\nSubject: Fax from +1 410 555 0199\r\n\r\nhello\r\n"
    assert read_fax_mail(raw, FaxMailSettings(gateways=["faxservice.example"])) is None
    assert read_fax_mail(raw, FaxMailSettings()) is None
    spoof = b"From: x@faxservice.example.evil.example\r\nSubject: Fax from 4105550199\r\n\r\nhi\r\n"
    assert read_fax_mail(spoof, FaxMailSettings(gateways=["faxservice.example"])) is None
    sub = b"From: x@eu.faxservice.example\r\nSubject: Fax from 4105550199\r\n\r\nhi\r\n"
    fax = read_fax_mail(sub, FaxMailSettings(gateways=["faxservice.example"]))
    assert fax is not None and fax.number == CALLER and fax.data is None


def test_header_line_and_written_numbers() -> None:
    text = "NOV-25-2026 10:14 FROM: +1 555 576 2927 ACME CORP P.001/002\nACME Corp\nFax: (410) 555-0199\n"
    assert tsi_from_text(text) == "+15555762927"
    assert written_numbers(text) == [CALLER]
    assert tsi_from_text("Dear Sir,\nplease send\n") is None


def test_fax_without_caller_id_is_answered_at_its_header_line_number(ctx: Context) -> None:
    sid, _ = ctx.store.store_submission(Incoming(channel="fax", raw=_fax_tiff(34), sender=None,
                                                 received_at=_now(), fax_filename="fax000000034.tif"))
    assert extract_stage(ctx, sid)
    from intake.pipeline import reply_stage

    reply_stage(ctx, sid)
    assert ctx.store.get_submission(sid).sender == "+15555762927"
    [reply] = ctx.store.replies_of(sid)
    assert reply.channel == "fax" and reply.recipient == "+15555762927"
    assert any(e.kind == "caller_id" and "OCR" in (e.new or "") for e in ctx.store.events_of(submission_id=sid))


def test_number_written_on_the_page_is_shown_but_never_used(ctx: Context) -> None:
    tiff = _fax_tiff(35, header_number=None, extra=["", "Reply to fax: (410) 555-0199"])
    sid, _ = ctx.store.store_submission(Incoming(channel="fax", raw=tiff, sender=None, received_at=_now(),
                                                 fax_filename="fax000000035.tif"))
    assert extract_stage(ctx, sid)
    from intake.pipeline import reply_stage

    reply_stage(ctx, sid)
    assert ctx.store.get_submission(sid).sender is None and ctx.store.replies_of(sid) == []
    events = ctx.store.events_of(submission_id=sid)
    assert any(e.kind == "written_fax_number" and CALLER in (e.new or "") for e in events)
    assert any(e.kind == "no_reply" and (e.new or "").startswith("no_reply_number") for e in events)
    for rec in ctx.store.requests_of(sid):
        assert rec.state == "needs_review" and any(p.code == "no_reply_number" for p in rec.problems)


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _staff_page(ctx: Context, url: str) -> str:
    """`url` of the review page as a logged-in supervisor sees it (the real app, in process)."""
    import re

    from fastapi.testclient import TestClient

    from intake.web.app import create_app
    from intake.web.users import Users

    Users(ctx.store).add("sam", "supervisor", "supervisor-pass-1")
    client = TestClient(create_app(ctx.settings, ctx.store), follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    r = client.post("/login", data={"username": "sam", "password": "supervisor-pass-1",
                                    "csrf_token": token.group(1), "next": "/"})
    assert r.status_code == 303, r.text
    page = client.get(url)
    assert page.status_code == 200, page.text
    return page.text


def test_review_page_shows_caller_id_and_the_fax_job(ctx: Context) -> None:
    sid, _ = ctx.store.store_submission(Incoming(channel="fax", raw=_fax_tiff(36), sender=CALLER,
                                                 received_at=_now(), fax_filename="fax000000036.tif"))
    from intake.pipeline import reply_stage

    assert extract_stage(ctx, sid) and reply_stage(ctx, sid)
    [reply] = ctx.store.replies_of(sid)
    send_stage(ctx, reply)
    job = ctx.store.get_reply(reply.id).fax_job
    [rec] = ctx.store.requests_of(sid)
    page = _staff_page(ctx, f"/requests/{rec.id}")
    assert f"by fax from caller ID {CALLER}" in page
    assert f"fax to {CALLER} (hylafax job {job}, submitted)" in page


def test_daemon_puts_the_reply_to_a_mailed_fax_on_the_hylafax_queue(tmp_path: Path, dns: DnsStub, key: Any,
                                                                    hylafax: HylaFax) -> None:
    """`coc-intake run` end to end: the faxrcvd mail to its SMTP listener, the reply a HylaFAX job to
    the caller. The time from the reply's due time (taken when its rendering starts, so it includes
    rendering the PDF) to the job being queued is printed (-s)."""
    from tests.gateway import GatewayProcess, wait_for, write_config

    extra = (f'[trust]\ndns_servers = ["{dns.host}"]\ndns_port = {dns.port}\ndns_timeout_seconds = 2\n'
             f'[fax_mail]\ngateways = ["{GATEWAY}"]\n' + hylafax.toml("follow_seconds = 1\n"))
    gw = GatewayProcess(tmp_path, write_config(tmp_path, dovecot=None, sink=None, workers=1, extra=extra))
    raw = _sign(_crlf(received_fax_mail(_fax_tiff(37), tmp_path, caller_id="2085550142", from_address=GATEWAY)),
                key)
    gw.start()
    try:
        with smtplib.SMTP("127.0.0.1", gw.smtp_port, local_hostname="fax.example.org") as s:
            s.sendmail(GATEWAY, [TO], raw)
        store = gw.store()
        try:
            def queued() -> Any:
                return [r for r in store.replies_of(2) if r.fax_job]

            found = wait_for(queued, 120)
            assert found, gw.tail()
            [reply] = found
            assert reply.recipient == "+12085550142" and reply.fax_transport == "hylafax"
            assert faxserver.jobs("-s")[str(reply.fax_job)].number == "12085550142"
            assert store.replies_of(1) == []  # the gateway's mail: no reply
            assert reply.sent_at is not None
            print(f"reply's due time (before rendering) -> HylaFAX job: "
                  f"{(reply.sent_at - reply.next_attempt_at).total_seconds():.2f} s; "
                  f"reply committed to the outbox -> HylaFAX job (daemon log): {_log_gap(gw.tail()):.2f} s")
        finally:
            store.dispose()
    finally:
        gw.stop()


def _short_fax() -> bytes:
    """A one-line fax page (quick to read; no request in it, so the answer is *incomplete*)."""
    page = faxgen.render_page(["Please send me the form for a certificate of coverage."])
    return faxgen.tiff_bytes([faxgen.fax(page, rng=random.Random(1))])


def test_hylafax_mail_from_dovecot_and_service_mail_over_smtp(ctx: Context, key: Any, tmp_path: Path) -> None:
    """The other two ways round: faxrcvd's mail read from the mailbox, a fax service's mail (signed
    for its domain) delivered to the SMTP listener. Each is answered by fax to its caller only."""
    raw = received_fax_mail(_short_fax(), tmp_path, caller_id="+1 208 555 0142", from_address=GATEWAY)
    raw = (b"Authentication-Results: mx.ours.example; dkim=pass header.d=fax.example.org; dmarc=pass\r\n"
           + _crlf(raw))
    with running_dovecot() as dovecot:
        imap_append(dovecot, "INBOX", raw)
        source = _imap(ctx, dovecot)
        try:
            [mail_id] = source.poll_once()
        finally:
            source.close()
    assert extract_stage(ctx, mail_id)
    _answered_by_fax_only(ctx, mail_id, "+12085550142", GATEWAY)

    service = EmailMessage()
    service["From"] = "Fax Service <fax@fax.example.org>"
    service["To"] = TO
    service["Subject"] = 'eFax message from "4105550199" - 1 page(s), Caller-ID: 1-410-555-0199'
    service.set_content("You have received a 1 page fax.\n")
    service.add_attachment(_pdf_of(_short_fax()), maintype="application", subtype="pdf",
                           filename="FAX_20261125_1014.pdf")
    signed = _sign(_crlf(service.as_bytes()), key)
    ctx.settings.fax_mail.gateways.append("fax@fax.example.org")
    mail_id = _through_listener(ctx, signed, "fax@fax.example.org")
    assert extract_stage(ctx, mail_id)
    _answered_by_fax_only(ctx, mail_id, CALLER, "fax@fax.example.org")


def _log_gap(log: str) -> float:
    """Seconds between the daemon's "reply queued" and "HylaFAX job" log lines."""
    import re
    from datetime import datetime as dt

    def at(pattern: str) -> dt:
        m = re.search(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*" + pattern, log, re.M)
        assert m, log
        return dt.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f")

    return (at("HylaFAX job") - at("reply queued")).total_seconds()


def test_fax_settings_errors_name_the_setting() -> None:
    from pydantic import ValidationError

    from intake.faxsettings import FaxOutSettings

    with pytest.raises(ValidationError, match=r"fax_mail\.presets: no preset 'efax'"):
        FaxMailSettings(presets=["hylafax", "efax"])
    with pytest.raises(ValidationError, match=r"fax_mail.subject_patterns: .* needs a named group"):
        FaxMailSettings(subject_patterns=[r"Fax from (\d+)"])
    with pytest.raises(ValidationError, match=r"fax_out\.email_address must be an address template"):
        FaxOutSettings(email_address="fax@service.example")
    assert FaxMailSettings(gateways=[" @Fax.Example.NET "]).gateways == ["fax.example.net"]
