"""Accuracy on the held-out corpus (tests/heldout): requests no one here wrote, read by the real
extractor, compared with their truth field by field.

Generates N requests per format with a fixed seed into a temporary folder, runs
`coc-intake extract --json` on them (the extraction pool: one file per core, each in a process of its
own, as the daemon reads them) and prints, per format and for seen (may-teach) and unseen
(tests-only) label phrasings apart, the fields right / wrong-but-flagged / wrong-and-silent /
missing; then the worst field-and-format pairs with a few (SSN-masked) examples.
Run: python -m bench.heldout [--n 24] [--faxes 40] [--forms 12] [--seed 12] [--examples 3] [--keep DIR]
     [--formats mail,fax,...] [--variants] [--quick]

Faxes are OCR'd (seconds a page), yet a figure on 3 faxed letters a half says nothing: by default 40
faxed letters (20 with seen labels, 20 unseen: every layout, font, resolution and container) and 12 of
each form format are read, some minutes on two cores; `--quick` reads 6 and 6 for a first look.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.heldout.corpus import FORMATS, Entry, generate
from tests.heldout.score import OUTCOMES, FieldResult, mask, score_file, tally

SLOW = {"fax", "form-fax", "form-print"}  # OCR: seconds per page


def extract(folder: Path, names: list[str]) -> dict[str, dict[str, Any]]:
    """`coc-intake extract --json` on the files: file name -> its JSON line."""
    cmd = [sys.executable, "-m", "intake.cli", "extract", "--json", "--no-progress", *names]
    proc = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, check=False,
                          env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1])))
    if proc.returncode not in (0, 1, 2, 3) or not proc.stdout.strip():
        raise SystemExit(f"coc-intake extract failed ({proc.returncode}): {proc.stderr[-2000:]}")
    out = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            d = json.loads(line)
            out[Path(d["file"]).name] = d
    return out


Results = dict[str, list[FieldResult]]


def run(counts: dict[str, int], seed: int, keep: Path | None = None) -> tuple[list[Entry], Results]:
    """Generate, extract and score; file name -> its field results."""
    with tempfile.TemporaryDirectory(prefix="heldout-") as tmp:
        folder = keep or Path(tmp)
        entries = generate(folder, counts, seed)
        found = extract(folder, [e.file for e in entries])
        if keep:  # what was read, beside the truth, for a closer look
            (keep / "extracted.jsonl").write_text("".join(json.dumps(found[n]) + "\n" for n in sorted(found)), "utf-8")
    results = {e.file: score_file(e.truth, found.get(e.file, {}).get("requests", [])) for e in entries}
    return entries, results


def _row(name: str, c: Counter[str], files: int, width: int = 22) -> str:
    total = sum(c.values()) or 1
    cells = "".join(f" {c[o]:5d} {100 * c[o] / total:6.1f}%" for o in OUTCOMES)
    return f"{name[:width]:{width}s} {files:5d} {sum(c.values()):6d}{cells}"


def variants(entries: list[Entry], results: Results) -> str:
    """One row per format and variant (layout, font, resolution, filler and case...)."""
    groups: dict[tuple[str, str], list[Entry]] = defaultdict(list)
    for e in entries:
        groups[(e.fmt, e.variant.split("/")[0] if e.fmt == "letter" else e.variant)].append(e)
    lines = ["\nper variant:"]
    for (fmt, variant), es in sorted(groups.items(), key=lambda kv: (FORMATS.index(kv[0][0]), kv[0][1])):
        lines.append(_row(f"{fmt} {variant}", tally([r for e in es for r in results[e.file]]), len(es), 40))
    return "\n".join(lines)


def report(entries: list[Entry], results: dict[str, list[FieldResult]], examples: int = 3) -> str:  # noqa: C901  (one report: a row per format, then per field, then examples)
    lines = [f"{'format / labels':22s} {'files':>5s} {'fields':>6s}" +
             "".join(f" {o:>13s}" for o in ("right", "wrong-flagged", "wrong-silent", "missing"))]
    groups: dict[tuple[str, str], list[Entry]] = defaultdict(list)
    for e in entries:
        groups[(e.fmt, e.labels)].append(e)
    for fmt in FORMATS:
        for labels in ("seen", "unseen", "none"):
            es = groups.get((fmt, labels))
            if es:
                c = tally([r for e in es for r in results[e.file]])
                lines.append(_row(f"{fmt} ({labels})" if labels != "none" else fmt, c, len(es)))
    lines.append(_row("all", tally([r for rs in results.values() for r in rs]), len(entries)))
    no_request = [e.file for e in entries if all(r.outcome == "missing" for r in results[e.file])]
    lines.append(f"files with no request read: {len(no_request)} {' '.join(no_request[:8])}")
    # The worst field/format pairs: wrong or missing, silent first.
    bad: dict[tuple[str, str], list[tuple[Entry, FieldResult]]] = defaultdict(list)
    for e in entries:
        for r in results[e.file]:
            if r.outcome != "right":
                bad[(e.fmt, r.path)].append((e, r))
    by_field: dict[str, list[FieldResult]] = defaultdict(list)
    for rs in results.values():
        for r in rs:
            by_field[r.path].append(r)
    lines.append("\nper field, all formats (fields = requests that have it):")
    for path, rs in sorted(by_field.items(), key=lambda kv: sum(r.outcome == "right" for r in kv[1]) / len(kv[1])):
        lines.append(_row(path, tally(rs), len(rs), 34))
    lines.append("\nworst field/format pairs (wrong-silent, wrong-flagged, missing of n requests):")
    ranked = sorted(bad.items(), key=lambda kv: (-sum(r.outcome == "silent" for _, r in kv[1]), -len(kv[1])))
    per_fmt = Counter(e.fmt for e in entries for _ in e.truth)
    for (fmt, path), fails in ranked[:25]:
        c = Counter(r.outcome for _, r in fails)
        lines.append(f"  {fmt:10s} {path:34s} silent {c['silent']:3d}  flagged {c['flagged']:3d}  "
                     f"missing {c['missing']:3d}  of {per_fmt[fmt]}")
        order = ("silent", "flagged", "missing")
        for e, r in sorted(fails, key=lambda f: order.index(f[1].outcome))[:examples]:
            lines.append(f"      {e.file} [{e.variant}, {e.labels}] {r.outcome}: "
                         f"want {mask(r.want)!r} got {mask(r.got)!r}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=24, help="requests per text/PDF format (half seen, half unseen)")
    ap.add_argument("--faxes", type=int, default=40, help="faxed letters (half seen, half unseen labels)")
    ap.add_argument("--forms", type=int, default=12, help="requests per form format (pdf, print, fax)")
    ap.add_argument("--quick", action="store_true", help="6 faxed letters and 6 forms a format: a first look")
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--examples", type=int, default=3, help="examples per failing field/format pair")
    ap.add_argument("--keep", type=Path, help="write the corpus here and keep it")
    ap.add_argument("--variants", action="store_true", help="also a row per layout / font / resolution / case")
    ap.add_argument("--formats", default=",".join(FORMATS), help="comma-separated subset of " + ",".join(FORMATS))
    args = ap.parse_args()
    wanted = set(args.formats.split(","))
    if args.quick:
        args.faxes, args.forms = min(args.faxes, 6), min(args.forms, 6)
    counts = {f: (args.faxes if f == "fax" else args.forms if f.startswith("form") else
                  max(2, args.n // 2) if f in ("sheet", "several", "self", "forward") else args.n)
              for f in FORMATS if f in wanted}
    entries, results = run(counts, args.seed, args.keep)
    print(report(entries, results, args.examples))
    if args.variants:
        print(variants(entries, results))


if __name__ == "__main__":
    main()
