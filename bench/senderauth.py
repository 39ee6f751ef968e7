"""What the sender check adds to a mail: DKIM + SPF + DMARC against a local DNS server, over the
extraction of the same mail.

Both run alternately in this process on the same generated, DKIM-signed request mails (DNS answered
by `tests/dnsstub.py` on loopback, so the figure is our CPU cost, not the network's). Prints the
median milliseconds of each and their ratio.
Run: python -m bench.senderauth [--mails N]
"""

from __future__ import annotations

import argparse
import base64
import random
import statistics
import sys
import time
from datetime import date
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intake.extract import extract_submission  # noqa: E402
from intake.senderauth import SmtpSession, make_resolver, verify_smtp  # noqa: E402
from tests import mailgen  # noqa: E402
from tests.dnsstub import dns_stub  # noqa: E402
from tests.synth import labelled_lines, make_request  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mails", type=int, default=50)
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


if __name__ == "__main__":
    main()
