"""Suite-wide settings: Tesseract runs single-threaded, one process per core, as its maintainers advise."""

import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("OMP_THREAD_LIMIT", "1")


@pytest.fixture(autouse=True)
def _umask_kept() -> Iterator[None]:
    """Each test starts with the umask the suite started with.

    `run`, `serve` and `worker` set the process umask to 0077 (`intake.private`); a test that calls
    them in process would leave it so for the tests after it, whose servers then cannot read their
    own files (Dovecot's auth reads its passwd-file as the dovecot user: "Temporary authentication
    failure").
    """
    before = os.umask(0o022)
    os.umask(before)
    yield
    os.umask(before)
