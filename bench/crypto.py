"""The cost of encryption at rest on the store: store_submission + mark_extracted + get_submission +
requests_of, with a keyring and without, run alternately in this process on the same machine.

Prints the median seconds per submission for each and their ratio (encrypted / clear), for
mail-sized (~20 kB) and fax-sized (~400 kB) submissions, on SQLite (and PostgreSQL with two --pg URLs
of empty databases); then the cipher's own time per submission, which does not depend on the
machine's disk and load the way a committed transaction does.
Run: python -m bench.crypto [--n 200] [--rounds 6] [--pg URL --pg URL]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intake.crypto import Keyring, new_key
from intake.extract import SubmissionResult
from intake.store import Incoming, Store

PG_URLS = 2  # --pg twice: the clear database and the sealed one

RESULT = SubmissionResult.model_validate({"parts": [{"name": "body", "media_type": "text/plain", "text": "x" * 2000}],
                                         "requests": [{
    "request": {
        "worker": {"first_name": "Ann", "last_name": "Example", "ssn": "123-45-6789", "date_of_birth": "1980-01-02"},
        "employer": {"name": "Summit Ridge Engineering Co", "ein": "12-3456789"},
        "assignment": {"country": "FR", "start_date": "2027-01-01", "end_date": "2029-12-31"},
    },
    "status": "needs_review",
    "problems": [{"field": "worker.ssn", "code": "low_confidence", "message": "check ***-**-6789", "help": "x" * 200}],
    "provenance": {"worker.ssn": {"part": "body", "page": 1, "method": "text", "label": "SSN"}},
    "confidence": {"worker.ssn": 0.9},
}]})


def _round(store: Store, tag: str, n: int, size: int) -> float:
    """Seconds per submission for `n` submissions of `size` bytes: store, extract result, read back."""
    body = os.urandom(size // 2).hex().encode()
    t0 = time.perf_counter()
    for i in range(n):
        raw = f"From: a@example.org\r\nMessage-ID: <{tag}-{i}@bench>\r\n\r\n".encode() + body
        sid, _ = store.store_submission(Incoming(channel="smtp", raw=raw, sender="a@example.org",
                                                 received_at=datetime.now(UTC)))
        store.mark_extracted(sid, RESULT)
        assert store.get_submission(sid).raw == raw
        assert store.requests_of(sid)[0].request.worker.ssn == "123-45-6789"
    return (time.perf_counter() - t0) / n


def bench(url_for: dict[str, str], n: int, rounds: int, size: int) -> tuple[float, float]:
    keyring = Keyring({"bench": new_key()}, "bench")
    clear = Store(url_for["clear"])
    sealed = Store(url_for["sealed"], keyring=keyring)
    for st in (clear, sealed):
        st.upgrade()
    times: dict[str, list[float]] = {"clear": [], "sealed": []}
    for r in range(rounds):  # alternate, and swap who goes first, so both see the same machine load
        order = ("clear", "sealed") if r % 2 == 0 else ("sealed", "clear")
        for which in order:
            times[which].append(_round(clear if which == "clear" else sealed, f"{which[0]}{size}-{r}", n, size))
    clear.dispose()
    sealed.dispose()
    return statistics.median(times["clear"]), statistics.median(times["sealed"])


def crypto_only(n: int, size: int) -> float:
    """Seconds per submission spent sealing and opening alone (raw, result, the request's three
    JSON columns), to tell the cipher's cost from the database's."""
    keyring = Keyring({"bench": new_key()}, "bench")
    raw = os.urandom(size)
    result = RESULT.model_dump(mode="json", exclude={"requests"})
    request = RESULT.requests[0].model_dump(mode="json")
    t0 = time.perf_counter()
    for i in range(n):
        assert keyring.decrypt(keyring.encrypt(raw, f"r{i}"), f"r{i}") == raw
        for value in (result, request["request"], request["problems"], request["provenance"]):
            keyring.decrypt_json(keyring.encrypt_json(value, f"j{i}"), f"j{i}")
    return (time.perf_counter() - t0) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=200, help="submissions per round")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--pg", action="append", default=[],
                    help="two empty PostgreSQL database URLs (clear, sealed): also measure PostgreSQL")
    args = ap.parse_args()
    print(f"{'backend':10s} {'size':>8s} {'clear s/sub':>12s} {'sealed s/sub':>13s} {'ratio':>6s}")
    with tempfile.TemporaryDirectory() as tmp:
        backends = [("sqlite", {"clear": f"sqlite:///{tmp}/clear.db", "sealed": f"sqlite:///{tmp}/sealed.db"})]
        if len(args.pg) == PG_URLS:
            backends.append(("postgresql", {"clear": args.pg[0], "sealed": args.pg[1]}))
        for name, urls in backends:
            for size in (20_000, 400_000):
                c, s = bench(urls, args.n, args.rounds, size)
                print(f"{name:10s} {size:8d} {c:12.5f} {s:13.5f} {s / c:6.2f}")
        for size in (20_000, 400_000):
            print(f"cipher only, {size} bytes: {crypto_only(args.n, size) * 1e6:.0f} µs per submission")


if __name__ == "__main__":
    main()
