"""Extraction speed of this tree against an earlier commit's, on the same documents, per format.

Issue 12's bar is that reading more kinds of writing costs at most 10% more time per mail and per
page than the extractor did before that work began. Two versions of the same modules cannot share
one process, so each round runs one child per tree, in turn (A B A B ...), on the same stored
documents; a child times only the extraction (CPU time of the process and its Tesseract children,
and wall time), after one warm-up document, so imports and the machine's drift between rounds do
not count. The ratio of this tree to the baseline is taken round by round and its median printed.

With --gc-between, the cyclic garbage collector runs between documents, untimed, and not during
one: a full collection scans every object alive (modules, caches: some 30 ms here) and lands in
whichever document's allocations cross the threshold, so one format of one tree can carry a pause
the other tree's run gave to another format. The default keeps the pauses where they fall.

Run: python -m bench.versus [--base REV] [--rounds N] [--faxes N] [--gc-between]
(default base: the parent of the commit that added the held-out corpus, where issue 12 began).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BASE = "1cfbe05^"  # the commit before `tests/heldout` was added
TEXT_KINDS = ("mail", "text", "prose", "pdf_text", "sheet", "pdf_form")


def _child(index_path: str, gc_between: bool = False) -> None:
    """In the child: extract every document once, print its format's CPU and wall seconds as JSON."""
    os.environ["COC_INTAKE_OCR_THREADS"] = "1"
    from intake.extract import extract_submission  # noqa: PLC0415 - the tree on PYTHONPATH, not ours

    docs = json.loads(Path(index_path).read_text())

    def run(d: dict[str, str]) -> None:
        channel = "email" if d["name"].endswith(".eml") else "file"
        extract_submission(Path(d["path"]).read_bytes(), channel=channel, filename=d["name"],
                           today=date(2026, 11, 25))

    run(docs[0])  # warm-up: lazy imports, caches
    out: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for d in docs:
        if gc_between:
            gc.collect()
            gc.disable()
        c0 = time.process_time()
        k0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        w0 = time.perf_counter()
        run(d)
        w1 = time.perf_counter()
        c1 = time.process_time()
        k1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        gc.enable()
        # The process's own CPU from its clock (nanoseconds): `getrusage(RUSAGE_SELF)` moves in
        # scheduler ticks of 4 ms here, as long as a whole plain-text mail takes, so its ratios
        # were noise. Tesseract's children are only known through `getrusage`.
        cpu = c1 - c0 + k1.ru_utime + k1.ru_stime - k0.ru_utime - k0.ru_stime
        acc = out[d["fmt"]]
        acc[0] += cpu
        acc[1] += w1 - w0
        acc[2] += float(d["pages"])
    print(json.dumps(out))


def _write_corpus(folder: Path, faxes: int) -> Path:
    from tests.corpus import corpus  # noqa: PLC0415 - only the parent writes documents

    docs = corpus(mails=8, letters=8, forms=6, faxes=faxes, sheets=2, rows=50, prose=4, html_mails=4, texts=4,
                  scans=2)
    index = []
    for i, d in enumerate(docs):
        path = folder / f"{i:03d}-{d.name}"
        path.write_bytes(d.data)
        index.append({"path": str(path), "name": d.name, "fmt": d.fmt, "pages": d.pages})
    index_path = folder / "index.json"
    index_path.write_text(json.dumps(index))
    return index_path


def _run_tree(tree: Path, index_path: Path, gc_between: bool = False) -> dict[str, list[float]]:
    # run as a script: its own folder, not this tree's root, goes on sys.path, so `intake` is `tree`'s
    env = dict(os.environ, PYTHONPATH=str(tree), OMP_THREAD_LIMIT="1")
    flags = ["--gc-between"] if gc_between else []
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(index_path), *flags],
                          env=env, cwd=tree, capture_output=True, text=True, check=True)
    result: dict[str, list[float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _baseline_tree(rev: str, folder: Path) -> Path:
    tree = folder / "base"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), rev], check=True)
    for name in ("config", "templates"):  # the package reads them next to its modules
        link = tree / "intake" / name
        if not link.exists() and (tree / name).exists():
            link.symlink_to(Path("..") / name)
    return tree


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default=DEFAULT_BASE)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--faxes", type=int, default=6)
    ap.add_argument("--gc-between", action="store_true",
                    help="collect garbage between documents, untimed (see the module's docstring)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child, args.gc_between)
        return
    sys.path.insert(0, str(ROOT))
    folder = Path(tempfile.mkdtemp(prefix="coc-versus-"))
    try:
        index_path = _write_corpus(folder, args.faxes)
        base = _baseline_tree(args.base, folder)
        ratios: dict[str, list[float]] = defaultdict(list)
        wall_ratios: dict[str, list[float]] = defaultdict(list)
        last: dict[str, tuple[list[float], list[float]]] = {}
        for _ in range(args.rounds):
            old = _run_tree(base, index_path, args.gc_between)
            new = _run_tree(ROOT, index_path, args.gc_between)
            groups = {"text formats": [k for k in TEXT_KINDS if k in new], "fax": ["fax"]}
            for label, kinds in [*groups.items(), *((k, [k]) for k in sorted(new))]:
                o = [sum(old[k][i] for k in kinds if k in old) for i in range(3)]
                n = [sum(new[k][i] for k in kinds if k in new) for i in range(3)]
                if o[0] > 0 and n[0] > 0:
                    ratios[label].append(n[0] / o[0])
                    wall_ratios[label].append(n[1] / o[1])
                    last[label] = (o, n)
        print(f"this tree against {args.base}, {args.rounds} rounds, same documents"
              f"{', garbage collected between documents' if args.gc_between else ''}; CPU ms per page "
              f"(process and its Tesseract), last round; ratios are medians over rounds")
        print(f"{'format':14s} {'pages':>6s} {'base ms':>9s} {'this ms':>9s} {'CPU ratio':>10s} {'wall ratio':>11s}")
        for label, rs in ratios.items():
            o, n = last[label]
            print(f"{label:14s} {int(n[2]):6d} {1000 * o[0] / o[2]:9.1f} {1000 * n[0] / n[2]:9.1f} "
                  f"{statistics.median(rs):10.2f} {statistics.median(wall_ratios[label]):11.2f}")
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder / "base")],
                       check=False, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
