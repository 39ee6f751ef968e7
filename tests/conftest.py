"""Suite-wide settings: Tesseract runs single-threaded, one process per core, as its maintainers advise."""

import os

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
