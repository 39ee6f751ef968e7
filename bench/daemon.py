"""Throughput and latency of the whole daemon: IMAP APPEND in a real Dovecot -> reply at an aiosmtpd sink.

Two runs in one process, each against a fresh Dovecot, sink and store: text mails, and mails
carrying a faxed page (TIFF, real Tesseract). Each run first sends one warm-up mail and waits for its
reply (the gateway's own start is not timed), then APPENDs its mails over one IMAP session. Prints
messages per second and the median and 95th percentile time from APPEND to the acknowledgement
reaching the sink, the rate the APPENDs themselves went at (`fed/s`: the feed's pace, a ceiling),
plus the ratio of the fax run to the text run (the text run is the baseline).
Run: python -m bench.daemon [--text N] [--faxes N] [--single N]  (--faxes 0: text only; --single N: then
N mails one at a time on a warm gateway, the latency of one mail to a running gateway)
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import faxgen, mailgen
from tests.gateway import GatewayProcess, wait_for, write_config
from tests.servers import DovecotServer, SmtpSink
from tests.synth import labelled_lines, make_request


def _messages(kind: str, n: int, rng: random.Random) -> list[tuple[str, bytes]]:
    out = []
    for i in range(n):
        req = make_request(rng, kind="employee")
        mid = f"<bench-{kind}-{i}@bench.example.com>"
        sender = f"hr{i}@bench.example.com"
        if kind == "text":
            body = "Please issue a certificate:\n\n" + "\n".join(labelled_lines(req, rng)) + "\n"
            raw = mailgen.thunderbird(sender=sender, to="certificate@localhost", subject="COC request", text=body,
                                      message_id=mid)
        else:
            tiff = faxgen.tiff_bytes(faxgen.fax_request(req, rng, "fine")[:1])
            raw = mailgen.outlook(sender=sender, to="certificate@localhost", subject="Faxed request",
                                  text="Scan attached.\n", attachments=[("scan.tif", tiff, "image/tiff")],
                                  message_id=mid)
        out.append((mid, raw))
    return out


@contextmanager
def _gateway() -> Iterator[tuple[DovecotServer, SmtpSink, GatewayProcess]]:
    """A real Dovecot, an SMTP sink and the gateway started on them, all stopped and removed after."""
    base = Path(tempfile.mkdtemp(prefix="coc-bench-"))
    base.chmod(0o755)
    dovecot = DovecotServer(base=base / "dovecot")
    sink = SmtpSink()
    try:
        dovecot.setup()
        dovecot.start()
        sink.start()
        gw = GatewayProcess(base, write_config(base, dovecot=dovecot, sink=sink))
        gw.start()
        yield dovecot, sink, gw
    finally:
        sink.stop()
        dovecot.stop()
        shutil.rmtree(base, ignore_errors=True)


class _Appender:
    """One IMAP session kept open for every APPEND of a run, as a delivery agent keeps its
    connection: a login per message cost the bench more than the gateway's work on a text mail."""

    def __init__(self, dovecot: DovecotServer) -> None:
        self.client = dovecot.client()
        if not self.client.folder_exists("INBOX"):
            self.client.create_folder("INBOX")

    def append(self, raw: bytes) -> None:
        self.client.append("INBOX", raw)

    def close(self) -> None:
        self.client.logout()


def _warm_up(appender: _Appender, sink: SmtpSink, seed: int) -> None:
    """One mail through the fresh gateway, its reply waited for, before anything is timed: the
    gateway's own start (the extraction workers' warm-up, seconds on a busy machine) is not what
    a mail to a running gateway waits for."""
    (_mid, raw), = _messages("text", 1, random.Random(seed))
    appender.append(raw.replace(b"<bench-text-0@", b"<bench-warm-up@"))
    wait_for(lambda: len(sink.received()) >= 1, timeout=120)


def run(kind: str, n: int) -> tuple[float, list[float], float]:
    """Messages per second (first APPEND to last reply), the latencies, and the APPENDs' own rate
    (the feed: a gateway cannot be measured faster than Dovecot takes the mails in)."""
    messages = _messages(kind, n, random.Random(5))
    with _gateway() as (dovecot, sink, gw):
        appender = _Appender(dovecot)
        _warm_up(appender, sink, 99)
        appended: dict[str, float] = {}
        t0 = time.perf_counter()
        for mid, raw in messages:
            appended[mid] = time.time()
            appender.append(raw)
        fed = time.perf_counter() - t0
        wait_for(lambda: len(sink.received()) >= n + 1, timeout=60 + 30 * n)
        elapsed = time.perf_counter() - t0
        appender.close()
        gw.stop()
        latencies = []
        for m in sink.received():
            mid = message_from_bytes(m.content)["In-Reply-To"]
            if mid in appended:
                latencies.append(m.received_at - appended[mid])
        return n / elapsed, latencies, n / fed


def run_single(n: int) -> list[float]:
    """APPEND -> reply of one mail at a time on a warm gateway (`_warm_up` first: the gateway's own
    start and first extraction are not what a mail to a running gateway waits for), then `n` mails
    each sent after the previous one's reply arrived."""
    messages = _messages("text", n, random.Random(6))
    with _gateway() as (dovecot, sink, gw):
        appender = _Appender(dovecot)
        _warm_up(appender, sink, 98)
        latencies = []
        for i, (_mid, raw) in enumerate(messages, start=1):
            t0 = time.time()
            appender.append(raw)
            wait_for(lambda i=i: len(sink.received()) > i, timeout=120)  # type: ignore[misc]
            latencies.append(sink.received()[i].received_at - t0)
        appender.close()
        gw.stop()
        return latencies


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--text", type=int, default=100)
    ap.add_argument("--faxes", type=int, default=12)
    ap.add_argument("--single", type=int, default=0, help="then N mails one at a time on the warm gateway")
    args = ap.parse_args()
    rows = []
    for kind, n in (("text", args.text), ("fax", args.faxes)):
        if n <= 0:
            continue  # --faxes 0: the text run alone (profiling, quick comparisons)
        rate, lat, fed = run(kind, n)
        lat.sort()
        p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))] if lat else float("nan")
        rows.append((kind, n, rate, statistics.median(lat) if lat else float("nan"), p95, fed))
    print(f"{'kind':6s} {'msgs':>5s} {'msg/s':>7s} {'median s':>9s} {'p95 s':>7s} {'fed/s':>7s}")
    for kind, n, rate, med, p95, fed in rows:
        print(f"{kind:6s} {n:5d} {rate:7.2f} {med:9.2f} {p95:7.2f} {fed:7.1f}")
    if len(rows) > 1:  # text, then faxes
        print(f"fax/text throughput ratio: {rows[1][2] / rows[0][2]:.3f}")
    if args.single > 0:
        lat = sorted(run_single(args.single))
        print(f"single mails on a warm gateway: {len(lat)}, median APPEND->reply {statistics.median(lat):.2f} s, "
              f"max {lat[-1]:.2f} s")


if __name__ == "__main__":
    main()
