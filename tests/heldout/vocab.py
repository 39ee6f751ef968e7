"""The held-out label phrasings (`phrasings.toml`): both halves, per field, and a pick of one.

A request is written either wholly with *seen* labels (the `may_teach` half, which the parsers may
learn) or wholly with *unseen* ones (`tests_only`, which they must never contain), so the benchmark
can report the two figures apart.
"""

from __future__ import annotations

import random
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

PHRASINGS_FILE = Path(__file__).with_name("phrasings.toml")
Half = Literal["may_teach", "tests_only"]
HALVES: tuple[Half, Half] = ("may_teach", "tests_only")


@dataclass(frozen=True)
class Phrasings:
    """field -> half -> phrasings, for the reference table and this corpus's own together."""

    by_field: dict[str, dict[str, tuple[str, ...]]]
    reference: dict[str, dict[str, tuple[str, ...]]]
    own: dict[str, dict[str, tuple[str, ...]]]

    def of(self, half: Half) -> set[str]:
        return {p for halves in self.by_field.values() for p in halves.get(half, ())}


def _table(raw: dict[str, dict[str, list[str]]]) -> dict[str, dict[str, tuple[str, ...]]]:
    return {field: {h: tuple(lists.get(h, [])) for h in HALVES} for field, lists in raw.items()}


@cache
def phrasings() -> Phrasings:
    raw = tomllib.loads(PHRASINGS_FILE.read_text("utf-8"))
    reference, own = _table(raw["reference"]), _table(raw["own"])
    merged: dict[str, dict[str, tuple[str, ...]]] = {}
    for table in (reference, own):
        for field, halves in table.items():
            slot = merged.setdefault(field, {h: () for h in HALVES})
            for h in HALVES:
                slot[h] = slot[h] + halves[h]
    return Phrasings(merged, reference, own)


# Labels for fields neither table covers (address parts are written as one address field).
_PLAIN = {"worker.middle_name": ("Middle initial",)}


def label(field: str, half: Half, rng: random.Random) -> str:
    """One phrasing of `field` from `half`."""
    options = phrasings().by_field.get(field, {}).get(half) or _PLAIN.get(field)
    if not options:
        raise KeyError(f"no {half} phrasing for {field}")
    return rng.choice(options)
