"""Fax OCR cost per page: the pipeline over bare `tesseract PAGE stdout` on the same page images.

Issue 13's bar is a ratio of at most 1.25. Three sets of faxes, generated here: held-out faxed
letters (tests/heldout, fonts and layouts of a second generator), our own form filled in and faxed
(tests/heldout), and the faxed letters of tests/faxgen ("ours"). For every fax its page images are
written as files (a TIFF's frames, a fax PDF's page images as PNG with their dpi); then, alternating
who goes first, `extract_submission` reads the fax (the whole pipeline: form recognition, square
pixels, deskew, line removal, Tesseract, second readings) and the bare command reads the page
files, in this process, one page at a time. Printed per set: pages, pipeline and bare seconds per
page, the ratio of the sums and the median of the per-fax ratios.
Run: python -m bench.ocr [--n 6] [--seed 13] [--repeat 1] [--sets heldout,form,ours]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intake.extract import extract_submission
from parsers.pdf_text import page_image
from parsers.types import Limits
from tests import faxgen
from tests.heldout.corpus import generate
from tests.synth import make_request


@dataclass
class Fax:
    name: str
    data: bytes


def heldout(fmt: str, n: int, seed: int, folder: Path) -> list[Fax]:
    entries = generate(folder / fmt, {fmt: n}, seed)
    return [Fax(e.file, (folder / fmt / e.file).read_bytes()) for e in entries]


def ours(n: int, seed: int) -> list[Fax]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        pages = faxgen.fax_request(make_request(rng, kind="employee"), rng, "fine" if i % 2 else "normal")
        out.append(Fax(f"ours-{i:02d}.tif", faxgen.tiff_bytes(pages)))
    return out


def page_files(fax: Fax, folder: Path) -> list[Path]:
    """The fax's page images as files, as a fax server or a person would hand them to the command."""
    paths = []
    if fax.name.endswith(".pdf"):
        doc = pdfium.PdfDocument(fax.data)
        try:
            for i in range(len(doc)):
                img = page_image(doc, i, Limits())
                path = folder / f"{Path(fax.name).stem}-{i}.png"
                dpi = img.info.get("dpi", (300, 300))
                img.save(path, dpi=(round(dpi[0]), round(dpi[1])))
                paths.append(path)
        finally:
            doc.close()
        return paths
    img = Image.open(io.BytesIO(fax.data))
    for i in range(getattr(img, "n_frames", 1)):
        img.seek(i)
        path = folder / f"{Path(fax.name).stem}-{i}.tif"
        img.save(path, compression="group4" if img.mode == "1" else None, dpi=img.info.get("dpi", (204, 196)))
        paths.append(path)
    return paths


def bare(paths: list[Path]) -> float:
    t0 = time.perf_counter()
    for path in paths:
        subprocess.run(["tesseract", str(path), "stdout"], capture_output=True, check=True)
    return time.perf_counter() - t0


def pipeline(fax: Fax) -> float:
    t0 = time.perf_counter()
    extract_submission(fax.data, channel="file", filename=fax.name, today=date(2026, 11, 25))
    return time.perf_counter() - t0


def measure(faxes: list[Fax], folder: Path, repeat: int) -> tuple[int, float, float, list[float]]:
    """(pages, pipeline seconds, bare seconds, per-fax ratios)."""
    pages, ours_s, bare_s, ratios = 0, 0.0, 0.0, []
    for r in range(repeat):
        for i, fax in enumerate(faxes):
            paths = page_files(fax, folder)
            if (i + r) % 2 == 0:
                b = bare(paths)
                p = pipeline(fax)
            else:
                p = pipeline(fax)
                b = bare(paths)
            pages += len(paths)
            ours_s += p
            bare_s += b
            ratios.append(p / b)
    return pages, ours_s, bare_s, ratios


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=6, help="faxes per set")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--sets", default="heldout,form,ours")
    args = ap.parse_args()
    os.environ["OMP_THREAD_LIMIT"] = "1"
    os.environ["COC_INTAKE_OCR_THREADS"] = "1"  # one page at a time, like the bare command
    with tempfile.TemporaryDirectory(prefix="bench-ocr-") as tmp:
        folder = Path(tmp)
        makers = {"heldout": lambda: heldout("fax", args.n, args.seed, folder),
                  "form": lambda: heldout("form-fax", args.n, args.seed, folder),
                  "ours": lambda: ours(args.n, args.seed)}
        print(f"{'set':10s} {'pages':>5s} {'pipeline s/page':>16s} {'bare s/page':>12s} {'ratio':>7s} "
              f"{'median':>7s} {'min':>6s} {'max':>6s}")
        for name in args.sets.split(","):
            faxes = makers[name]()
            pipeline(faxes[0])  # warm the imports and caches, as a running daemon has them
            pages, p, b, ratios = measure(faxes, folder, args.repeat)
            print(f"{name:10s} {pages:5d} {p / pages:16.3f} {b / pages:12.3f} {p / b:6.2f}x "
                  f"{statistics.median(ratios):6.2f}x {min(ratios):5.2f}x {max(ratios):5.2f}x", flush=True)


if __name__ == "__main__":
    main()
