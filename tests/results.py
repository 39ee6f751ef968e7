"""A test's extraction result written as JSON, made the typed `SubmissionResult` the store takes.

The store takes an extraction only as the extraction's own types (issue 13: no dict of any shape
crosses it). Tests that seed the store by hand write their requests as short JSON (a request's
fields, a status or state, problems with only a field and a code); these helpers validate that
JSON into the types, so a test that writes something the model cannot hold fails here, by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from intake.extract import RequestResult, SubmissionResult
from intake.store.records import problem_models


def request_result(item: Mapping[str, Any]) -> RequestResult:
    """One request: `request` (or `fields`), `status` (or `state`: `accepted` is valid), problems,
    confidence and provenance as JSON."""
    fields = item.get("request", item.get("fields")) or {}
    status = item.get("status") or ("valid" if item.get("state") == "accepted" else "needs_review")
    return RequestResult.model_validate({
        "request": fields, "status": status,
        "problems": [p.model_dump() for p in problem_models(item.get("problems"))],
        "confidence": dict(item.get("confidence") or {}), "provenance": dict(item.get("provenance") or {})})


def submission_result(requests: Sequence[Mapping[str, Any] | RequestResult] = (),
                      parts: Sequence[Mapping[str, Any]] = (), **rest: Any) -> SubmissionResult:
    """A whole extraction: its requests (JSON or typed) and its parts' summaries as JSON."""
    return SubmissionResult.model_validate({
        **rest, "parts": [dict(p) for p in parts],
        "requests": [r if isinstance(r, RequestResult) else request_result(r) for r in requests]})
