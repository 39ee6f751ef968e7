"""Extraction speed per format, and the OCR cost of the pipeline against bare `tesseract`.

Prints a table: for each format, documents, pages, seconds per document and per page; for faxes,
the pipeline's seconds per page over the bare `tesseract PAGE stdout` command on the same page
images, the two run alternately in this process so that both see the same machine.
Run: python -m bench.extract [--faxes N] [--scans N] [--repeat R]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intake.extract import extract_submission
from tests.corpus import Doc, corpus


def _extract(doc: Doc) -> float:
    channel = "email" if doc.name.endswith(".eml") else "file"
    t0 = time.perf_counter()
    extract_submission(doc.data, channel=channel, filename=doc.name, today=date(2026, 11, 25))
    return time.perf_counter() - t0


def _pages(doc: Doc, folder: Path) -> list[Path]:
    """The fax's page images as files, as the bare command would be handed them."""
    paths = []
    if doc.name.endswith((".png", ".jpg")):
        path = folder / doc.name
        path.write_bytes(doc.data)
        paths.append(path)
    elif doc.name.endswith(".tif"):
        img = Image.open(io.BytesIO(doc.data))
        for i in range(getattr(img, "n_frames", 1)):
            img.seek(i)
            path = folder / f"{Path(doc.name).stem}-{i}.tif"
            img.save(path, dpi=img.info.get("dpi", (204, 196)))
            paths.append(path)
    return paths


def _bare(paths: list[Path]) -> float:
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    t0 = time.perf_counter()
    for path in paths:
        subprocess.run(["tesseract", str(path), "stdout"], capture_output=True, check=True, env=env)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--faxes", type=int, default=8)
    ap.add_argument("--scans", type=int, default=2, help="single-page PNG faxes and JPEG scans")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    os.environ["COC_INTAKE_OCR_THREADS"] = "1"  # one page at a time, like the bare command
    docs = corpus(mails=6, letters=6, forms=6, faxes=args.faxes, sheets=2, rows=50, prose=3, html_mails=2, texts=2,
                  scans=args.scans)
    per_fmt: dict[str, list[tuple[float, int]]] = defaultdict(list)
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            for doc in docs:
                seconds = _extract(doc)
                kind = f"{doc.fmt} {Path(doc.name).suffix}" if doc.fmt == "fax" else doc.fmt
                per_fmt[kind].append((seconds, doc.pages))
                pages = _pages(doc, Path(tmp)) if doc.fmt == "fax" else []
                if pages:
                    ratios.append(seconds / _bare(pages))
    print(f"{'format':10s} {'docs':>5s} {'pages':>6s} {'s/doc':>8s} {'s/page':>8s}")
    for fmt, runs in sorted(per_fmt.items()):
        total = sum(s for s, _ in runs)
        pages = sum(p for _, p in runs)
        print(f"{fmt:10s} {len(runs):5d} {pages:6d} {total / len(runs):8.3f} {total / pages:8.3f}")
    if ratios:
        print(f"fax OCR cost, pipeline / bare tesseract on the same page images (TIFF, PNG, JPEG): "
              f"median {statistics.median(ratios):.2f}x, min {min(ratios):.2f}x, max {max(ratios):.2f}x")


if __name__ == "__main__":
    main()
