"""What the online form and its batch page both check a post by: the honeypot field and which
problems stop a submission (the rest go to staff with the request)."""

from __future__ import annotations

from collections import defaultdict

from intake.model import Problem
from intake.web.review import ADVISORY_CODES

HONEYPOT = "website"  # a field people never see; bots fill in anything called so


def blocking(problems: list[Problem]) -> list[Problem]:
    """Problems that stop a submission: what a person must fix. Advisory ones (a long period, a
    start in the past) go to staff with the request instead."""
    return [p for p in problems if p.code not in ADVISORY_CODES]


def by_field(problems: list[Problem]) -> dict[str, list[Problem]]:
    out: dict[str, list[Problem]] = defaultdict(list)
    for p in problems:
        out[p.field or ""].append(p)
    return out
