"""Pages per second with 1, 2 and 4 `coc-intake worker` processes on the same faxed corpus (PostgreSQL).

Each run gets a fresh database on the machine's PostgreSQL (127.0.0.1:5432, trust auth, as in the
tests), starts K workers (one job and one extraction process each) and waits until they are
listening, then stores the same generated faxes (tests/faxgen.py: letters faxed at 204x98 or
204x196 dpi with skew, noise and a fax header) and defers their jobs, and times until every fax has
its reply in the fax outbox. The figure is the ratio to one worker, measured in the same process.
Run: python -m bench.scale [--faxes N] [--workers 1,2,4]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intake.crypto import add_key
from intake.jobs import Jobs
from intake.settings import load_settings
from intake.store import Incoming, Store
from intake.store.migrate import ensure_job_schema
from tests import faxgen
from tests.dnsstub import loopback_dns
from tests.synth import make_request

PG = os.environ.get("COC_BENCH_PG", "host=127.0.0.1 port=5432 dbname=test")


def corpus(n: int) -> list[tuple[str, bytes, int]]:
    """n faxes, half at each resolution: (sender number, TIFF bytes, pages)."""
    rng = random.Random(11)
    out = []
    for i in range(n):
        req = make_request(rng, kind="employee")
        req["employer"]["contact_email"] = req["worker"]["email"] = req["confirmation_email"] = None
        pages = faxgen.fax_request(req, rng, "fine" if i % 2 else "normal")
        out.append((f"+1208555{2000 + i}", faxgen.tiff_bytes(pages), len(pages)))
    return out


def _user() -> str:
    for user in ("postgres", "root"):
        try:
            with psycopg.connect(f"{PG} user={user}", connect_timeout=3):
                return user
        except psycopg.OperationalError:
            continue
    raise SystemExit("PostgreSQL is not reachable on 127.0.0.1:5432 (see docs/deployment.md)")


def run(workers: int, faxes: list[tuple[str, bytes, int]], base: Path, user: str) -> float:  # noqa: C901  (one benchmark run: its steps in the order they happen)
    """Seconds from deferring the corpus to its last reply, with `workers` worker processes."""
    name = f"coc_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{PG} user={user}", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    folder = base / f"w{workers}"
    folder.mkdir()
    keys = folder / "keys.json"
    add_key(keys)
    config = folder / "coc-intake.toml"
    config.write_text(f"""
[store]
url = "postgresql+psycopg://{user}@127.0.0.1:5432/{name}"
[paths]
var = "{folder}/var"
[encryption]
key_file = "{keys}"
[pipeline]
workers = 1
[web]
enabled = false
[workers]
dispatch = "procrastinate"
concurrency = 1
{loopback_dns()}""", encoding="utf-8")
    settings = load_settings(config)
    store = Store.from_settings(settings)
    store.upgrade()
    ensure_job_schema(store.engine)
    procs: list[subprocess.Popen[bytes]] = []
    env = dict(os.environ, OMP_THREAD_LIMIT="1", PYTHONUNBUFFERED="1")
    jobs = Jobs(settings).open()
    try:
        logs = []
        for i in range(workers):
            log = folder / f"worker{i}.log"
            logs.append(log)
            with open(log, "wb") as out:
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "intake.cli", "--config", str(config), "worker", "--name", f"b{i}"],
                    stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True))
        deadline = time.monotonic() + 120
        while not all("Starting worker" in log.read_text(errors="replace") or "jobs at once" in
                      log.read_text(errors="replace") for log in logs):
            if time.monotonic() > deadline:
                raise SystemExit("workers did not start:\n" + logs[0].read_text(errors="replace")[-2000:])
            time.sleep(0.2)
        time.sleep(1.0)  # the event loops are listening now
        outbox = settings.fax_outbox
        t0 = time.perf_counter()
        for number, tiff, _pages in faxes:
            sid, _ = store.store_submission(Incoming(channel="fax", raw=tiff, sender=number,
                                                     received_at=datetime.now(UTC), fax_filename=f"{number}.tif"))
            jobs.defer_submission(sid)
        deadline = time.monotonic() + 120 + 60 * len(faxes)
        while len(list(outbox.glob("*.pdf"))) < len(faxes):
            if time.monotonic() > deadline:
                raise SystemExit("the corpus did not finish:\n" + logs[0].read_text(errors="replace")[-2000:])
            time.sleep(0.1)
        return time.perf_counter() - t0
    finally:
        jobs.close()
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        store.dispose()
        with psycopg.connect(f"{PG} user={user}", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--faxes", type=int, default=12)
    ap.add_argument("--workers", default="1,2,4")
    args = ap.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    faxes = corpus(args.faxes)
    pages = sum(p for _, _, p in faxes)
    user = _user()
    base = Path(tempfile.mkdtemp(prefix="coc-bench-scale-"))
    try:
        rows = [(k, run(k, faxes, base, user)) for k in counts]
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"{args.faxes} faxes, {pages} pages; {os.cpu_count()} CPU core(s)")
    print(f"{'workers':>7s} {'seconds':>8s} {'pages/s':>8s} {'ratio':>6s}")
    first = pages / rows[0][1]
    for k, seconds in rows:
        rate = pages / seconds
        print(f"{k:7d} {seconds:8.1f} {rate:8.3f} {rate / first:6.2f}")


if __name__ == "__main__":
    main()
