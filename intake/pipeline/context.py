"""What every stage is handed: the store, the settings and the extraction pool."""

from __future__ import annotations

from dataclasses import dataclass

from intake.isolation import ExtractionPool
from intake.settings import Settings
from intake.store.protocols import PipelineStore
from parsers.types import Limits


@dataclass
class Context:
    """The shared things of a process's stages (one store, one pool); stages keep no state of their own.
    The store is typed by what the stages use of it (`intake.store.protocols.PipelineStore`)."""

    store: PipelineStore
    settings: Settings
    pool: ExtractionPool

    @property
    def limits(self) -> Limits:
        return Limits(**self.settings.limits.model_dump())
