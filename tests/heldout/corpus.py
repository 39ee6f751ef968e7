"""Write the held-out corpus: N requests per format into a folder, each file with its ground truth.

Formats (`FORMATS`): plain mail bodies (`mail`), `.txt` files (`text`), HTML mails (`html`), PDF
letters (`letter`), letters written as sentences (`prose`, mail or PDF), CSV and XLSX batches of
three to five workers (`sheet`), mails with two or three
workers (`several`), a self-employed person writing about themselves (`self`), a forwarded request
whose note corrects a value (`forward`), faxed letters (`fax`:
204x196 and 204x98, TIFF and PDF, serif/sans/typewriter fonts no other generator uses), and our own
form filled in upper/lower/mixed case by pypdf and PyMuPDF, read as the filled PDF (`form-pdf`),
printed and scanned (`form-print`) and faxed (`form-fax`). Labelled formats alternate between seen
(`may_teach`) and unseen (`tests_only`) phrasings; prose and forms have no phrasings (`none`).
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from tests.heldout import fax, letters, ourform, sheets, special, textual
from tests.heldout.people import make_case
from tests.heldout.vocab import Half
from tests.heldout.writing import items

FORMATS = ("mail", "text", "html", "letter", "prose", "sheet", "several", "self", "forward", "fax",
           "form-pdf", "form-print", "form-fax")
Labels = Literal["seen", "unseen", "none"]


@dataclass(frozen=True)
class Entry:
    file: str  # name inside the folder
    fmt: str
    variant: str  # layout, font, resolution, case... (for the failure lists)
    labels: Labels
    truth: list[dict[str, str]]


def _half(i: int) -> tuple[Half, Labels]:
    return ("may_teach", "seen") if i % 2 == 0 else ("tests_only", "unseen")


def _one(fmt: str, i: int, rng: random.Random) -> tuple[str, bytes, str, Labels, list[dict[str, str]]]:
    """(file suffix, bytes, variant, labels, truths) of the i-th file of `fmt`."""
    half, labels = _half(i)
    if fmt == "several":
        data, truths, variant = special.several(rng, half, i, 2 + (i // 2) % 2)
        return ".eml", data, variant, labels, truths
    if fmt == "sheet":
        kind = ("csv", "xlsx")[(i // 2) % 2]
        data, truths, variant = sheets.sheet(rng, half, kind, 3 + i % 3)
        return f".{kind}", data, variant, labels, truths
    if fmt == "self":
        data, truths, variant = special.self_employed(rng, i)
        return ".eml", data, variant, "none", truths
    if fmt == "forward":
        data, truths, variant = special.forwarded(rng, half, i)
        return ".eml", data, variant, labels, truths
    suffix, data, variant, labels, truth = _single(fmt, i, rng, half, labels)
    return suffix, data, variant, labels, [truth]


def _single(fmt: str, i: int, rng: random.Random, half: Half, labels: Labels) -> tuple[str, bytes, str, Labels,  # noqa: PLR0911  (a return per format the corpus writes)
                                                                                       dict[str, str]]:
    case = make_case(rng)
    if fmt in ("mail", "text"):
        layout = textual.LAYOUTS[(i // 2) % len(textual.LAYOUTS)]
        body = textual.body_text(case, items(case, half, rng), layout, rng)
        if fmt == "text":
            return ".txt", body.encode(), layout, labels, case.truth()
        return ".eml", textual.mail(case, plain=body, html_part=None, rng=rng, n=i), layout, labels, case.truth()
    if fmt == "html":
        cells = 1 + (i // 2) % 2
        table = textual.html_table(case, items(case, half, rng), cells, rng)
        plain_kind = ["full", "stub", "none"][(i // 4) % 3]
        plain = {"full": textual.body_text(case, items(case, half, rng), "colon", rng),
                 "stub": textual.stub(rng), "none": None}[plain_kind]
        data = textual.mail(case, plain=plain, html_part=table, rng=rng, n=i)
        return ".eml", data, f"{cells}-cell/{plain_kind}-plain", labels, case.truth()
    if fmt == "letter":
        layout = letters.PDF_LAYOUTS[(i // 2) % len(letters.PDF_LAYOUTS)]
        font = (letters.CORE_FONTS + letters.FAX_FONTS[:3])[i % 6]
        pdf = letters.letter_pdf(case, items(case, half, rng), layout, font, rng)
        return ".pdf", pdf, f"{layout}/{font.name}", labels, case.truth()
    if fmt == "prose":
        if i % 2 == 0:
            return ".eml", textual.mail(case, plain=textual.prose_text(case, rng), html_part=None, rng=rng, n=i), \
                "mail", "none", case.truth()
        font = letters.CORE_FONTS[i % 3]
        return ".pdf", letters.letter_pdf(case, [], "colon", font, rng, prose=True), "pdf", "none", case.truth()
    if fmt == "fax":
        layout = letters.PDF_LAYOUTS[(i // 2) % len(letters.PDF_LAYOUTS)]
        font = letters.FAX_FONTS[i % len(letters.FAX_FONTS)]
        resolution = ("fine", "standard")[(i // 2) % 2]
        container = ("tiff", "pdf")[(i // 4) % 2]
        pdf = letters.letter_pdf(case, items(case, half, rng), layout, font, rng, size=12.0)
        data = fax.fax(pdf, resolution, container, rng, sender=case.employer)
        suffix = ".tif" if container == "tiff" else ".pdf"
        return suffix, data, f"{layout}/{font.style}/{resolution}/{container}", labels, case.truth()
    letter_case = ourform.CASES[i % 3]
    filler = ourform.FILLERS[(i // 3) % 2]
    pdf = ourform.filled(case, letter_case, filler)
    variant = f"{filler}/{letter_case}"
    if fmt == "form-pdf":
        return ".pdf", pdf, variant, "none", ourform.truth(case)
    if fmt == "form-print":
        return ".pdf", ourform.printed(pdf), variant, "none", ourform.truth(case)
    resolution = ("fine", "standard")[i % 2]
    container = ("tiff", "pdf")[(i // 2) % 2]
    data = fax.fax(pdf, resolution, container, rng, sender=case.employer)
    return (".tif" if container == "tiff" else ".pdf"), data, f"{variant}/{resolution}/{container}", "none", \
        ourform.truth(case)


def generate(folder: Path, counts: dict[str, int], seed: int = 12) -> list[Entry]:
    """Write `counts[fmt]` requests of each format into `folder`, and `truth.json` beside them."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for fmt in FORMATS:
        rng = random.Random(f"{seed}/{fmt}")
        for i in range(counts.get(fmt, 0)):
            suffix, data, variant, labels, truths = _one(fmt, i, rng)
            name = f"{fmt}-{i:03d}{suffix}"
            (folder / name).write_bytes(data)
            entries.append(Entry(name, fmt, variant, labels, truths))
    (folder / "truth.json").write_text(json.dumps([asdict(e) for e in entries], indent=1), "utf-8")
    return entries
