"""The long form of tests/test_faults.py: the same scenarios with the full numbers, and their figures.

SIGKILL at random (seeded) moments while 2,000 messages flow from a real Dovecot to a real aiosmtpd
sink; IMAP connections cut mid-FETCH and mid-IDLE by a loopback proxy; the relay down for a minute;
the database (a private PostgreSQL) stopped and started again, also while a reply is with the relay.
Each run prints the message-by-message count (lost, duplicate requests, duplicate replies) and the
command exits 1 if any of them is not 0.
Run: python -m bench.faults [--count 2000] [--kills 20] [--relay-down 60] [--db-down 20] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.pgserver import running_postgres
from tests.servers import running_dovecot, running_smtp_sink
from tests.test_faults import (
    Run,
    database_restart_run,
    imap_cut_run,
    relay_down_run,
    sending_during_outage_run,
    sigkill_run,
)


def _log(text: str) -> None:
    print(f"  {time.strftime('%H:%M:%S')} {text}", flush=True)


def _scenario(name: str, body: Callable[[Path], Run]) -> tuple[str, Run | None, str]:
    print(f"== {name}", flush=True)
    base = Path(tempfile.mkdtemp(prefix="coc-bench-faults-"))
    try:
        run = body(base)
    except AssertionError as exc:
        print(f"  FAILED: {str(exc)[:2000]}", flush=True)
        return name, None, str(exc).splitlines()[0]
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"  {run.outcome.line()} in {run.seconds:.0f} s; {run.notes}", flush=True)
    return name, run, ""


def main() -> int:  # noqa: C901  (one benchmark run: its steps in the order they happen)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=2000, help="messages in the SIGKILL run")
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rate", type=float, default=20.0, help="messages appended per second in the SIGKILL run")
    ap.add_argument("--max-gap", type=float, default=16.0, help="longest run between two kills, seconds")
    ap.add_argument("--cut-count", type=int, default=200)
    ap.add_argument("--cuts", type=int, default=5, help="mid-IDLE cuts")
    ap.add_argument("--relay-count", type=int, default=300)
    ap.add_argument("--relay-down", type=float, default=60.0, help="seconds the relay is down")
    ap.add_argument("--db-count", type=int, default=200)
    ap.add_argument("--db-down", type=float, default=20.0, help="seconds the database is down")
    ap.add_argument("--only", nargs="*", choices=["sigkill", "imap", "relay", "database", "inflight"])
    args = ap.parse_args()
    wanted = set(args.only or ["sigkill", "imap", "relay", "database", "inflight"])
    results = []
    with running_dovecot() as _probe:  # fail early when Dovecot is missing
        pass
    if "sigkill" in wanted:
        def sigkill(base: Path) -> Run:
            with running_dovecot() as dove, running_smtp_sink() as sink:
                return sigkill_run(base, dove, sink, count=args.count, kills=args.kills, seed=args.seed,
                                   per_second=args.rate, max_gap=args.max_gap, log=_log)
        results.append(_scenario(f"SIGKILL x{args.kills} during {args.count} messages", sigkill))
    if "imap" in wanted:
        def imap(base: Path) -> Run:
            with running_dovecot() as dove, running_smtp_sink() as sink:
                return imap_cut_run(base, dove, sink, count=args.cut_count, cuts=args.cuts, log=_log)
        results.append(_scenario(f"IMAP cut mid-FETCH and {args.cuts + 1}x mid-IDLE, {args.cut_count} messages",
                                 imap))
    if "relay" in wanted:
        def relay(base: Path) -> Run:
            with running_dovecot() as dove:
                return relay_down_run(base, dove, count=args.relay_count, down_seconds=args.relay_down, log=_log)
        results.append(_scenario(f"relay down {args.relay_down:g} s, {args.relay_count} messages", relay))
    if "database" in wanted:
        def database(base: Path) -> Run:
            with running_dovecot() as dove, running_smtp_sink() as sink, running_postgres() as pg:
                return database_restart_run(base, dove, sink, pg, count=args.db_count, down_seconds=args.db_down,
                                            log=_log)
        results.append(_scenario(f"PostgreSQL stopped {args.db_down:g} s, {args.db_count} messages", database))
    if "inflight" in wanted:
        def inflight(base: Path) -> Run:
            with running_dovecot() as dove, running_smtp_sink() as sink, running_postgres() as pg:
                return sending_during_outage_run(base, dove, sink, pg, log=_log)
        results.append(_scenario("PostgreSQL stopped while a reply is with the relay", inflight))
    print()
    print(f"{'fault':58s} {'msgs':>5s} {'lost':>5s} {'dup req':>8s} {'dup reply':>10s} {'no reply':>9s} "
          f"{'to staff':>9s} {'s':>6s}")
    bad = False
    for name, run, error in results:
        if run is None:
            bad = True
            print(f"{name:58s} FAILED: {error[:60]}")
            continue
        o = run.outcome
        bad = bad or not o.clean
        print(f"{name:58s} {o.messages:5d} {len(o.lost):5d} {len(o.duplicate_requests):8d} "
              f"{len(o.duplicate_replies):10d} {len(o.missing_replies):9d} {len(o.to_staff):9d} {run.seconds:6.0f}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
