"""A slow or dead resolver does not stall the pipeline (`intake.senderdns`): lookups are cached per
name for their TTL and failures for a minute, DKIM/SPF/DMARC run at once within one budget per mail,
and a check that ran out of time is `temperror`, checked again when staff open the request.

Real parts: the loopback DNS stub (`tests/dnsstub.py`) made to drop every query (a black hole), a
closed loopback port, dkimpy signatures, the real daemon and the review page in process."""

from __future__ import annotations

import random
import smtplib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from intake import senderdns
from intake.pipeline import Context, extract_stage, reply_stage
from intake.senderauth import SmtpSession, make_resolver, verify_smtp
from intake.store import Incoming
from tests.dnsstub import DnsStub, dns_stub
from tests.gateway import GatewayProcess, wait_for, write_config
from tests.servers import SmtpSink, free_port, smtp_sink  # noqa: F401
from tests.store_fixtures import stage_context
from tests.test_senderauth import TO, _mail, _request_text, _sign, _staff_page, keys  # noqa: F401

GOOD_IP = "192.0.2.10"


def _zone(stub: DnsStub, keys: dict[str, tuple[bytes, str]]) -> None:  # noqa: F811
    stub.add_txt("sel._domainkey.acme.example", f"v=DKIM1; k=rsa; p={keys['acme.example'][1]}")
    stub.add_txt("acme.example", "v=spf1 ip4:192.0.2.0/24 -all")
    stub.add_txt("_dmarc.acme.example", "v=DMARC1; p=reject")


@pytest.fixture
def stub(keys: dict[str, tuple[bytes, str]]) -> Iterator[DnsStub]:  # noqa: F811
    with dns_stub() as s:
        _zone(s, keys)
        yield s


def test_black_hole_resolver_lookups_run_at_once_within_the_budget(stub: DnsStub, keys: Any) -> None:  # noqa: F811
    stub.drop = True
    resolver = make_resolver([stub.host], stub.port, timeout=5.0)  # the default per-lookup timeout
    raw = _sign(_mail("hr@acme.example"), "acme.example", keys)
    session = SmtpSession(GOOD_IP, "mail.acme.example", "hr@acme.example")
    v = verify_smtp(raw, session, resolver, budget=1.0)
    assert not v.verified and v.dmarc == "temperror" and v.spf == "temperror"
    assert v.dkim == [{"domain": "acme.example", "result": "temperror"}]
    assert "did not finish within 1 s" in v.reason and "checked again when staff open it" in v.reason
    # All three were asked at once: one after the other, the first would have used up the budget
    # and the others would never have been sent.
    asked = set(stub.resolver.queries)
    assert {("sel._domainkey.acme.example", "TXT"), ("acme.example", "TXT"),
            ("_dmarc.acme.example", "TXT")} <= asked, asked
    # The failures are remembered for a minute: the next mails of this domain ask nothing and are
    # temperror at once, instead of each waiting out its budget again.
    before = len(stub.resolver.queries)
    for _ in range(5):
        again = verify_smtp(raw, session, resolver, budget=1.0)
        assert again.dmarc == "temperror" and not again.verified
    assert len(stub.resolver.queries) == before
    # When the failures have expired (here: forgotten) and the DNS answers again, the sender verifies.
    stub.drop = False
    senderdns.forget()
    assert verify_smtp(raw, session, resolver, budget=1.0).verified


def test_a_closed_loopback_port_is_temperror_too(keys: Any) -> None:  # noqa: F811
    resolver = make_resolver(["127.0.0.1"], free_port(), timeout=5.0)
    raw = _sign(_mail("hr@acme.example"), "acme.example", keys)
    v = verify_smtp(raw, SmtpSession(GOOD_IP, "h", "hr@acme.example"), resolver, budget=0.5)
    assert not v.verified and v.dmarc == "temperror" and v.dkim[0]["result"] == "temperror"


def test_answers_are_cached_for_their_ttl(stub: DnsStub, keys: Any) -> None:  # noqa: F811
    resolver = make_resolver([stub.host], stub.port, timeout=2.0)
    raw = _sign(_mail("hr@acme.example"), "acme.example", keys)
    session = SmtpSession(GOOD_IP, "mail.acme.example", "hr@acme.example")
    assert verify_smtp(raw, session, resolver, budget=4).verified
    asked = len(stub.resolver.queries)
    assert asked >= 3
    for _ in range(3):
        assert verify_smtp(raw, session, resolver, budget=4).verified
    assert len(stub.resolver.queries) == asked  # the stub's TTL is 60 s: all from the cache
    # A name that does not exist is cached too (no SOA in the stub's answer: a minute).
    other = _mail("a@nowhere.example")
    verify_smtp(other, SmtpSession(GOOD_IP, "h", "a@nowhere.example"), resolver, budget=4)
    asked = len(stub.resolver.queries)
    verify_smtp(other, SmtpSession(GOOD_IP, "h", "a@nowhere.example"), resolver, budget=4)
    assert len(stub.resolver.queries) == asked


def test_cache_is_bounded_and_keyed_by_server() -> None:
    cache = senderdns.DnsCache(max_entries=3)
    for i in range(5):
        cache.put(("s", 53, f"n{i}.", "TXT"), senderdns._Entry(10**12, (i,)))
    assert len(cache) == 3 and cache.get(("s", 53, "n0.", "TXT")) is None
    assert cache.get(("s", 53, "n4.", "TXT")) is not None and cache.get(("t", 53, "n4.", "TXT")) is None


# -- the pipeline and the review page --------------------------------------------------------


@pytest.fixture
def dead_ctx(tmp_path: Path, stub: DnsStub) -> Iterator[Context]:
    stub.drop = True
    c = stage_context(tmp_path, f'[trust]\ndns_servers = ["{stub.host}"]\ndns_port = {stub.port}\n'
                               "dns_budget_seconds = 1\n", timeout=120)
    yield c
    c.store.dispose()


def test_timed_out_check_is_held_and_checked_again_when_staff_open_it(dead_ctx: Context, stub: DnsStub,
                                                                        keys: Any) -> None:  # noqa: F811
    ctx = dead_ctx
    raw = _sign(_mail("hr@acme.example", text=_request_text(random.Random(31), confirmation="hr@acme.example")),
                "acme.example", keys)
    sid, _ = ctx.store.store_submission(Incoming(channel="smtp", raw=raw, sender="hr@acme.example",
                                                 received_at=datetime.now(UTC), client_ip=GOOD_IP,
                                                 helo="mail.acme.example"))
    assert extract_stage(ctx, sid)
    assert reply_stage(ctx, sid) is False and ctx.store.replies_of(sid) == []  # held, not stalled
    sub = ctx.store.get_submission(sid)
    assert sub.sender_auth and sub.sender_auth["dmarc"] == "temperror" and not sub.sender_auth["verified"]
    [rec] = ctx.store.requests_of(sid)
    assert rec.state == "needs_review" and any(p.code == "sender_not_verified" for p in rec.problems)
    # Staff open it while DNS is still down (the failure is cached): still not verified, nothing new.
    html = _staff_page(ctx, f"/requests/{rec.id}")
    assert "did not finish within 1 s" in html
    # DNS is back (and the cached failure expired): opening the request checks the sender again.
    stub.drop = False
    senderdns.forget()
    html = _staff_page(ctx, f"/requests/{rec.id}")
    assert "Sender verified: DKIM acme.example aligned with From acme.example" in html
    sub = ctx.store.get_submission(sid)
    assert sub.sender_auth and sub.sender_auth["verified"]
    [rec] = ctx.store.requests_of(sid)
    assert not any(p.code == "sender_not_verified" for p in rec.problems)
    assert rec.state == "needs_review"  # a person still accepts it
    trail = [e for e in ctx.store.events_of(submission_id=sid) if e.kind == "sender_auth"]
    assert len(trail) >= 3 and trail[-1].new and "Sender verified" in trail[-1].new


def test_daemon_with_dns_black_hole_holds_every_mail_promptly(tmp_path: Path, stub: DnsStub, keys: Any,  # noqa: F811
                                                             smtp_sink: SmtpSink) -> None:  # noqa: F811
    """N mails through the listener with the resolver a black hole: every one is extracted and held
    (temperror), none waits for a reply that cannot come."""
    stub.drop = True
    extra = (f'[trust]\ndns_servers = ["{stub.host}"]\ndns_port = {stub.port}\n'
             "dns_budget_seconds = 1\n")
    gw = GatewayProcess(tmp_path, write_config(tmp_path, dovecot=None, sink=smtp_sink, extra=extra))
    gw.start()
    try:
        rng = random.Random(32)
        senders = [f"hr{i}@acme.example" for i in range(6)] + [f"pay@d{i}.example" for i in range(3)]
        with smtplib.SMTP("127.0.0.1", gw.smtp_port, local_hostname="mail.acme.example") as s:
            for sender in senders:
                raw = _mail(sender, text=_request_text(rng))
                s.sendmail(sender, [TO], _sign(raw, "acme.example", keys))
        store = gw.store()

        def held() -> bool:
            ids = store.submission_ids()
            return len(ids) == len(senders) and all(
                any(e.kind == "no_reply" for e in store.events_of(submission_id=i)) for i in ids)

        assert wait_for(held, timeout=120), gw.tail()
        for sid in store.submission_ids():
            auth = store.get_submission(sid).sender_auth
            assert auth and auth["dmarc"] == "temperror" and not auth["verified"], auth
        assert smtp_sink.received() == []
        # The six acme.example mails did not each ask for its DMARC record: the failure is cached,
        # not waited out again by every mail (two pipeline threads may both ask at first).
        assert stub.resolver.queries.count(("_dmarc.acme.example", "TXT")) < 6, stub.resolver.queries
        store.dispose()
    finally:
        gw.stop()
