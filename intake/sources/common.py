"""What every source shares: the two store calls it may make, the new-submission callback, safe logging.

Sources only ever store and then acknowledge; the pipeline is woken through ``on_new`` so that the
sources never depend on how extraction is scheduled.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from parsers.pii import mask_ssns

if TYPE_CHECKING:
    from intake.store import Incoming

__all__ = ["Backoff", "OnNew", "StoreLike", "describe_error", "mask_ssns", "notify"]

log = logging.getLogger("intake.sources")

OnNew = Callable[[int], None]
"""Called with the id of a submission that was just created (never for a duplicate)."""


class StoreLike(Protocol):
    """The part of ``intake.store.Store`` the sources use (so tests and callers can pass the real one)."""

    def store_submission(self, inc: Incoming) -> tuple[int, bool]: ...

    def store_submissions(self, incs: Sequence[Incoming]) -> list[tuple[int, bool]]: ...

    def imap_known(self, folder: str, uidvalidity: int, uids: list[int]) -> set[int]: ...


def describe_error(exc: BaseException) -> str:
    """A log-safe one-line description of an error.

    Database errors quote their bound parameters (which may hold the raw message and so an SSN),
    so for anything but network and IMAP errors only the type is logged.
    """
    name = type(exc).__name__
    module = type(exc).__module__ or ""
    if isinstance(exc, OSError) or module.startswith(("imaplib", "imapclient", "ssl", "socket")):
        return mask_ssns(f"{name}: {exc}")[:300]
    return name


def notify(on_new: OnNew | None, submission_id: int) -> None:
    """Call ``on_new``; a failing callback must not undo an already committed submission."""
    if on_new is None:
        return
    try:
        on_new(submission_id)
    except Exception as exc:  # noqa: BLE001  (the pipeline resumes from the store anyway)
        log.warning("submission %d: on_new callback failed: %s", submission_id, describe_error(exc))


class Backoff:
    """Exponential back-off for reconnects: initial, doubled on each failure, capped, reset on success."""

    def __init__(self, initial: float = 1.0, maximum: float = 300.0) -> None:
        self.initial = initial
        self.maximum = maximum
        self.current = initial

    def next(self) -> float:
        """The delay to wait now; the following one is doubled."""
        delay = self.current
        self.current = min(self.current * 2, self.maximum)
        return delay

    def reset(self) -> None:
        self.current = self.initial
