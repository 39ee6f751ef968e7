"""A small corpus of valid documents and deterministic mutations of them, for fuzzing.

The seeds are real requests made by the generators the other tests use (a letter PDF, a filled
form PDF, a faxed TIFF kept small so OCR stays cheap, an XLSX of workers); the mutations are the
damage hostile or broken senders produce: flipped bytes, cut files, repeated chunks, spliced
headers. Everything comes from a seed, so a failing case is replayed by its number alone.
"""

from __future__ import annotations

import functools
import io
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import openpyxl
from PIL import Image, ImageDraw, ImageFont

from tests import docgen, faxgen
from tests.synth import flat, make_request

Mutator = Callable[[bytes, random.Random], bytes]


@dataclass(frozen=True)
class Seed:
    name: str
    filename: str
    data: bytes


@dataclass(frozen=True)
class Case:
    number: int
    seed: str
    mutation: str
    filename: str
    data: bytes


def _small_fax(req: dict[str, str]) -> bytes:
    """A one-page fax of a few labelled lines, about a fifth of a page: OCR reads it in well under a second."""
    font = ImageFont.truetype(faxgen.FONT_DIR + "DejaVuSans.ttf", 28)
    lines = [f"Employee SSN: {req['worker.ssn']}", f"Employer EIN: {req['employer.ein']}",
             f"Country: {req['assignment.country']}", f"Start date: {req['assignment.start_date']}"]
    page = Image.new("L", (1200, 60 + 45 * len(lines)), 255)
    draw = ImageDraw.Draw(page)
    for i, line in enumerate(lines):
        draw.text((40, 30 + 45 * i), line, font=font, fill=0)
    page.info["dpi"] = (200, 200)
    return faxgen.tiff_bytes([page.convert("1")])


def _xlsx(rows: list[dict[str, str]]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    header = ["Last name", "First name", "SSN", "Country", "Start date", "End date"]
    ws.append(header)
    for r in rows:
        ws.append([r.get("worker.last_name", ""), r.get("worker.first_name", ""), r["worker.ssn"],
                   r["assignment.country"], r["assignment.start_date"], r["assignment.end_date"]])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@functools.cache
def seeds() -> tuple[Seed, ...]:
    """The valid documents mutations start from (made once per process)."""
    rng = random.Random(6)
    reqs = [make_request(rng, kind="employee") for _ in range(4)]
    flats = [flat(r) for r in reqs]
    return (
        Seed("letter", "request.pdf", docgen.letter_pdf(reqs[0], random.Random(1))),
        Seed("form", "form.pdf", docgen.acroform_pdf(reqs[1], rng=random.Random(2))),
        Seed("fax", "fax.tif", _small_fax(flats[2])),
        Seed("sheet", "workers.xlsx", _xlsx(flats)),
    )


# --- mutations --------------------------------------------------------------------------------


def flip_bytes(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 16)):
        i = rng.randrange(len(out))
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def random_bytes(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    start = rng.randrange(len(out))
    for i in range(start, min(len(out), start + rng.randint(1, 256))):
        out[i] = rng.randrange(256)
    return bytes(out)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(1, len(data))]


def cut_middle(data: bytes, rng: random.Random) -> bytes:
    a = rng.randrange(len(data))
    b = min(len(data), a + rng.randint(1, max(1, len(data) // 4)))
    return data[:a] + data[b:]


def duplicate_chunk(data: bytes, rng: random.Random) -> bytes:
    a = rng.randrange(len(data))
    chunk = data[a : a + rng.randint(1, 4096)]
    at = rng.randrange(len(data))
    return data[:at] + chunk * rng.randint(1, 8) + data[at:]


def interesting_numbers(data: bytes, rng: random.Random) -> bytes:
    """Overwrite a decimal number (a /Length, an offset, a count) with an extreme one."""
    digits = [i for i in range(len(data) - 1) if 48 <= data[i] <= 57 and not 48 <= data[i - 1] <= 57]
    if not digits:
        return flip_bytes(data, rng)
    i = rng.choice(digits)
    j = i
    while j < len(data) and 48 <= data[j] <= 57:
        j += 1
    value = rng.choice([b"0", b"-1", b"99999999999", b"2147483648", b"65535", b"1e308"])
    return data[:i] + value + data[j:]


def splice(data: bytes, rng: random.Random) -> bytes:
    """The head of this document on the tail of another seed (mixed-up attachments, wrong magic)."""
    other = rng.choice(seeds()).data
    return data[: rng.randrange(len(data))] + other[rng.randrange(len(other)) :]


MUTATIONS: dict[str, Mutator] = {
    "flip": flip_bytes, "random": random_bytes, "truncate": truncate, "cut": cut_middle,
    "duplicate": duplicate_chunk, "number": interesting_numbers, "splice": splice,
}  # fmt: skip


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One to three stacked mutations; returns their names joined by '+'."""
    names = [rng.choice(sorted(MUTATIONS)) for _ in range(rng.choice([1, 1, 1, 2, 3]))]
    for name in names:
        data = MUTATIONS[name](data, rng) or data[:1]
    return "+".join(names), data


def case(number: int, *, seed: int = 0) -> Case:
    """Case `number` of the run with `seed`: the same numbers always give the same bytes."""
    rng = random.Random(seed * 1_000_003 + number)
    base = seeds()[number % len(seeds())]
    mutation, data = mutate(base.data, rng)
    filename = base.filename if rng.random() < 0.8 else rng.choice(["x.bin", "scan.pdf", "a.xlsx", "f.tiff", ""])
    return Case(number, base.name, mutation, filename or "unnamed", data)


def cases(count: int, *, seed: int = 0, start: int = 0) -> Iterator[Case]:
    for n in range(start, start + count):
        yield case(n, seed=seed)
