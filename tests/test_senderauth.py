"""Sender trust with real parts: messages signed by dkimpy with generated keys, DNS answered by a real
DNS server on loopback (`tests/dnsstub.py`), SPF by pyspf, the real SMTP listener and store, the
pipeline's extract and reply stages, and the review page's accept and approve actions."""

from __future__ import annotations

import base64
import random
import re
import smtplib
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from intake.model import CertificateRequest
from intake.pipeline import Context, extract_stage, reply_stage
from intake.senderauth import (
    SmtpSession,
    Verdict,
    make_resolver,
    org_domain,
    reply_to_elsewhere,
    trust_problems,
    verdict_for,
    verify_authres,
    verify_smtp,
)
from intake.settings import TrustSettings
from intake.sources.smtp import SmtpSource
from intake.store import Incoming, Store
from intake.web import review
from intake.web.users import Account
from tests import mailgen
from tests.dnsstub import DnsStub, dns_stub, silent_dns
from tests.gateway import GatewayProcess, wait_for, write_config
from tests.servers import (  # noqa: F401
    DovecotServer,
    SmtpSink,
    dovecot,
    free_port,
    imap_append,
    smtp_sink,
    wait_for_port,
)
from tests.store_fixtures import stage_context
from tests.synth import labelled_lines, make_request

TO = "certificate@localhost"
GOOD_IP, OTHER_IP = "192.0.2.10", "198.51.100.7"


@pytest.fixture(scope="module")
def keys() -> dict[str, tuple[bytes, str]]:
    """One RSA key per signing domain: (private PEM, public key for the DNS TXT record)."""
    out = {}
    for domain in ("acme.example", "forger.example", "news.acme.co.uk"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        der = key.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
        out[domain] = (pem, base64.b64encode(der).decode())
    return out


@pytest.fixture
def dns(keys: dict[str, tuple[bytes, str]]) -> Iterator[DnsStub]:
    with dns_stub() as stub:
        for domain, (_, public) in keys.items():
            stub.add_txt(f"sel._domainkey.{domain}", f"v=DKIM1; k=rsa; p={public}")
        stub.add_txt("acme.example", "v=spf1 ip4:192.0.2.0/24 -all")
        stub.add_txt("_dmarc.acme.example", "v=DMARC1; p=reject")
        stub.add_txt("soft.example", "v=spf1 ip4:192.0.2.0/24 ~all")
        stub.add_txt("victim.example", "v=spf1 ip4:203.0.113.0/24 -all")
        stub.add_txt("_dmarc.victim.example", "v=DMARC1; p=reject")
        stub.add_txt("forger.example", "v=spf1 ip4:198.51.100.0/24 -all")
        stub.add_txt("_dmarc.acme.co.uk", "v=DMARC1; p=quarantine; adkim=s")
        yield stub


def _mail(sender: str, *, text: str = "Please send the certificate.\n", **kw: Any) -> bytes:
    raw = mailgen.thunderbird(sender=sender, to=TO, subject="Certificate of Coverage", text=text, **kw)
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _sign(raw: bytes, domain: str, keys: dict[str, tuple[bytes, str]]) -> bytes:
    sig = dkim.sign(raw, b"sel", domain.encode(), keys[domain][0],
                    include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    return sig + raw


def _resolver(stub: DnsStub) -> Any:
    return make_resolver([stub.host], stub.port, timeout=2.0)


def _request_text(rng: random.Random, *, confirmation: str | None = None) -> str:
    req = make_request(rng, kind="employee")
    req["confirmation_email"] = confirmation
    return "\n".join(labelled_lines(req, rng)) + "\n"


# -- the verdict over raw bytes, session and resolver ----------------------------------------


def test_dkim_aligned_with_from_is_verified(dns: DnsStub, keys: dict[str, tuple[bytes, str]]) -> None:
    raw = _sign(_mail("Jane Roe <hr@acme.example>"), "acme.example", keys)
    # SPF fails (a client outside the record) but the aligned DKIM signature is enough for DMARC.
    v = verify_smtp(raw, SmtpSession(OTHER_IP, "mx.elsewhere.example", "bounce@acme.example"), _resolver(dns))
    assert v.verified and v.aligned == "dkim" and v.dmarc == "pass" and v.dmarc_policy == "reject"
    assert v.dkim == [{"domain": "acme.example", "result": "pass"}] and v.spf == "fail"
    assert v.summary == "Sender verified: DKIM acme.example aligned with From acme.example"
    assert ("sel._domainkey.acme.example", "TXT") in dns.resolver.queries  # asked our stub, over the wire


def test_forged_from_signed_by_another_domain(dns: DnsStub, keys: dict[str, tuple[bytes, str]]) -> None:
    raw = _sign(_mail("CEO <ceo@victim.example>"), "forger.example", keys)
    v = verify_smtp(raw, SmtpSession("198.51.100.9", "mail.forger.example", "x@forger.example"), _resolver(dns))
    assert not v.verified and v.aligned is None and v.dmarc == "fail"
    assert v.dkim == [{"domain": "forger.example", "result": "pass"}] and v.spf == "pass"
    assert "not aligned with From victim.example" in v.summary and v.summary.startswith("Sender NOT verified")


def test_broken_signature_body_changed(dns: DnsStub, keys: dict[str, tuple[bytes, str]]) -> None:
    raw = _sign(_mail("hr@acme.example", text="Worker SSN on page two.\n"), "acme.example", keys)
    tampered = raw.replace(b"page two", b"page six")
    v = verify_smtp(tampered, SmtpSession(OTHER_IP, "x.example", "hr@acme.example"), _resolver(dns))
    assert not v.verified and v.dkim == [{"domain": "acme.example", "result": "fail"}]
    assert v.summary == ("Sender NOT verified: SPF fail (acme.example), DKIM acme.example fail")
    # The untouched message passes with the same key: the failure is the changed body.
    assert verify_smtp(raw, SmtpSession(OTHER_IP, "x.example", "hr@acme.example"), _resolver(dns)).verified


@pytest.mark.parametrize(("domain", "ip", "spf", "verified"), [
    ("acme.example", GOOD_IP, "pass", True),
    ("acme.example", OTHER_IP, "fail", False),
    ("soft.example", GOOD_IP, "pass", True),
    ("soft.example", OTHER_IP, "softfail", False),
])
def test_spf_by_client_ip(dns: DnsStub, domain: str, ip: str, spf: str, verified: bool) -> None:
    raw = _mail(f"payroll@{domain}")  # no DKIM signature: only SPF can align
    v = verify_smtp(raw, SmtpSession(ip, f"mail.{domain}", f"payroll@{domain}"), _resolver(dns))
    assert (v.spf, v.verified, v.spf_domain) == (spf, verified, domain)
    if verified:
        assert v.aligned == "spf" and "SPF pass for" in v.reason
    else:
        assert f"SPF {spf} ({domain}), no DKIM signature" in v.summary


def test_no_dmarc_record(dns: DnsStub) -> None:
    # soft.example publishes SPF but no DMARC record: alignment is still what decides.
    v = verify_smtp(_mail("a@soft.example"), SmtpSession(GOOD_IP, "h", "a@soft.example"), _resolver(dns))
    assert v.verified and v.dmarc_policy is None and "(no DMARC record)" in v.reason
    v = verify_smtp(_mail("a@soft.example"), SmtpSession(OTHER_IP, "h", "a@soft.example"), _resolver(dns))
    assert not v.verified and v.dmarc == "none" and "no DMARC record for soft.example" in v.reason


def test_null_sender_uses_helo_for_spf(dns: DnsStub) -> None:
    v = verify_smtp(_mail("a@acme.example"), SmtpSession(GOOD_IP, "acme.example", None), _resolver(dns))
    assert v.spf == "pass" and v.spf_domain == "acme.example" and v.verified


def test_dns_timeout_is_temperror_not_a_crash(keys: dict[str, tuple[bytes, str]]) -> None:
    raw = _sign(_mail("hr@acme.example"), "acme.example", keys)
    with silent_dns() as port:
        started = time.monotonic()
        v = verify_smtp(raw, SmtpSession(GOOD_IP, "h", "hr@acme.example"), make_resolver(["127.0.0.1"], port, 0.3))
        elapsed = time.monotonic() - started
    assert not v.verified and v.dmarc == "temperror"
    assert v.dkim == [{"domain": "acme.example", "result": "temperror"}] and v.spf == "temperror"
    assert "DNS error" in v.reason
    assert elapsed < 30  # bounded by the resolver's lifetime, not hanging (a guard, not a timing claim)


def test_strict_dkim_alignment_and_org_domain(dns: DnsStub, keys: dict[str, tuple[bytes, str]]) -> None:
    assert org_domain("news.acme.co.uk") == "acme.co.uk" and org_domain("a.b.acme.example") == "acme.example"
    raw = _sign(_mail("hr@acme.co.uk"), "news.acme.co.uk", keys)
    v = verify_smtp(raw, SmtpSession(OTHER_IP, "h", "hr@acme.co.uk"), _resolver(dns))
    # The DMARC record says adkim=s: a subdomain's signature does not align with the parent.
    assert v.dkim[0]["result"] == "pass" and not v.verified and v.dmarc == "fail"
    raw = _sign(_mail("hr@news.acme.co.uk"), "news.acme.co.uk", keys)
    v = verify_smtp(raw, SmtpSession(OTHER_IP, "h", "hr@news.acme.co.uk"), _resolver(dns))
    assert v.verified and v.aligned == "dkim"  # the record found at the organisational domain


def test_two_from_addresses_are_not_verified(dns: DnsStub, keys: dict[str, tuple[bytes, str]]) -> None:
    raw = _sign(_mail("a@acme.example, b@victim.example"), "acme.example", keys)
    v = verify_smtp(raw, SmtpSession(GOOD_IP, "h", "a@acme.example"), _resolver(dns))
    assert not v.verified and "exactly one address" in v.reason


# -- IMAP: the trusted server's Authentication-Results ----------------------------------------


def _with_ar(raw: bytes, *values: str) -> bytes:
    return b"".join(f"Authentication-Results: {v}\r\n".encode() for v in values) + raw


def test_trusted_authentication_results() -> None:
    raw = _with_ar(_mail("hr@acme.example"),
                   "mx.ours.example; spf=fail smtp.mailfrom=x@acme.example; dkim=pass header.d=acme.example;"
                   " dmarc=pass header.from=acme.example")
    v = verify_authres(raw, "mx.ours.example")
    assert v.verified and v.method == "imap" and v.dmarc == "pass" and v.authserv_id == "mx.ours.example"
    assert v.summary == ("Sender verified: DKIM acme.example aligned with From acme.example"
                         " (reported by mx.ours.example)")


def test_authentication_results_without_dmarc_computes_alignment() -> None:
    raw = _with_ar(_mail("hr@sub.acme.example"), "MX.OURS.EXAMPLE 1; dkim=pass header.d=acme.example header.s=s1")
    assert verify_authres(raw, "mx.ours.example").aligned == "dkim"
    raw = _with_ar(_mail("hr@victim.example"), "mx.ours.example; dkim=pass header.d=forger.example; spf=none")
    v = verify_authres(raw, "mx.ours.example")
    assert not v.verified and v.dmarc == "fail" and "DKIM forger.example pass" in v.reason


def test_untrusted_and_forged_authentication_results_are_ignored() -> None:
    raw = _mail("ceo@victim.example")
    # The sender wrote a header claiming a pass, under another authserv-id: ignored.
    v = verify_authres(_with_ar(raw, "mx.attacker.example; dkim=pass header.d=victim.example; dmarc=pass"),
                       "mx.ours.example")
    assert not v.verified and v.reason == "unknown: no Authentication-Results from mx.ours.example"
    # Our server's header is on top; a forged one with our id further down does not override it.
    v = verify_authres(_with_ar(raw, "mx.ours.example; dmarc=fail header.from=victim.example; dkim=none",
                                "mx.ours.example; dmarc=pass header.from=victim.example"), "mx.ours.example")
    assert not v.verified and v.dmarc == "fail"
    # Unparseable junk under our id is not believed either.
    v = verify_authres(_with_ar(raw, "mx.ours.example; ;;; = dmarc=pass"), "mx.ours.example")
    assert not v.verified and v.reason.startswith("unknown")


def test_no_trusted_server_configured_is_unknown() -> None:
    raw = _with_ar(_mail("hr@acme.example"), "mx.ours.example; dmarc=pass header.from=acme.example")
    v = verdict_for("imap", raw, None, TrustSettings())
    assert not v.verified and v.method == "none" and "no trusted mail server is configured" in v.reason
    assert verdict_for("imap", raw, None, TrustSettings(authserv_id="mx.ours.example")).verified
    # On the SMTP listener nobody but the client wrote that header: it is never believed there.
    v = verdict_for("smtp", raw, None, TrustSettings(authserv_id="mx.ours.example"))
    assert not v.verified and "session" in v.reason


# -- problems --------------------------------------------------------------------------------


def _request(confirmation: str | None) -> CertificateRequest:
    req = make_request(random.Random(3), kind="employee")
    req["confirmation_email"] = confirmation
    return CertificateRequest.model_validate(req)


def test_trust_problems() -> None:
    ok = Verdict(method="smtp", verified=True, reason="DKIM acme.example aligned", from_domain="acme.example")
    bad = Verdict(method="smtp", verified=False, reason="SPF fail, no DKIM signature", from_domain="acme.example")
    fax = verdict_for("fax", b"%PDF", None, TrustSettings())
    assert trust_problems(ok, _request("payroll@mail.acme.example"), "smtp") == []  # same organisation
    codes = [(p.field, p.code) for p in trust_problems(ok, _request("me@gmail.example"), "smtp")]
    assert codes == [("confirmation_email", "confirmation_elsewhere")]
    got = trust_problems(bad, _request(None), "imap", lambda code: f"help for {code}")
    assert [(p.field, p.code, p.help) for p in got] == [(None, "sender_not_verified", "help for sender_not_verified")]
    assert "SPF fail, no DKIM signature" in got[0].message
    # A fax has no sender authentication; an address written in it is not verified.
    assert [p.code for p in trust_problems(fax, _request(None), "fax")] == []
    assert [p.code for p in trust_problems(fax, _request("hr@acme.example"), "fax")] == ["confirmation_elsewhere"]


# -- through the listener, the store, the pipeline and the review actions ---------------------


@pytest.fixture
def ctx(tmp_path: Path, dns: DnsStub) -> Iterator[Context]:
    c = stage_context(tmp_path, f'[trust]\ndns_servers = ["{dns.host}"]\ndns_port = {dns.port}\n'
                               'dns_timeout_seconds = 2\n', timeout=120)
    yield c
    c.store.dispose()


def _through_listener(ctx: Context, raw: bytes, mail_from: str, helo: str) -> int:
    source = SmtpSource(ctx.store, host="127.0.0.1", port=free_port(), accepted_recipients=[TO])
    source.start()
    try:
        with smtplib.SMTP("127.0.0.1", source.port, local_hostname=helo) as s:
            s.sendmail(mail_from, [TO], raw)
    finally:
        source.stop()
    ids = ctx.store.pending_submissions()
    assert ids
    return ids[-1]


def _staff_page(ctx: Context, url: str) -> str:
    """`url` of the review page as a logged-in reviewer sees it (the real app, in process)."""
    from fastapi.testclient import TestClient

    from intake.web.app import create_app
    from intake.web.users import Users

    if not any(u.name == "rita" for u in Users(ctx.store).list()):
        Users(ctx.store).add("rita", "reviewer", "reviewer-pass-1")
    client = TestClient(create_app(ctx.settings, ctx.store), follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    r = client.post("/login", data={"username": "rita", "password": "reviewer-pass-1",
                                    "csrf_token": token.group(1), "next": "/"})
    assert r.status_code == 303, r.text
    page = client.get(url)
    assert page.status_code == 200, page.text
    return page.text


def _staff(role: str) -> Account:
    return Account(id=1, name=f"pat-{role}", role=role, disabled=False)


def test_listener_records_session_and_verified_sender_gets_reply(ctx: Context, keys: dict[str, Any]) -> None:
    raw = _sign(_mail("hr@acme.example", text=_request_text(random.Random(11), confirmation="hr@acme.example")),
                "acme.example", keys)
    sid = _through_listener(ctx, raw, "hr@acme.example", "mail.acme.example")
    sub = ctx.store.get_submission(sid)
    assert (sub.client_ip, sub.helo, sub.sender) == ("127.0.0.1", "mail.acme.example", "hr@acme.example")
    assert sub.sender_auth is None  # nothing checked before the 250
    assert extract_stage(ctx, sid) and reply_stage(ctx, sid)
    sub = ctx.store.get_submission(sid)
    assert sub.sender_auth and sub.sender_auth["verified"] and sub.sender_auth["aligned"] == "dkim"
    assert sub.sender_auth["spf"] == "fail"  # 127.0.0.1 is not in acme.example's SPF record
    [rec] = ctx.store.requests_of(sid)
    assert rec.state == "accepted" and not any(p.code.startswith(("sender", "confirmation")) for p in rec.problems)
    [reply] = ctx.store.replies_of(sid)
    assert reply.kind == "received" and reply.recipient == "hr@acme.example"
    assert any(e.kind == "sender_auth" for e in ctx.store.events_of(submission_id=sid))


def test_unverified_sender_gets_no_details_until_accepted(ctx: Context, keys: dict[str, Any]) -> None:
    rng = random.Random(12)
    text = _request_text(rng, confirmation="ceo@victim.example")
    raw = _sign(_mail("ceo@victim.example", text=text), "forger.example", keys)
    sid = _through_listener(ctx, raw, "x@forger.example", "mail.forger.example")
    assert extract_stage(ctx, sid)
    assert reply_stage(ctx, sid) is False
    assert ctx.store.replies_of(sid) == []
    held = [e for e in ctx.store.events_of(submission_id=sid) if e.kind == "no_reply"]
    assert held and "sender_not_verified" in (held[0].new or "") and "until accepted" in (held[0].new or "")
    [rec] = ctx.store.requests_of(sid)
    assert rec.state == "needs_review"
    codes = {p.code: p for p in rec.problems}
    assert "forger.example" in codes["sender_not_verified"].message
    assert codes["sender_not_verified"].help.startswith("We could not confirm")
    # Staff see the verdict on the request page and the submission page.
    for url in (f"/requests/{rec.id}", f"/submissions/{sid}"):
        html = _staff_page(ctx, url)
        assert 'id="sender-trust"' in html and "trust-no" in html, url
        assert "Sender NOT verified: SPF fail (forger.example), DKIM forger.example pass, not aligned with From " \
               "victim.example" in html
    queue = _staff_page(ctx, "/?problem=sender_not_verified")
    assert rec.reference in queue  # the queue filters by the two problem codes too
    assert rec.reference not in _staff_page(ctx, "/?problem=confirmation_elsewhere")
    # Reading it again (an operator's reprocess) keeps the flag and still sends nothing.
    from intake.reprocess import reprocess_one

    outcome = reprocess_one(ctx, sid, send_replies=True)
    assert outcome.error is None and not outcome.skipped and outcome.changes is not None
    [rec] = ctx.store.requests_of(sid)
    assert rec.state == "needs_review" and any(p.code == "sender_not_verified" for p in rec.problems)
    assert ctx.store.replies_of(sid) == []
    # A supervisor cannot approve before a person accepted it.
    with pytest.raises(review.ActionError):
        review.approve(ctx.store, ctx.settings, rec, _staff("supervisor"))
    # A reviewer looks at it and accepts: the normal reply goes out now, with the details.
    rec = review.accept(ctx.store, ctx.settings, rec, _staff("reviewer"))
    [reply] = ctx.store.replies_of(sid)
    assert reply.kind == "received" and reply.recipient == "ceo@victim.example"
    body = message_from_bytes(reply.message, policy=default_policy).get_body(("plain",))
    assert body is not None and rec.reference in body.get_content()


def test_confirmation_elsewhere_needs_acceptance_before_approval_mail(ctx: Context, keys: dict[str, Any]) -> None:
    text = _request_text(random.Random(13), confirmation="me@gmail.example")
    raw = _sign(_mail("hr@acme.example", text=text), "acme.example", keys)
    sid = _through_listener(ctx, raw, "hr@acme.example", "mail.acme.example")
    assert extract_stage(ctx, sid)
    assert reply_stage(ctx, sid) is False and ctx.store.replies_of(sid) == []
    [rec] = ctx.store.requests_of(sid)
    assert rec.state == "needs_review"
    assert [p.code for p in rec.problems if p.code.startswith("conf")] == ["confirmation_elsewhere"]
    assert not any(p.code == "sender_not_verified" for p in rec.problems)
    with pytest.raises(review.ActionError):  # only an accepted request can be approved
        review.approve(ctx.store, ctx.settings, rec, _staff("supervisor"))
    # Accepted by the gateway rather than a person (as after an operator's state change): still no.
    ctx.store.set_request_state(rec.id, "accepted", actor="pipeline")
    with pytest.raises(review.ActionError, match="a person must accept"):
        review.approve(ctx.store, ctx.settings, ctx.store.get_request(rec.id), _staff("supervisor"))
    ctx.store.set_request_state(rec.id, "needs_review", actor="pipeline")
    rec = ctx.store.get_request(rec.id)
    rec = review.accept(ctx.store, ctx.settings, rec, _staff("reviewer"))
    with pytest.raises(review.ActionError):  # and only by a supervisor
        review.approve(ctx.store, ctx.settings, rec, _staff("reviewer"))
    review.approve(ctx.store, ctx.settings, rec, _staff("supervisor"))
    kinds = sorted((r.kind, r.recipient) for r in ctx.store.replies_of(sid))
    assert kinds == [("approved", "me@gmail.example"), ("received", "hr@acme.example")]


def test_reply_to_elsewhere_is_read_from_the_headers() -> None:
    """Reply-To is compared with From by organisational domain, as DMARC aligns."""
    verdict = Verdict(method="smtp", verified=True, reason="DKIM", from_domain="acme.example")

    def raw(reply_to: str | None) -> bytes:
        extra = [("Reply-To", reply_to)] if reply_to else []
        return _mail("hr@acme.example", extra_headers=extra)

    assert reply_to_elsewhere(raw(None), verdict) is None
    assert reply_to_elsewhere(raw("Payroll <payroll@mail.acme.example>"), verdict) is None
    assert reply_to_elsewhere(raw("Thief <Thief@Elsewhere.example>"), verdict) == "thief@elsewhere.example"
    # The first address is the one answered (replies.should_reply): it decides.
    assert reply_to_elsewhere(raw("a@elsewhere.example, b@acme.example"), verdict) == "a@elsewhere.example"
    assert reply_to_elsewhere(raw("hr@acme.example.evil.example"), verdict) == "hr@acme.example.evil.example"
    problems = trust_problems(verdict, _request(None), "smtp", reply_to="thief@elsewhere.example")
    assert [p.code for p in problems] == ["reply_to_elsewhere"]
    assert "thief@elsewhere.example" in problems[0].message and "acme.example" in problems[0].message
    assert trust_problems(verdict, _request(None), "fax", reply_to="thief@elsewhere.example") == []


def test_dkim_aligned_sender_with_reply_to_elsewhere_is_held(ctx: Context, keys: dict[str, Any]) -> None:
    """A verified sender whose Reply-To names a third party: the details do not go there until a
    person accepts; staff see the problem with the address."""
    text = _request_text(random.Random(14), confirmation="hr@acme.example")
    raw = _sign(_mail("hr@acme.example", text=text, extra_headers=[("Reply-To", "drop@elsewhere.example")]),
                "acme.example", keys)
    sid = _through_listener(ctx, raw, "hr@acme.example", "mail.acme.example")
    assert extract_stage(ctx, sid)
    assert ctx.store.get_submission(sid).sender_auth["verified"]
    assert reply_stage(ctx, sid) is False and ctx.store.replies_of(sid) == []
    held = [e for e in ctx.store.events_of(submission_id=sid) if e.kind == "no_reply"]
    assert held and "reply_to_elsewhere" in (held[0].new or "")
    [rec] = ctx.store.requests_of(sid)
    assert rec.state == "needs_review"
    codes = {p.code: p for p in rec.problems}
    assert "sender_not_verified" not in codes
    assert "drop@elsewhere.example" in codes["reply_to_elsewhere"].message
    assert codes["reply_to_elsewhere"].help.startswith("Your message asks for replies")
    assert rec.reference in _staff_page(ctx, "/?problem=reply_to_elsewhere")
    rec = review.accept(ctx.store, ctx.settings, rec, _staff("reviewer"))  # a person decided: now it goes
    [reply] = ctx.store.replies_of(sid)
    assert reply.recipient == "drop@elsewhere.example"


def test_reply_to_in_the_senders_organisation_is_answered(ctx: Context, keys: dict[str, Any]) -> None:
    text = _request_text(random.Random(15), confirmation="hr@acme.example")
    raw = _sign(_mail("hr@acme.example", text=text, extra_headers=[("Reply-To", "payroll@mail.acme.example")]),
                "acme.example", keys)
    sid = _through_listener(ctx, raw, "hr@acme.example", "mail.acme.example")
    assert extract_stage(ctx, sid) and reply_stage(ctx, sid)
    [reply] = ctx.store.replies_of(sid)
    assert reply.recipient == "payroll@mail.acme.example"


def test_unreadable_mail_with_reply_to_elsewhere_gets_no_acknowledgement(ctx: Context, keys: dict[str, Any]) -> None:
    """No request read (nothing to flag): the acknowledgement is held all the same."""
    raw = _sign(_mail("hr@acme.example", text="Hello.\n", extra_headers=[("Reply-To", "drop@elsewhere.example")]),
                "acme.example", keys)
    sid = _through_listener(ctx, raw, "hr@acme.example", "mail.acme.example")
    assert extract_stage(ctx, sid)
    assert ctx.store.requests_of(sid) == []
    assert reply_stage(ctx, sid) is False and ctx.store.replies_of(sid) == []
    held = [e for e in ctx.store.events_of(submission_id=sid) if e.kind == "no_reply"]
    assert held and "reply_to_elsewhere" in (held[0].new or "")


def test_flag_off_records_verdict_but_does_not_hold(tmp_path: Path, dns: DnsStub) -> None:
    c = stage_context(tmp_path, f'[trust]\nflag_unverified = false\ndns_servers = ["{dns.host}"]\n'
                               f'dns_port = {dns.port}\n', timeout=120)
    store = c.store
    raw = _mail("someone@victim.example", text=_request_text(random.Random(14)))
    sid, _ = store.store_submission(Incoming(channel="smtp", raw=raw, sender="someone@victim.example",
                                             received_at=datetime.now(UTC), client_ip=OTHER_IP, helo="h"))
    assert extract_stage(c, sid) and reply_stage(c, sid)
    sub = store.get_submission(sid)
    assert sub.sender_auth and not sub.sender_auth["verified"] and sub.sender_auth["spf"] == "fail"
    assert [r.kind for r in store.replies_of(sid)] == ["received"]
    store.dispose()


def test_fax_replies_go_to_the_fax_number_not_an_address_in_it(ctx: Context) -> None:
    from tests import faxgen

    req = make_request(random.Random(15), kind="employee")
    req["confirmation_email"] = "boss@granite.example"  # written in the fax, as is employer.contact_email
    tiff = faxgen.tiff_bytes(faxgen.fax_request(req, random.Random(15), "fine"))
    sid, _ = ctx.store.store_submission(Incoming(channel="fax", raw=tiff, sender="+12085550142",
                                                 received_at=datetime.now(UTC), fax_filename="f.tif"))
    assert extract_stage(ctx, sid)
    reply_stage(ctx, sid)
    sub = ctx.store.get_submission(sid)
    assert sub.sender_auth and sub.sender_auth["method"] == "fax" and not sub.sender_auth["verified"]
    # The reply goes back to the calling number, not to an address written in the fax...
    assert [(r.channel, r.recipient) for r in ctx.store.replies_of(sid)] == [("fax", "+12085550142")]
    # ...and the confirmation address is flagged: the approval mail waits for a person.
    [rec] = ctx.store.requests_of(sid)
    assert rec.state == "needs_review"
    assert [p.code for p in rec.problems if p.code in ("confirmation_elsewhere", "sender_not_verified")] \
        == ["confirmation_elsewhere"]
    html = _staff_page(ctx, f"/requests/{rec.id}")
    assert "Sender not authenticated: a fax carries no sender authentication" in html


# -- the real daemon: SMTP listener and IMAP (Dovecot) in, aiosmtpd sink out -----------------


def test_daemon_holds_unverified_senders_until_accepted(tmp_path: Path, dns: DnsStub, keys: dict[str, Any],
                                                        dovecot: DovecotServer,  # noqa: F811
                                                        smtp_sink: SmtpSink) -> None:  # noqa: F811
    extra = (f'[trust]\nauthserv_id = "mx.ours.example"\ndns_servers = ["{dns.host}"]\n'
             f"dns_port = {dns.port}\ndns_timeout_seconds = 2\n")
    gw = GatewayProcess(tmp_path, write_config(tmp_path, dovecot=dovecot, sink=smtp_sink, extra=extra))
    gw.start()
    try:
        rng = random.Random(21)
        signed = _sign(_mail("hr@acme.example", text=_request_text(rng)), "acme.example", keys)
        forged = _sign(_mail("ceo@victim.example", text=_request_text(rng)), "forger.example", keys)
        with smtplib.SMTP("127.0.0.1", gw.smtp_port, local_hostname="mail.acme.example") as s:
            s.sendmail("hr@acme.example", [TO], signed)
            s.sendmail("x@forger.example", [TO], forged)
        # Over IMAP: our server's verdict is believed, the attacker's own header is not.
        imap_append(dovecot, "INBOX", _with_ar(_mail("pay@trusted.example", text=_request_text(rng)),
                                               "mx.ours.example; dkim=pass header.d=trusted.example; dmarc=pass"))
        imap_append(dovecot, "INBOX", _with_ar(_mail("boss@spoofed.example", text=_request_text(rng)),
                                               "mx.evil.example; dkim=pass header.d=spoofed.example; dmarc=pass"))

        def replied(address: str) -> list[Any]:
            return [m for m in smtp_sink.received() if address in m.rcpt_tos]

        assert wait_for(lambda: replied("hr@acme.example") and replied("pay@trusted.example"), timeout=180), gw.tail()
        store = gw.store()

        def decided() -> list[Any]:
            rows = store.queue(states=["needs_review"])
            done = [r for r in rows if any(e.kind == "no_reply" for e in store.events_of(
                submission_id=r.request.submission_id))]
            return rows if len(rows) == 2 and len(done) == 2 else []

        held = wait_for(decided, timeout=60)
        assert held and {r.channel for r in held} == {"smtp", "imap"}, gw.tail()
        # The reply stage has decided on both (the no_reply events): nothing went to either sender.
        assert not replied("ceo@victim.example") and not replied("boss@spoofed.example")
        _check_page_in_chromium(gw, store, held[0].request.id)
        for row in held:
            assert any(p.code == "sender_not_verified" for p in row.request.problems)
            review.accept(store, gw.settings, row.request, _staff("reviewer"))
        assert wait_for(lambda: replied("ceo@victim.example") and replied("boss@spoofed.example"), timeout=60)
        assert len(replied("hr@acme.example")) == 1 and len(replied("ceo@victim.example")) == 1
        store.dispose()
    finally:
        gw.stop()


def _check_page_in_chromium(gw: GatewayProcess, store: Store, request_id: int) -> None:
    """The request page of a held request in Chromium: the verdict is there and axe finds nothing."""
    from playwright.sync_api import sync_playwright

    from intake.web.users import Users
    from tests.browser import AXE, CHROMIUM, launch_chromium, run_axe

    assert Path(CHROMIUM).exists() and AXE.exists(), "Chromium or axe-core is missing: run scripts/setup"
    Users(store).add("rita", "reviewer", "reviewer-pass-1")
    base = f"http://127.0.0.1:{gw.settings.web.port}"
    wait_for_port("127.0.0.1", gw.settings.web.port, timeout=30)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page()
        page.goto(f"{base}/login")
        page.fill("#username", "rita")
        page.fill("#password", "reviewer-pass-1")
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/")
        page.goto(f"{base}/requests/{request_id}")
        text = page.inner_text("#sender-trust")
        assert text.startswith("Sender NOT verified: ") and "DMARC" in text, text
        assert run_axe(page) == []
        browser.close()
