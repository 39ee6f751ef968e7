"""What the sender check adds to a mail: DKIM + SPF + DMARC against a local DNS server, over the
extraction of the same mail; and what a dead resolver costs per mail.

Both run alternately in this process on the same generated, DKIM-signed request mails (DNS answered
by `tests/dnsstub.py` on loopback, so the figure is our CPU cost, not the network's). Prints the
median milliseconds of each and their ratio.

Then each mail as the extract stage handles it (the check in a thread beside the extraction, one
`[trust] dns_budget_seconds` per mail) with the live stub, and with the stub dropping every query
(a black hole): once for mails of one domain (the failure is cached for a minute) and once with a
new domain per mail (each waits out the budget). Prints milliseconds per mail and the ratios
dead / live.
Run: python -m bench.senderauth [--mails N] [--dead-mails N] [--budget S]
"""

from __future__ import annotations

import argparse
import base64
import random
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intake import senderdns
from intake.extract import extract_submission
from intake.senderauth import SmtpSession, Verdict, make_resolver, verify_smtp
from tests import mailgen
from tests.dnsstub import DnsStub, dns_stub
from tests.synth import labelled_lines, make_request

CHECKS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench-check")


def _stage(raw: bytes, session: SmtpSession, stub: DnsStub, budget: float) -> tuple[float, Verdict]:
    """Milliseconds of one mail as the extract stage runs it: the check beside the extraction."""
    resolver = make_resolver([stub.host], stub.port, timeout=5)
    t0 = time.perf_counter()
    checking = CHECKS.submit(verify_smtp, raw, session, resolver, budget)
    extract_submission(raw, channel="email", today=date(2026, 11, 25))
    verdict = checking.result()
    return (time.perf_counter() - t0) * 1000, verdict


def main() -> None:  # noqa: PLR0915  (one benchmark run: its steps in the order they happen)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mails", type=int, default=50)
    ap.add_argument("--dead-mails", type=int, default=8, help="mails with a new domain each, DNS dead")
    ap.add_argument("--budget", type=float, default=4.0, help="[trust] dns_budget_seconds")
    args = ap.parse_args()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    public = base64.b64encode(key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
    rng = random.Random(5)
    mails = []
    for _ in range(args.mails):
        text = "\n".join(labelled_lines(make_request(rng, kind="employee"), rng)) + "\n"
        raw = mailgen.thunderbird(sender="hr@acme.example", to="certificate@localhost", subject="COC", text=text)
        mails.append(dkim.sign(raw, b"sel", b"acme.example", pem) + raw)
    session = SmtpSession("192.0.2.10", "mail.acme.example", "hr@acme.example")
    check_ms, extract_ms = [], []
    with dns_stub() as stub:
        stub.add_txt("sel._domainkey.acme.example", f"v=DKIM1; k=rsa; p={public}")
        stub.add_txt("acme.example", "v=spf1 ip4:192.0.2.0/24 -all")
        stub.add_txt("_dmarc.acme.example", "v=DMARC1; p=reject")
        resolver = make_resolver([stub.host], stub.port, timeout=5)
        for raw in mails:
            senderdns.forget()  # the CPU cost of a check that asks the DNS, not of the cache
            t0 = time.perf_counter()
            verdict = verify_smtp(raw, session, resolver)
            t1 = time.perf_counter()
            extract_submission(raw, channel="email", today=date(2026, 11, 25))
            t2 = time.perf_counter()
            assert verdict.verified, verdict
            check_ms.append((t1 - t0) * 1000)
            extract_ms.append((t2 - t1) * 1000)
        check, extract = statistics.median(check_ms), statistics.median(extract_ms)
        print(f"{args.mails} DKIM-signed request mails (RSA 2048), DNS on loopback")
        print(f"sender check (DKIM + SPF + DMARC): median {check:.1f} ms")
        print(f"extraction of the same mail:       median {extract:.1f} ms")
        print(f"check / extraction: {check / extract:.2f}x")

        senderdns.forget()
        live = [_stage(raw, session, stub, args.budget) for raw in mails]
        assert all(v.verified for _, v in live)
        stub.drop = True
        senderdns.forget()
        dead = [_stage(raw, session, stub, args.budget) for raw in mails]
        assert all(v.dmarc == "temperror" for _, v in dead)
        fresh = []
        for i, raw in enumerate(mails[: args.dead_mails]):
            other = SmtpSession("192.0.2.10", f"mail.d{i}.example", f"hr@d{i}.example")
            fresh.append(_stage(raw.replace(b"hr@acme.example", f"hr@d{i}.example".encode()), other, stub,
                                args.budget))
        assert all(v.dmarc == "temperror" for _, v in fresh)
    live_ms = [ms for ms, _ in live]
    dead_ms = [ms for ms, _ in dead]
    fresh_ms = [ms for ms, _ in fresh]
    per_live, per_dead, per_fresh = (statistics.mean(x) for x in (live_ms, dead_ms, fresh_ms))
    print(f"\nextract stage per mail (check beside extraction, budget {args.budget:g} s):")
    print(f"live DNS stub:                         mean {per_live:.1f} ms")
    print(f"dead resolver, one domain ({len(dead)} mails):    mean {per_dead:.1f} ms (first {dead_ms[0]:.0f} ms,"
          f" then median {statistics.median(dead_ms[1:] or dead_ms):.1f} ms)")
    print(f"dead resolver, a new domain each ({len(fresh)}):  mean {per_fresh:.1f} ms (max {max(fresh_ms):.0f} ms)")
    print(f"dead / live per mail: one domain {per_dead / per_live:.2f}x, new domains {per_fresh / per_live:.2f}x")


if __name__ == "__main__":
    main()
