"""Prometheus metrics for `/metrics`: counters the pipeline increments, gauges read from the store.

Two kinds, on purpose:

* Events this process saw (extraction time per parser, OCR pages, replies sent and failed) are
  counters and a histogram in `REGISTRY`. The extraction itself runs in child processes, so they are
  counted in the parent from what the child hands back (`parts[].media_type`, `parts[].pages`), not
  with prometheus_client's multiprocess mode. They start at zero when the process starts (Prometheus
  handles counter resets) and are only seen by the web page of the same process (`coc-intake run`).
* The state of the work (submissions by channel and state, queue depths, age of the oldest waiting
  item) is read from the store at scrape time, so it is right whichever process or machine did the
  work, and also under `coc-intake serve`.

No label ever holds personal data: channels, states, media types and outcomes only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from parsers.sniff import SPREADSHEET_TYPES

if TYPE_CHECKING:
    from intake.store import Store

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REGISTRY = CollectorRegistry(auto_describe=True)

_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600)
EXTRACTION_SECONDS = Histogram(
    "coc_intake_extraction_seconds",
    "Time one parser took on one part, by parser (the part's media type)",
    ["parser"],
    buckets=_BUCKETS,
    registry=REGISTRY,
)
SUBMISSION_SECONDS = Histogram(
    "coc_intake_submission_extraction_seconds",
    "Wall time of one submission's extraction in its child process (start-up and merging included)",
    buckets=_BUCKETS,
    registry=REGISTRY,
)
EXTRACTIONS = Counter(
    "coc_intake_extractions_total",
    "Submissions extracted by this process, by outcome (ok, needs_review, failed)",
    ["outcome"],
    registry=REGISTRY,
)
OCR_PAGES = Counter(
    "coc_intake_ocr_pages_total",
    "Pages of scanned parts (fax and image files) read by OCR in this process",
    registry=REGISTRY,
)
REPLIES = Counter(
    "coc_intake_replies_total",
    "Reply delivery attempts by this process, by outcome (sent, failed_temporary, failed_permanent)",
    ["outcome"],
    registry=REGISTRY,
)

# Media types whose pages go through Tesseract (a scanned PDF page does too, but the summary
# handed back by the child does not say which PDF pages were scanned).
_OCR_PREFIXES = ("image/",)
_KNOWN_TYPES = frozenset(
    {
        "application/pdf",
        "image/tiff",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/bmp",
        "text/plain",
        "text/html",
        "text/csv",
        "message/rfc822",
    }
)
_WAITING_SUBMISSIONS = ("received",)
_WAITING_REQUESTS = ("needs_review", "corrected")
_WAITING_REPLIES = ("queued", "sending", "failed")


def parser_label(media_type: str) -> str:
    """The media types our parsers read, as they are; anything else one label.

    A mail's parts carry whatever Content-Type the sender wrote: unbounded label values would let
    any sender grow the metrics without end.
    """
    media = media_type.lower()
    if media in _KNOWN_TYPES or media_type in SPREADSHEET_TYPES or media in SPREADSHEET_TYPES:
        return media_type if media_type in SPREADSHEET_TYPES else media
    return "other"


def observe_extraction(result: Any, seconds: float) -> None:
    """Record one extraction the pipeline ran (`result` is the `SubmissionResult`, None on failure)."""
    try:
        SUBMISSION_SECONDS.observe(seconds)
        if result is None:
            EXTRACTIONS.labels(outcome="failed").inc()
            return
        for part in result.parts:
            EXTRACTION_SECONDS.labels(parser=parser_label(str(part.media_type))).observe(float(part.seconds or 0.0))
        EXTRACTIONS.labels(outcome="ok" if result.ok else "needs_review").inc()
        pages = sum(int(p.pages or 0) for p in result.parts if str(p.media_type).startswith(_OCR_PREFIXES))
        if pages:
            OCR_PAGES.inc(pages)
    except Exception as exc:  # noqa: BLE001  (metrics must never stop the pipeline)
        log.debug("metrics: %s", type(exc).__name__)


def count_reply(delivery: Any) -> None:
    """Record one delivery attempt of the outbox (`intake.outbox.Delivery`; None: not ours to send)."""
    if delivery is None:
        return
    outcome = "sent" if delivery.ok else ("failed_permanent" if delivery.permanent else "failed_temporary")
    REPLIES.labels(outcome=outcome).inc()


class StoreCollector(Collector):
    """Gauges computed from the store when Prometheus scrapes."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        subs = GaugeMetricFamily(
            "coc_intake_submissions", "Submissions in the store by channel and state", labels=["channel", "state"]
        )
        for (channel, state), n in sorted(self.store.counts_by_channel_state().items()):
            subs.add_metric([channel, state], n)
        yield subs
        counts = self.store.counts_by_state()
        for table, help_text in (
            ("requests", "Requests in the store by state"),
            ("replies", "Replies in the outbox by state"),
        ):
            family = GaugeMetricFamily(f"coc_intake_{table}", help_text, labels=["state"])
            for state, n in sorted(counts.get(table, {}).items()):
                family.add_metric([state], n)
            yield family
        depth = GaugeMetricFamily(
            "coc_intake_queue_depth",
            "Items waiting: submissions to extract, requests for staff, replies to send",
            labels=["queue"],
        )
        depth.add_metric(["extract"], sum(counts["submissions"].get(s, 0) for s in _WAITING_SUBMISSIONS))
        depth.add_metric(["review"], sum(counts["requests"].get(s, 0) for s in _WAITING_REQUESTS))
        depth.add_metric(["outbox"], sum(counts["replies"].get(s, 0) for s in _WAITING_REPLIES))
        yield depth
        age = GaugeMetricFamily(
            "coc_intake_oldest_waiting_seconds",
            "Age of the oldest unfinished submission, request awaiting staff, and unsent reply (0: none)",
            labels=["what"],
        )
        now = datetime.now(UTC)
        ages = dict.fromkeys(("submission", "request", "reply"), 0.0)
        for item in self.store.oldest_waiting():
            since = item.since if item.since.tzinfo else item.since.replace(tzinfo=UTC)
            ages[item.what] = max(0.0, (now - since).total_seconds())
        for what, seconds in ages.items():
            age.add_metric([what], seconds)
        yield age


def render(store: Store | None) -> bytes:
    """The text exposition of this process's counters and, with a store, the store's gauges."""
    out = generate_latest(REGISTRY)
    if store is not None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(StoreCollector(store))
        out += generate_latest(registry)
    return out
