"""No full SSN on any page a reviewer opens, whatever a template prints.

Templates print many strings a sender chose: attachment names in headings and image alt texts,
subjects, failure reasons, problem messages, values read. Masking each at its `{{ }}` was
left to whoever wrote the template, and some were missed (issue 11: `Jane Roe SSN 531-70-2468.pdf`
in a heading). So the page environment masks every printed string instead (Jinja's `finalize`,
which sees each expression's value before it is escaped), unless the page is rendered for an
account that sees full SSNs (supervisors). `rendering_for` says whose page is being rendered;
without it, everything is masked.

A printed value that must stay as it is (the form's CSRF token, random text that may hold nine
digits in a row) is named in `keep`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

from markupsafe import Markup

from parsers.pii import mask_ssns


class _Viewer(Protocol):
    @property
    def sees_full_ssn(self) -> bool: ...


_SEES_FULL: ContextVar[bool] = ContextVar("coc_page_sees_full_ssn", default=False)
_KEEP: ContextVar[frozenset[str]] = ContextVar("coc_page_keep", default=frozenset())


@contextmanager
def rendering_for(viewer: _Viewer | None, keep: tuple[str, ...] = ()) -> Iterator[None]:
    """Render pages inside this for `viewer` (None: nobody logged in, everything masked)."""
    full = _SEES_FULL.set(bool(viewer is not None and viewer.sees_full_ssn))
    kept = _KEEP.set(frozenset(k for k in keep if k))
    try:
        yield
    finally:
        _SEES_FULL.reset(full)
        _KEEP.reset(kept)


def finalize(value: Any) -> Any:
    """Every string a template prints, SSNs masked, unless the viewer sees full SSNs."""
    if not isinstance(value, str) or not value or _SEES_FULL.get() or value in _KEEP.get():
        return value
    masked = mask_ssns(value)
    if masked == value:
        return value
    # Escaped markup stays markup: the mask only replaces digits and separators, none of which
    # is part of an HTML entity's name.
    return Markup(masked) if isinstance(value, Markup) else masked
