"""Sender trust behind a real MTA: the `Authentication-Results` of `[trust] authserv_id` are
believed on mail our relay (`[trust] relays`) hands to the SMTP/LMTP listener, never from anyone
else; and ARC (`intake/arc.py`) verifies forwarded mail sealed by a trusted forwarder.

Real parts: Debian's Postfix as a private instance in front of the daemon's LMTP listener
(`tests/postfix.py`, the header a milter would write added by `header_checks`), ARC seals made by
dkimpy with generated keys, DNS from the loopback stub, the real daemon and an aiosmtpd sink."""

from __future__ import annotations

import base64
import random
import smtplib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import ValidationError

from intake.senderauth import SmtpSession, verdict_for
from intake.settings import TrustSettings
from tests import mailgen
from tests.dnsstub import DnsStub, dns_stub, loopback_dns
from tests.gateway import GatewayProcess, wait_for, write_config
from tests.postfix import running_postfix
from tests.servers import SmtpSink, smtp_sink  # noqa: F401
from tests.synth import labelled_lines, make_request

OURS = "mx.ours.example"
TO = "certificate@intake.example"
RELAY_IP, DIRECT_IP = "127.0.0.2", "127.0.0.1"


@pytest.fixture(scope="module")
def keys() -> dict[str, tuple[bytes, str]]:
    out = {}
    for domain in ("acme.example", "lists.example", "evil-lists.example"):
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
        stub.add_txt("sel._domainkey.acme.example", f"v=DKIM1; k=rsa; p={keys['acme.example'][1]}")
        for forwarder in ("lists.example", "evil-lists.example"):
            stub.add_txt(f"arc._domainkey.{forwarder}", f"v=DKIM1; k=rsa; p={keys[forwarder][1]}")
        stub.add_txt("acme.example", "v=spf1 ip4:192.0.2.0/24 -all")
        stub.add_txt("_dmarc.acme.example", "v=DMARC1; p=reject")
        yield stub


def _mail(sender: str, text: str = "Please send the certificate.\n") -> bytes:
    raw = mailgen.thunderbird(sender=sender, to=TO, subject="Certificate of Coverage", text=text)
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _text(seed: int) -> str:
    rng = random.Random(seed)
    req = make_request(rng, kind="employee")
    req["confirmation_email"] = None
    return "\n".join(labelled_lines(req, rng)) + "\n"


def _signed(keys: dict[str, tuple[bytes, str]], text: str = "Please send the certificate.\n") -> bytes:
    raw = _mail("hr@acme.example", text)
    return dkim.sign(raw, b"sel", b"acme.example", keys["acme.example"][0],
                     include_headers=[b"from", b"to", b"subject", b"date", b"message-id"]) + raw


def _forwarded(raw: bytes, keys: dict[str, tuple[bytes, str]], signer: str = "lists.example",
               saw: str = "dkim=pass header.d=acme.example; dmarc=pass header.from=acme.example") -> bytes:
    """What a mailing list makes of `raw`: a footer (the author's DKIM breaks), then its ARC seal
    over what it saw on arrival."""
    body_at = raw.index(b"\r\n\r\n") + 4
    changed = raw[:body_at] + b"[posted to the list]\r\n" + raw[body_at:]
    with_ar = f"Authentication-Results: {signer}; {saw}\r\n".encode() + changed
    seal = dkim.arc_sign(with_ar, b"arc", signer.encode(), keys[signer][0], signer.encode())
    return b"".join(seal) + with_ar


def _settings(dns: DnsStub, **kw: Any) -> TrustSettings:
    return TrustSettings(authserv_id=OURS, dns_servers=[dns.host], dns_port=dns.port, dns_timeout_seconds=2,
                         **kw)


def _ar(raw: bytes, value: str) -> bytes:
    return f"Authentication-Results: {value}\r\n".encode() + raw


# -- relays ----------------------------------------------------------------------------------


def test_relay_authentication_results_are_believed_only_from_the_relay(dns: DnsStub) -> None:
    raw = _ar(_mail("pay@trusted.example"), f"{OURS}; spf=pass smtp.mailfrom=trusted.example; "
                                            "dmarc=pass header.from=trusted.example")
    settings = _settings(dns, relays=["127.0.0.2/32", "10.1.0.0/16"])
    v = verdict_for("lmtp", raw, SmtpSession(RELAY_IP, OURS, "pay@trusted.example"), settings)
    assert v.verified and v.method == "relay" and v.summary.endswith(f"(reported by {OURS})")
    assert verdict_for("smtp", raw, SmtpSession("10.1.4.5", "mx2", "pay@trusted.example"), settings).verified
    # The same header from any other client was written by that client: ignored, checked here.
    v = verdict_for("lmtp", raw, SmtpSession(DIRECT_IP, "mail.trusted.example", "pay@trusted.example"), settings)
    assert not v.verified and v.method == "smtp" and v.authserv_id is None
    # Without relays configured (the default) nobody's header counts on the listener.
    assert not verdict_for("lmtp", raw, SmtpSession(RELAY_IP, OURS, "pay@trusted.example"),
                           _settings(dns)).verified
    # From the relay but under another authserv-id, or failing: not verified.
    other = _ar(_mail("pay@trusted.example"), "mx.elsewhere.example; dmarc=pass header.from=trusted.example")
    v = verdict_for("lmtp", other, SmtpSession(RELAY_IP, OURS, "x@trusted.example"), settings)
    assert not v.verified and v.reason == f"unknown: no Authentication-Results from {OURS}"


def test_relays_must_be_addresses_or_networks() -> None:
    with pytest.raises(ValidationError, match=r"\[trust\] relays: 'mx.ours.example' is not an IP address"):
        TrustSettings(relays=["mx.ours.example"])
    assert TrustSettings(relays=["192.0.2.7", "2001:db8::/32"]).relays == ["192.0.2.7/32", "2001:db8::/32"]


# -- ARC -------------------------------------------------------------------------------------


def test_arc_sealed_by_a_trusted_forwarder_verifies_forwarded_mail(dns: DnsStub, keys: Any) -> None:
    raw = _forwarded(_signed(keys), keys)
    session = SmtpSession("198.51.100.20", "mail.lists.example", "bounces@lists.example")
    # Without ARC the list's footer broke the author's signature and SPF is the list's: not verified.
    plain = verdict_for("smtp", raw, session, _settings(dns))
    assert not plain.verified and plain.dkim == [{"domain": "acme.example", "result": "fail"}]
    v = verdict_for("smtp", raw, session, _settings(dns, arc_trusted_signers=["Lists.Example."]))
    assert v.verified and v.aligned == "arc" and v.arc == "pass" and v.arc_signer == "lists.example"
    assert v.summary.startswith("Sender verified: forwarded: ARC chain sealed by lists.example (trusted), "
                                "which saw DMARC pass for From acme.example")
    # Relayed by our MTA, whose own check failed for the same reason: ARC decides there too.
    relayed = _ar(raw, f"{OURS}; dkim=fail header.d=acme.example; dmarc=fail header.from=acme.example")
    v = verdict_for("lmtp", relayed, SmtpSession(RELAY_IP, OURS, "bounces@lists.example"),
                    _settings(dns, relays=[RELAY_IP], arc_trusted_signers=["lists.example"]))
    assert v.verified and v.method == "relay" and v.aligned == "arc"
    # And read from our mailbox.
    assert verdict_for("imap", relayed, None, _settings(dns, arc_trusted_signers=["lists.example"])).verified


def test_arc_that_proves_nothing_changes_nothing(dns: DnsStub, keys: Any) -> None:
    session = SmtpSession("198.51.100.20", "mail.lists.example", "bounces@lists.example")
    settings = _settings(dns, arc_trusted_signers=["lists.example"])
    # Sealed by a forwarder nobody trusts.
    v = verdict_for("smtp", _forwarded(_signed(keys), keys, signer="evil-lists.example"), session, settings)
    assert not v.verified and v.arc == "pass" and "evil-lists.example, not a trusted ARC signer" in v.reason
    # Trusted forwarder, but it saw DMARC fail.
    v = verdict_for("smtp", _forwarded(_signed(keys), keys, saw="dkim=fail header.d=acme.example; dmarc=fail "
                                                                  "header.from=acme.example"), session, settings)
    assert not v.verified and "saw no aligned pass" in v.reason
    # Trusted forwarder's pass was for another From domain than the one the message has now.
    v = verdict_for("smtp", _forwarded(_signed(keys), keys, saw="dmarc=pass header.from=other.example"),
                    session, settings)
    assert not v.verified
    # Changed after sealing: the chain no longer verifies.
    sealed = _forwarded(_signed(keys), keys)
    v = verdict_for("smtp", sealed.replace(b"[posted to the list]", b"[edited afterwards!]"), session, settings)
    assert not v.verified and v.arc == "fail" and "ARC chain fail" in v.reason


# -- Postfix in front of the daemon's LMTP listener --------------------------------------------


def test_postfix_in_front_of_the_lmtp_listener(tmp_path: Path, dns: DnsStub, keys: Any,
                                               smtp_sink: SmtpSink) -> None:  # noqa: F811
    extra = (f'[trust]\nauthserv_id = "{OURS}"\nrelays = ["{RELAY_IP}"]\narc_trusted_signers = ["lists.example"]\n'
             f'dns_servers = ["{dns.host}"]\ndns_port = {dns.port}\ndns_timeout_seconds = 2\n')
    config = write_config(tmp_path, dovecot=None, sink=smtp_sink, extra=extra)
    config.write_text(config.read_text().replace('accepted_recipients = ["certificate@localhost"]',
                                                 f'lmtp = true\naccepted_recipients = ["{TO}"]'))
    gw = GatewayProcess(tmp_path, config)
    gw.start()
    checks = [
        # Whatever a sender wrote under our authserv-id is dropped, as a real setup must.
        rf"/^Authentication-Results:\s*{OURS.replace('.', '[.]')}/ IGNORE",
        # What our milters would write, by the From domain.
        rf"/^From:.*@trusted[.]example/ PREPEND Authentication-Results: {OURS}; spf=pass "
        "smtp.mailfrom=trusted.example; dmarc=pass header.from=trusted.example",
        rf"/^From:.*@acme[.]example/ PREPEND Authentication-Results: {OURS}; dkim=fail header.d=acme.example; "
        "dmarc=fail header.from=acme.example",
        rf"/^From:.*@spoofed[.]example/ PREPEND Authentication-Results: {OURS}; spf=fail "
        "smtp.mailfrom=spoofed.example; dmarc=fail header.from=spoofed.example",
    ]
    try:
        with running_postfix(gw.smtp_port, checks, bind=RELAY_IP) as mta:
            with smtplib.SMTP(mta.host, mta.port) as s:
                s.sendmail("pay@trusted.example", [TO], _mail("pay@trusted.example", _text(41)))
                s.sendmail("bounces@lists.example", [TO], _forwarded(_signed(keys, _text(42)), keys))
                # A forger's own "pass" under our id, through the MTA: stripped, and our MTA says fail.
                s.sendmail("boss@spoofed.example", [TO], _ar(_mail("boss@spoofed.example", _text(43)),
                                                             f"{OURS}; dmarc=pass header.from=spoofed.example"))
            # The same pass written by a client talking to the listener directly: ignored.
            with smtplib.LMTP("127.0.0.1", gw.smtp_port) as direct:
                direct.sendmail("pay@direct.example", [TO], _ar(
                    _mail("pay@direct.example", _text(44)), f"{OURS}; dmarc=pass header.from=direct.example"))
            store = gw.store()

            def verdicts() -> dict[str, dict[str, Any]]:
                out = {}
                for sid in store.submission_ids():
                    sub = store.get_submission(sid)
                    if sub.sender_auth:
                        out[str(sub.sender)] = {**sub.sender_auth, "client_ip": sub.client_ip}
                return out if len(out) == 4 else {}

            got = wait_for(verdicts, timeout=120)
            assert got, gw.tail() + mta.log()
        trusted, forwarded = got["pay@trusted.example"], got["bounces@lists.example"]
        assert trusted["verified"] and trusted["method"] == "relay" and trusted["client_ip"] == RELAY_IP
        assert forwarded["verified"] and forwarded["aligned"] == "arc" and forwarded["arc_signer"] == "lists.example"
        spoofed, direct_ = got["boss@spoofed.example"], got["pay@direct.example"]
        assert not spoofed["verified"] and spoofed["method"] == "relay" and spoofed["dmarc"] == "fail"
        assert not direct_["verified"] and direct_["method"] == "smtp" and direct_["client_ip"] == DIRECT_IP
        # The verified sender gets the reply with details; the forger and the direct client do not.
        assert wait_for(lambda: "pay@trusted.example" in {r for m in smtp_sink.received() for r in m.rcpt_tos},
                        timeout=60), gw.tail()
        replied = {r for m in smtp_sink.received() for r in m.rcpt_tos}
        assert "boss@spoofed.example" not in replied and "pay@direct.example" not in replied
        store.dispose()
    finally:
        gw.stop()


def test_doctor_warns_about_relays_without_a_trusted_authserv_id(tmp_path: Path) -> None:
    from intake.doctor import check_sender_trust
    from intake.settings import load_settings

    config = tmp_path / "c.toml"
    config.write_text(f'[paths]\nvar = "{tmp_path}/var"\n' + loopback_dns('[trust]\nrelays = ["127.0.0.1"]\n'),
                      encoding="utf-8")
    check = check_sender_trust(load_settings(config))
    assert check is not None and not check.ok and "mail from [trust] relays" in check.detail


def test_forwarded_mail_through_the_pipeline_and_the_review_page(tmp_path: Path, dns: DnsStub, keys: Any) -> None:
    from datetime import UTC, datetime

    from intake.pipeline import extract_stage, reply_stage
    from intake.store import Incoming
    from tests.store_fixtures import stage_context
    from tests.test_senderauth import _staff_page

    ctx = stage_context(tmp_path, f'[trust]\ndns_servers = ["{dns.host}"]\ndns_port = {dns.port}\n'
                                  'arc_trusted_signers = ["lists.example"]\n', timeout=120)
    try:
        raw = _forwarded(_signed(keys, _text(45)), keys)
        sid, _ = ctx.store.store_submission(Incoming(channel="smtp", raw=raw, sender="bounces@lists.example",
                                                     received_at=datetime.now(UTC), client_ip="198.51.100.20",
                                                     helo="mail.lists.example"))
        assert extract_stage(ctx, sid)
        reply_stage(ctx, sid)
        [rec] = ctx.store.requests_of(sid)
        assert not any(p.code == "sender_not_verified" for p in rec.problems)
        html = _staff_page(ctx, f"/requests/{rec.id}")
        assert "Sender verified: forwarded: ARC chain sealed by lists.example (trusted)" in html
        assert "ARC pass (sealed by lists.example)" in html
    finally:
        ctx.store.dispose()
