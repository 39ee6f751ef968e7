"""The long fuzzing run: thousands of damaged documents and mails through the extraction stage.

Each case is a mutation (`tests/fuzzcorpus.py`: flipped bytes, cuts, repeated chunks, extreme
numbers, splices) of a valid letter PDF, form PDF, faxed TIFF or XLSX, sent either as a file (the
fax channel) or attached to a generated mail that is then damaged too. Every case goes through
`extract_submission` in this process; every `--pool-every`-th also through the `ExtractionPool` the
daemon uses, where a crash, a timeout or a memory error must come back as a reason for staff.

Prints: cases tried, exceptions escaping `extract_submission` (must be 0: the exit status is 1
otherwise), pool runs and the child crashes/timeouts among them (each one a reason, so stored and
routed), inputs routed to staff, inputs read as valid requests, cases per second.

Run: python -m bench.fuzz [--cases 3000] [--seed 0] [--pool-every 25] [--save DIR] [--hypothesis 2000]
(`--hypothesis N` also runs the property tests of tests/test_fuzz.py with N random examples each.)
Replay one case: python -m bench.fuzz --seed S --start N --cases 1 --verbose
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import resource
import subprocess
import sys
import time
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intake.extract import extract_submission
from intake.isolation import ExtractionPool
from parsers.types import Limits
from tests import mailgen
from tests.fuzzcorpus import Case, case, mutate

HALF = 0.5  # half the mails carry a mutated attachment, half a mutated body


@dataclass(frozen=True)
class Input:
    label: str
    channel: str
    filename: str | None
    data: bytes


def make_input(number: int, seed: int, mail_share: float) -> Input:
    """Case `number`: a damaged file, or (a `mail_share` of the time) a mail carrying it, damaged again."""
    c: Case = case(number, seed=seed)
    rng = random.Random(f"{seed}:{number}:mail")
    label = f"#{number} {c.seed} {c.mutation}"
    if rng.random() >= mail_share:
        return Input(label, "fax", c.filename, c.data)
    raw = mailgen.gmail(sender="hr@example.com", to="coc@example.gov", subject=f"Request {number}",
                        text="Please find the request attached.",
                        attachments=[(c.filename, c.data, "application/octet-stream")])
    if rng.random() < HALF:
        mutation, raw = mutate(raw, rng)
        label += f" / mail {mutation}"
    else:
        label += " / mail"
    return Input(label, "email", None, raw)


def main(argv: list[str] | None = None) -> int:  # noqa: C901, PLR0912, PLR0915  (one benchmark run: its steps in the order they happen)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--start", type=int, default=0, help="first case number (to replay one)")
    ap.add_argument("--pool-every", type=int, default=25, help="every Nth case also through the pool (0: never)")
    ap.add_argument("--mail-share", type=float, default=0.3)
    ap.add_argument("--timeout", type=float, default=60.0, help="pool: seconds per document")
    ap.add_argument("--memory-mb", type=int, default=1024, help="pool: address-space limit per child")
    ap.add_argument("--ocr-seconds", type=float, default=10.0, help="Limits.ocr_seconds_per_page")
    ap.add_argument("--memory-limit-mb", type=int, default=4096,
                    help="address-space limit of this process, so an in-process bomb fails here, not the machine")
    ap.add_argument("--save", type=Path, help="write every input that escaped or crashed here")
    ap.add_argument("--hypothesis", type=int, default=0,
                    help="also run the property tests of tests/test_fuzz.py with this many examples each")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)

    logging.basicConfig(level=logging.ERROR if not args.verbose else logging.WARNING)
    for noisy in ("pypdf", "pdfminer", "PIL", "openpyxl"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    warnings.simplefilter("ignore")
    if args.memory_limit_mb > 0:
        cap = args.memory_limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    limits = Limits(ocr_seconds_per_page=args.ocr_seconds)
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    pool = ExtractionPool(1, timeout=args.timeout, memory_mb=args.memory_mb) if args.pool_every else None

    counts: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    problem_codes: Counter[str] = Counter()
    escaped: list[str] = []
    hungry: list[str] = []  # cases that needed far more memory than any before (candidate bombs)
    slowest = (0.0, "")
    start = time.perf_counter()
    for number in range(args.start, args.start + args.cases):
        item = make_input(number, args.seed, args.mail_share)
        counts["tried"] += 1
        t0 = time.perf_counter()
        try:
            result = extract_submission(item.data, channel=item.channel, filename=item.filename, limits=limits)
        except Exception as exc:  # noqa: BLE001  (the one thing that must never happen: counted)
            counts["escaped"] += 1
            escaped.append(f"{item.label}: {type(exc).__name__}")
            if args.verbose:
                traceback.print_exc()
            _save(args.save, "escaped", number, item)
            continue
        elapsed = time.perf_counter() - t0
        slowest = max(slowest, (elapsed, item.label))
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if rss > peak_rss + 256 * 1024:  # KiB: this case took 256 MiB more than any before it
            hungry.append(f"{item.label}: peak {rss // 1024} MiB")
            _save(args.save, "memory", number, item)
        peak_rss = max(peak_rss, rss)
        if any("more memory" in p.message for p in result.problems):
            counts["memory errors"] += 1
            hungry.append(f"{item.label}: MemoryError under the {args.memory_limit_mb} MiB limit")
            _save(args.save, "memory", number, item)
        if not (result.requests or result.problems):
            counts["silent"] += 1  # neither a request nor a reason: would vanish from every queue
            escaped.append(f"{item.label}: no request and no problem")
        counts["routed" if not result.ok else "valid"] += 1
        counts["with requests"] += bool(result.requests)
        problem_codes.update({p.code for p in result.problems})
        if args.verbose:
            print(f"{item.label}: {len(result.requests)} requests, {[p.code for p in result.problems]}, "
                  f"{elapsed:.2f}s")
        if pool is not None and number % args.pool_every == 0:
            counts["pool runs"] += 1
            outcome = pool.extract(item.data, channel=item.channel, filename=item.filename, limits=limits)
            if outcome.result is None:
                counts["pool crashes/timeouts"] += 1
                reasons[(outcome.reason or "?").split(" (")[0][:60]] += 1
                _save(args.save, "pool", number, item)
    seconds = time.perf_counter() - start

    print(f"fuzz run: seed {args.seed}, cases {args.start}..{args.start + args.cases - 1}")
    print(f"  cases tried                         {counts['tried']:>7}")
    print(f"  exceptions escaping extract          {counts['escaped']:>7}   (must be 0)")
    print(f"  ended with neither request nor problem {counts['silent']:>5}   (must be 0)")
    print(f"  routed to staff (problem or review)  {counts['routed']:>7}")
    print(f"  read as valid requests               {counts['valid']:>7}")
    print(f"  pool runs                            {counts['pool runs']:>7}")
    print(f"  pool child crashes/timeouts          {counts['pool crashes/timeouts']:>7}   (each stored and routed "
          "with its reason)")
    for reason, n in reasons.most_common():
        print(f"    {n:>5}  {reason}")
    print(f"  in-process memory errors             {counts['memory errors']:>7}   (routed as too_large)")
    print(f"  peak memory of this process          {peak_rss // 1024:>7} MiB")
    for line in hungry[:20]:
        print(f"  m {line}")
    print(f"  cases per second                     {counts['tried'] / seconds:>7.1f}   ({seconds:.0f} s)")
    print(f"  slowest case                         {slowest[0]:>7.2f} s  {slowest[1]}")
    print("  problem codes: " + ", ".join(f"{c} {n}" for c, n in problem_codes.most_common(12)))
    for line in escaped[:20]:
        print(f"  ! {line}")
    failed = bool(counts["escaped"] or counts["silent"])
    if args.hypothesis:
        failed |= _properties(args.hypothesis)
    return 1 if failed else 0


def _properties(examples: int) -> bool:
    """The hypothesis properties with `examples` random examples each; True when one failed."""
    env = {**os.environ, "COC_FUZZ_EXAMPLES": str(examples)}
    root = Path(__file__).resolve().parents[1]
    t0 = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "pytest", "tests/test_fuzz.py", "-q", "-p", "no:cacheprovider",
                          "-k", "random or headers or encodings or labelled", "-W", "ignore"],
                         cwd=root, env=env, capture_output=True, text=True, check=False)
    summary = (run.stdout.strip().splitlines() or ["?"])[-1]
    print(f"  property tests, {examples} examples each: {summary} ({time.perf_counter() - t0:.0f} s)")
    if run.returncode:
        print(run.stdout[-4000:])
    return run.returncode != 0


def _save(folder: Path | None, kind: str, number: int, item: Input) -> None:
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".eml" if item.channel == "email" else Path(item.filename or "x.bin").suffix or ".bin"
    (folder / f"{kind}-{number}{suffix}").write_bytes(item.data)


if __name__ == "__main__":
    raise SystemExit(main())
