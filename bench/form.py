"""Our own form against a free letter: accuracy and seconds per page on the same faxed requests.

Each generated request is faxed twice: on our form (typed in capitals into its boxes,
`tests.formgen.corpus_case`) and as a free letter (`tests.faxgen.fax_request`), both at normal and
fine resolution alternately, with speckle, skew and a fax header. Both go through
`extract_submission`; the table shows the share of fields read right (flagged or not), right and
unflagged, wrong without a flag, missing, and the reading time per page.
Run: python -m bench.form [--n 40]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intake.extract import extract_submission
from tests import formgen
from tests.faxgen import fax_request, tiff_bytes
from tests.synth import flat

TODAY = date(2026, 11, 25)


def _score(truth: dict[str, str], data: bytes, name: str) -> tuple[dict[str, int], float]:
    t0 = time.perf_counter()
    result = extract_submission(data, channel="fax", filename=name, today=TODAY)
    seconds = time.perf_counter() - t0
    if not result.requests:
        return {"fields": len(truth), "missing": len(truth)}, seconds
    best: dict[str, int] | None = None
    for req in result.requests:  # a letter may split into more than one; take the best match
        s = formgen.score(truth, req)
        if best is None or s["right"] > best["right"]:
            best = s
    assert best is not None
    return best, seconds


def _add(total: dict[str, float], s: dict[str, int]) -> None:
    for k, v in s.items():
        total[k] = total.get(k, 0) + v


def _row(name: str, total: dict[str, float], pages: int, seconds: float) -> str:
    f = total.get("fields", 0) or 1
    right, unflagged = total.get("right", 0) / f, total.get("right_unflagged", 0) / f
    wrong, missing = int(total.get("wrong_unflagged", 0)), int(total.get("missing", 0))
    per_page = seconds / max(1, pages)
    return f"{name:<12} {int(f):>7} {right:>8.2%} {unflagged:>10.2%} {wrong:>9} {missing:>8} {per_page:>8.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=40, help="requests (default 40)")
    args = parser.parse_args(argv)
    formgen.warm_templates()
    form: dict[str, float] = {}
    letter: dict[str, float] = {}
    form_pages = letter_pages = 0
    form_s = letter_s = 0.0
    for i in range(args.n):
        req, pages, _font, resolution = formgen.corpus_case(i)
        truth = formgen.expected(req)
        s, sec = _score(truth, tiff_bytes(pages), f"form{i}.tif")
        _add(form, s)
        form_pages += len(pages)
        form_s += sec
        letter_truth: dict[str, Any] = flat(req)
        lpages = fax_request(req, random.Random(i), resolution)  # type: ignore[arg-type]
        s, sec = _score(letter_truth, tiff_bytes(lpages), f"letter{i}.tif")
        _add(letter, s)
        letter_pages += len(lpages)
        letter_s += sec
    print(f"{args.n} requests, each faxed as our form and as a free letter (normal and fine alternately)")
    print(f"{'input':<12} {'fields':>7} {'right':>8} {'unflagged':>10} {'wrong!':>9} {'missing':>8} {'s/page':>8}")
    print(_row("our form", form, form_pages, form_s))
    print(_row("free letter", letter, letter_pages, letter_s))
    print("right: value correct (flagged or not); unflagged: correct and not sent to staff; "
          "wrong!: wrong and not flagged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
