"""Fixtures and helpers for the review page tests: a seeded store, staff accounts, Chromium.

Chromium is Debian's (`/usr/bin/chromium`), driven by Playwright for Python; no browser download.
axe-core comes from the npm registry (`scripts/setup` installs it under `.cache/axe`).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from intake.settings import Settings, load_settings
from intake.store import Incoming, Store
from intake.web.review import check, flat_values
from intake.web.users import Users
from tests.dnsstub import loopback_dns
from tests.results import submission_result
from tests.synth import make_request

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORDS = {"rita": "reviewer-pass-1", "sam": "supervisor-pass-1", "ada": "admin-pass-123"}
ROLES = {"rita": "reviewer", "sam": "supervisor", "ada": "admin"}


def web_settings(folder: Path, extra: str = "") -> Settings:
    config = folder / "web.toml"
    config.write_text(f"""
[store]
url = "sqlite:///{folder}/var/coc-intake.db"
[paths]
var = "{folder}/var"
[web]
login_delay_seconds = 60
{loopback_dns(extra)}
""", encoding="utf-8")
    return load_settings(config)


def add_staff(store: Store) -> None:
    users = Users(store)
    for name, role in ROLES.items():
        users.add(name, role, PASSWORDS[name])


def seed_request(store: Store, req: dict[str, Any], *, channel: str = "smtp", sender: str = "hr@acme.example.com",
                 raw: bytes | None = None, state: str | None = None, provenance: dict[str, Any] | None = None,
                 parts: list[dict[str, Any]] | None = None) -> int:
    """Store a submission with one request as the pipeline would have; returns the request id."""
    values = {k: v for k, v in flat_values(req).items() if v}
    request, problems = check(values)
    if raw is None:
        raw = (f"From: {sender}\r\nTo: certificate@localhost\r\nSubject: Certificate request\r\n"
               f"Message-ID: <{random.random()}@acme.example.com>\r\n\r\nPlease find the request.\r\n").encode()
    sub_id, _ = store.store_submission(Incoming(channel=channel, raw=raw, sender=sender,  # type: ignore[arg-type]
                                                received_at=datetime.now(UTC)))
    item = {"request": request.model_dump(mode="json"), "problems": [p.model_dump(mode="json") for p in problems],
            "confidence": {"worker.ssn": 0.95}, "provenance": provenance or {}}
    if state:
        item["state"] = state
    else:
        item["status"] = "needs_review" if problems else "valid"
    result = {"parts": parts or [{"name": "body", "media_type": "text/plain", "pages": 0,
                                  "text": "Please find the request."}]}
    recs = store.mark_extracted(sub_id, submission_result([item], result["parts"]))
    return recs[0].id


def read_stored(store: Store, settings: Settings, raw: bytes, *, channel: str, sender: str) -> int:
    """A submission stored and read by the pipeline's own extraction stage (Tesseract, the readers),
    so its fields, confidences, boxes and spans are what the readers made of it, never invented.
    Returns the id of its (first) request."""
    from intake.isolation import ExtractionPool
    from intake.pipeline import Context
    from intake.pipeline.extract import extract_stage

    sid, _ = store.store_submission(Incoming(channel=channel, raw=raw, sender=sender,  # type: ignore[arg-type]
                                             received_at=datetime.now(UTC)))
    extract_stage(Context(store, settings, ExtractionPool(1, timeout=300, memory_mb=0)), sid)
    return min(r.id for r in store.requests_of(sid))


def read_fax(store: Store, settings: Settings, tiff: bytes, sender: str) -> int:
    """A fax read as the pipeline reads it (`read_stored`)."""
    return read_stored(store, settings, tiff, channel="fax", sender=sender)


def valid_request(seed: int = 7, *, ssn: str | None = None, changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """A complete employee request to Germany; `ssn` and dotted-path `changes` applied over it."""
    req = make_request(random.Random(seed), kind="employee", country="DE")
    req["confirmation_email"] = "confirm@acme.example.com"
    if ssn:
        req["worker"]["ssn"] = ssn
    for path, value in (changes or {}).items():
        node = req
        keys = path.split(".")
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return req


@pytest.fixture
def web_store(tmp_path: Path) -> Iterator[tuple[Settings, Store]]:
    settings = web_settings(tmp_path)
    store = Store.from_settings(settings)
    store.upgrade()
    add_staff(store)
    try:
        yield settings, store
    finally:
        store.dispose()


def launch_chromium(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def run_axe(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the current page."""
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;window.__axe = axe;")
    result = page.evaluate("() => window.__axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")]
