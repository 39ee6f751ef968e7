"""Page times of the review page with many requests in the store: the queue and one request's page.

A SQLite store (or `--url` PostgreSQL) is filled with `--requests` requests (a third with problems,
one submission in ten a faxed page image), staff log in through the real app (FastAPI TestClient, in
process: no network in the figure), and each page is fetched `--rounds` times, alternating with the
baseline: the same pages over a store of 10 requests, measured in the same process and loop, so a
loaded machine slows both alike. Pages: the queue (and a search), a faxed and a mailed request as a
supervisor, the faxed one and its page image as a reviewer (masked, painted over). Printed, one
row per page: median and 95th percentile with 10 and with `--requests` requests, the ratio of the
two p95s, and whether the p95 is under the bar (issue 16: 0.5 s).

Run: python -m bench.web [--requests 500] [--rounds 40]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from http import HTTPStatus
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intake.store import Store
from tests import faxgen
from tests.browser import add_staff, seed_request, valid_request, web_settings
from tests.test_web import client_for, login

BAR_SECONDS = 0.5


def _fill(folder: Path, n: int) -> tuple[Any, Store, list[int]]:
    settings = web_settings(folder)
    store = Store.from_settings(settings)
    store.upgrade()
    add_staff(store)
    rng = random.Random(16)
    tiff = faxgen.tiff_bytes(faxgen.fax_request(valid_request(seed=1), random.Random(2), "fine"))
    ids = []
    for i in range(n):
        req = valid_request(seed=i, ssn="666-12-3456" if i % 3 == 0 else None)
        if i % 10 == 0:
            box = {"part": "fax", "page": 1, "method": "ocr", "box": {"x0": 0.1, "y0": 0.3, "x1": 0.5, "y1": 0.33}}
            number = f"+1208555{rng.randint(1000, 9999)}"
            ids.append(seed_request(store, req, channel="fax", sender=number, raw=tiff + b"%d" % i,
                                    state="needs_review", provenance={"worker.ssn": box},
                                    parts=[{"name": "fax", "media_type": "image/tiff", "pages": 1, "text": ""}]))
        else:
            ids.append(seed_request(store, req))
    return settings, store, ids


def _time(client: Any, url: str) -> float:
    start = time.perf_counter()
    r = client.get(url)
    took = time.perf_counter() - start
    assert r.status_code == HTTPStatus.OK, (url, r.status_code)
    return took


def _p95(xs: list[float]) -> float:
    return sorted(xs)[max(0, round(0.95 * len(xs)) - 1)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=40)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as big_dir, tempfile.TemporaryDirectory() as small_dir:
        t0 = time.perf_counter()
        big = _fill(Path(big_dir), args.requests)
        small = _fill(Path(small_dir), 10)
        print(f"stores filled in {time.perf_counter() - t0:.1f} s: {args.requests} and 10 requests")
        stores = {"big": big, "small": small}
        # A supervisor (full SSNs) and a reviewer (SSNs masked, the page image painted over).
        clients = {(k, who): login(client_for(s[0], s[1]), who) for k, s in stores.items() for who in ("sam", "rita")}
        # The request pages: a faxed one (page image beside the fields) and a mailed one with problems.
        pages = {k: {"queue": ("sam", "/"), "queue search": ("sam", "/?q=Smith"),
                     "fax request": ("sam", f"/requests/{s[2][0]}"), "mail request": ("sam", f"/requests/{s[2][3]}"),
                     "fax (reviewer)": ("rita", f"/requests/{s[2][0]}"),
                     "fax page image": ("rita", f"/requests/{s[2][0]}/parts/0/pages/1.png")}
                 for k, s in stores.items()}
        times: dict[tuple[str, str], list[float]] = {}
        for k in stores:  # warm up: templates compiled, the fax page rasterised once
            for who, url in pages[k].values():
                _time(clients[(k, who)], url)
        for _ in range(args.rounds):
            for k in ("small", "big"):
                for name, (who, url) in pages[k].items():
                    times.setdefault((k, name), []).append(_time(clients[(k, who)], url))
        n = args.requests
        print(f"\n{args.rounds} rounds; times per page fetch (ms), a store of 10 requests as the baseline\n")
        print(f"{'page':<16} {'median 10':>10} {'p95 10':>8} {'median ' + str(n):>11} {'p95 ' + str(n):>8} "
              f"{'p95 ratio':>10}  bar {BAR_SECONDS:.1f} s")
        worst = 0.0
        for name in pages["big"]:
            small_xs, big_xs = times[("small", name)], times[("big", name)]
            ratio = _p95(big_xs) / _p95(small_xs)
            worst = max(worst, _p95(big_xs))
            ok = "ok" if _p95(big_xs) < BAR_SECONDS else "MISSED"
            print(f"{name:<16} {statistics.median(small_xs) * 1000:>10.1f} {_p95(small_xs) * 1000:>8.1f} "
                  f"{statistics.median(big_xs) * 1000:>11.1f} {_p95(big_xs) * 1000:>8.1f} {ratio:>10.2f}  {ok}")
        verdict = "meets" if worst < BAR_SECONDS else "MISSES"
        print(f"\nworst p95 with {n} requests: {worst * 1000:.0f} ms: {verdict} the {BAR_SECONDS:.1f} s bar")
        for s in stores.values():
            s[1].dispose()


if __name__ == "__main__":
    main()
