"""The online form's costs per request, against the staff page's `/healthz` in the same process.

What a person's typing costs the server (one `/request/check`: the review page's check of the whole
form), what sending costs (`/request`: check, store sealed, read and record before answering), and
a batch upload check per row; each as a ratio to `/healthz` (the app's fixed cost of one request),
measured in the same run, so a loaded machine shifts both alike. SQLite store in a temporary folder.
Run: python -m bench.online [--n 100]
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient

from intake.online_fields import field_paths
from intake.store import Store
from intake.web.app import create_app
from tests.browser import web_settings
from tests.synth import flat, make_request


def values(seed: int) -> dict[str, str]:
    allowed = set(field_paths("employee"))
    return {k: v for k, v in flat(make_request(random.Random(seed), kind="employee", country="DE")).items()
            if k in allowed}


def timed(fn, n: int) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - started) / n


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = web_settings(Path(folder), "[online]\nsubmissions_per_hour = 100000\nchecks_per_hour = 100000\n")
        store = Store.from_settings(settings)
        store.upgrade()
        client = TestClient(create_app(settings, store))
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/request?type=employee").text)
        assert token
        csrf = token.group(1)
        forms = [values(i) for i in range(args.n)]
        health = timed(lambda i: client.get("/healthz"), args.n)
        check = timed(lambda i: client.post("/request/check", data={"csrf_token": csrf, "request_type": "employee",
                                                                     **forms[i]}), args.n)
        send = timed(lambda i: client.post("/request", data={"csrf_token": csrf, "request_type": "employee",
                                                             **forms[i]}), args.n)
        out = io.StringIO()
        columns = [p for p in field_paths("employee") if not p.startswith(("employer.", "request_type"))]
        writer = csv.writer(out)
        writer.writerow(columns)
        for i in range(50):
            writer.writerow([values(1000 + i).get(c, "") for c in columns])
        employer = {k: v for k, v in forms[0].items() if k.startswith("employer.")}
        batch = timed(lambda i: client.post("/request/batch/check", data={"csrf_token": csrf, **employer},
                                            files={"file": ("w.csv", out.getvalue().encode(), "text/csv")}),
                      max(1, args.n // 20)) / 50
        store.dispose()
    print(f"/healthz (baseline)          {health * 1000:7.2f} ms")
    print(f"/request/check (as typed)     {check * 1000:7.2f} ms  = {check / health:5.1f} x baseline")
    print(f"/request (send, stored)       {send * 1000:7.2f} ms  = {send / health:5.1f} x baseline")
    print(f"/request/batch/check per row  {batch * 1000:7.2f} ms  = {batch / health:5.1f} x baseline")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
