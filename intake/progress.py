"""Progress bars on stderr for the staff's batch commands (`extract`, `reprocess`)."""
from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any

from tqdm import tqdm


def bar(iterable: Iterable[Any] | None = None, *, total: int, unit: str) -> Any:
    """A tqdm bar on stderr that shows on every terminal.

    tqdm hides its bar on a terminal that reports a size of 0 (a fresh pty, a serial console), so
    such a terminal gets 80x24.
    """
    columns, lines = _terminal_size(sys.stderr)
    return tqdm(iterable, total=total, unit=unit, file=sys.stderr, ncols=columns or 80, nrows=lines or 24)


def _terminal_size(stream: Any) -> tuple[int, int]:
    """The terminal's (columns, lines); 0 for what it does not report."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return 0, 0
    return size.columns, size.lines
