"""Load: N mixed messages through a real Dovecot, the daemon and a real aiosmtpd sink; and the OCR cost.

The mix (printed): mostly text mails, a share with our fillable PDF form filled in (tests/formgen.py),
a share with a faxed letter as a TIFF attachment (tests/faxgen.py). The daemon (`coc-intake run`,
SQLite, its extraction workers) starts, then every message is APPENDed (as fast as Dovecot takes
them, or at --rate per second). Printed: messages per second (first APPEND to last acknowledgement),
APPEND-to-acknowledgement time (median and 99th percentile; acknowledgement = the reply reaching the
sink), peak memory of the daemon and its workers together (PSS and RSS, sampled from /proc every
half second), and what was lost (no submission in the store), unanswered or answered twice.

Before the run, the pipeline's OCR of fax pages is timed against the bare `tesseract PAGE stdout`
command on the same page images, alternately in this process (the bare command is the baseline).
Run: python -m bench.load [--count 10000] [--text 0.85 --forms 0.10] [--rate 0] [--ocr-faxes 6]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.extract import _bare
from tests import faxgen, formgen, mailgen
from tests.gateway import Feeder, GatewayProcess, ReplyTracker, reply_refs, wait_for, write_config
from tests.servers import DovecotServer, SmtpSink
from tests.synth import labelled_lines, make_request

REPORT_EVERY_S = 30  # a progress line this often while waiting for the replies


@dataclass(frozen=True)
class Message:
    kind: str  # text | form | fax
    message_id: str
    raw: bytes


def messages(n: int, text_share: float, form_share: float, seed: int = 11) -> list[Message]:
    """``n`` requests, each with its own Message-ID and sender; kinds drawn by the shares (seeded)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        draw = rng.random()
        kind = "text" if draw < text_share else "form" if draw < text_share + form_share else "fax"
        req = make_request(rng, kind="employee")
        sender = f"hr{i}@load.example.com"
        req["employer"]["contact_email"] = sender
        mid = f"<load-{i}@load.example.com>"
        if kind == "text":
            body = "Please issue a certificate:\n\n" + "\n".join(labelled_lines(req, rng)) + "\n"
            raw = mailgen.thunderbird(sender=sender, to="certificate@localhost", subject="COC request", text=body,
                                      message_id=mid)
        elif kind == "form":
            raw = mailgen.gmail(sender=sender, to="certificate@localhost", subject="Request form",
                                text="Our form is attached.\n", message_id=mid,
                                attachments=[("coc-request.pdf", formgen.filled_pdf(req), "application/pdf")])
        else:
            tiff = faxgen.tiff_bytes(faxgen.fax_request(req, rng, rng.choice(["fine", "normal"])))
            raw = mailgen.outlook(sender=sender, to="certificate@localhost", subject="Faxed request",
                                  text="The scan is attached.\n", attachments=[("scan.tif", tiff, "image/tiff")],
                                  message_id=mid)
        out.append(Message(kind, mid, raw))
    return out


def ocr_ratio(faxes: int, seed: int = 5) -> tuple[list[float], float]:
    """Pipeline seconds per page over bare tesseract on the same pages, per fax; and pipeline s/page."""
    # Imported only when the OCR ratio is measured (`--ocr-faxes 0` skips it).
    from PIL import Image  # noqa: F401, PLC0415  (Pillow writes the page files)

    from intake.extract import extract_submission  # noqa: PLC0415

    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    os.environ["COC_INTAKE_OCR_THREADS"] = "1"  # one page at a time, like the bare command
    rng = random.Random(seed)
    ratios, per_page = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(faxes):
            pages = faxgen.fax_request(make_request(rng, kind="employee"), rng, "fine" if i % 2 else "normal")
            tiff = faxgen.tiff_bytes(pages)
            paths = []
            for n, page in enumerate(pages):
                path = Path(tmp) / f"fax{i}-{n}.tif"
                page.save(path, dpi=page.info.get("dpi", (204, 196)))
                paths.append(path)
            bare_first = i % 2 == 0  # alternate who goes first
            bare = _bare(paths) if bare_first else 0.0
            t0 = time.perf_counter()
            extract_submission(tiff, channel="file", filename="scan.tif", today=date(2026, 11, 25))
            pipeline = time.perf_counter() - t0
            if not bare_first:
                bare = _bare(paths)
            ratios.append(pipeline / bare)
            per_page.append(pipeline / len(pages))
    return ratios, statistics.median(per_page)


class MemorySampler:
    """Peaks of the daemon's process group's memory, sampled every ``interval`` seconds: summed PSS
    (shared pages counted once: what the machine spends) and summed RSS (each shared page once per
    process, an over-count the earlier figures used)."""

    def __init__(self, gw: GatewayProcess, interval: float = 0.5) -> None:
        self.gw = gw
        self.interval = interval
        self.peak = 0
        self.peak_rss = 0
        self.peak_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            pss = self.gw.pss_bytes()
            if pss > self.peak:
                self.peak, self.peak_processes = pss, len(self.gw.pids())
            self.peak_rss = max(self.peak_rss, self.gw.rss_bytes())

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:  # noqa: PLR0915  (one benchmark run: its steps in the order they happen)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--text", type=float, default=0.85, help="share of text mails")
    ap.add_argument("--forms", type=float, default=0.10, help="share of mails with a filled PDF form")
    ap.add_argument("--rate", type=float, default=0.0, help="APPENDs per second (0: as fast as possible)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--ocr-faxes", type=int, default=6, help="faxes for the OCR cost ratio (0: skip)")
    args = ap.parse_args()

    if args.ocr_faxes:
        ratios, per_page = ocr_ratio(args.ocr_faxes)
        print(f"OCR cost, pipeline / bare `tesseract PAGE stdout` on the same fax pages ({args.ocr_faxes} faxes, "
              f"alternating): median {statistics.median(ratios):.2f}x (min {min(ratios):.2f}x, "
              f"max {max(ratios):.2f}x); pipeline {per_page:.2f} s per page", flush=True)

    t_gen = time.perf_counter()
    msgs = messages(args.count, args.text, args.forms)
    mix = {k: sum(1 for m in msgs if m.kind == k) for k in ("text", "form", "fax")}
    print(f"mix: {mix['text']} text mails, {mix['form']} with a filled PDF form, {mix['fax']} with a faxed "
          f"TIFF (generated in {time.perf_counter() - t_gen:.0f} s)", flush=True)

    base = Path(tempfile.mkdtemp(prefix="coc-bench-load-"))
    base.chmod(0o755)
    dovecot = DovecotServer(base=base / "dovecot")
    sink = SmtpSink()
    try:
        dovecot.setup()
        dovecot.start()
        sink.start()
        gw = GatewayProcess(base, write_config(base, dovecot=dovecot, sink=sink, workers=args.workers))
        gw.start()
        sampler = MemorySampler(gw)
        sampler.start()
        feeder = Feeder(dovecot, [(m.message_id, m.raw) for m in msgs], per_second=args.rate).start()
        wanted = {m.message_id for m in msgs}
        deadline = 600 + 3.0 * args.count
        start = time.monotonic()
        last_report = 0.0

        tracker = ReplyTracker(sink)

        def answered() -> bool:
            nonlocal last_report
            refs = tracker.refs()
            got = sum(1 for w in wanted if refs[w])
            if time.monotonic() - last_report > REPORT_EVERY_S:
                last_report = time.monotonic()
                print(f"  {time.monotonic() - start:5.0f} s: {len(feeder.appended)} appended, {got} answered, "
                      f"peak memory so far {sampler.peak / 2**20:.0f} MiB PSS", flush=True)
            return got == len(wanted)

        wait_for(answered, timeout=deadline, interval=2.0)
        feeder.join(timeout=60)
        time.sleep(3)  # a duplicate would arrive now
        sampler.stop()
        gw.stop()
        store = gw.store()
        try:
            stored = {store.get_submission(sid).message_id for sid in store.submission_ids()}
        finally:
            store.dispose()
    finally:
        sink.stop()
        dovecot.stop()
        shutil.rmtree(base, ignore_errors=True)

    refs = reply_refs(sink.received())
    appended = feeder.appended
    acked: dict[str, float] = {}
    for got in sink.received():
        mid = next(iter(reply_refs([got])))
        acked.setdefault(mid, got.received_at)
    by_kind: dict[str, list[float]] = {"text": [], "form": [], "fax": []}
    for m in msgs:
        if m.message_id in acked and m.message_id in appended:
            by_kind[m.kind].append(acked[m.message_id] - appended[m.message_id])
    latencies = [x for v in by_kind.values() for x in v]
    first = min(appended.values()) if appended else 0.0
    last = max(acked.values()) if acked else 0.0
    lost = [m.message_id for m in msgs if m.message_id not in stored]
    unanswered = [m.message_id for m in msgs if refs[m.message_id] == 0]
    twice = [m.message_id for m in msgs if refs[m.message_id] > 1]
    print(f"messages: {len(msgs)}, appended {len(appended)}, answered {len(acked)}")
    print(f"throughput: {len(acked) / max(last - first, 1e-9):.2f} messages per second "
          f"(first APPEND to last acknowledgement, {last - first:.0f} s, {args.workers} extraction workers)")
    print(f"APPEND to acknowledgement: median {statistics.median(latencies) if latencies else float('nan'):.1f} s, "
          f"p99 {_pct(latencies, 0.99):.1f} s")
    for kind, values in by_kind.items():
        if values:
            print(f"  {kind:5s} {len(values):6d}: median {statistics.median(values):.1f} s, "
                  f"p99 {_pct(values, 0.99):.1f} s")
    print(f"peak memory of the daemon and its workers: {sampler.peak / 2**20:.0f} MiB PSS "
          f"({sampler.peak_processes} processes at the peak; summed RSS, shared pages once per process: "
          f"{sampler.peak_rss / 2**20:.0f} MiB)")
    print(f"lost: {len(lost)}, unanswered: {len(unanswered)}, answered twice: {len(twice)}")
    return 1 if lost or unanswered or twice else 0


if __name__ == "__main__":
    sys.exit(main())
