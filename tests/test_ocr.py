"""OCR of generated faxes and scans with the real Tesseract: preparation, file handling, accuracy."""

from __future__ import annotations

import io
import os
import random
import struct
import threading
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from parsers import ocr, ocr_reread
from parsers.image import parse_image
from parsers.layout import lines_from_text
from parsers.pdf_text import find_on_page
from parsers.types import Candidate, Extraction, Limits, Part
from tests.faxgen import (
    fax,
    fax_request,
    jpeg_bytes,
    letter_lines,
    png_bytes,
    render_page,
    scanned,
    tiff_bytes,
)
from tests.synth import flat, labelled_lines, make_request


def _part(data: bytes, media_type: str = "image/tiff", name: str = "fax.tif") -> Part:
    return Part(name=f"attachment 1: {name}", media_type=media_type, data=data, filename=name)


def _values(ex: Extraction) -> dict[str, list[Candidate]]:
    out: dict[str, list[Candidate]] = {}
    for record in ex.records:
        for c in record:
            out.setdefault(c.field, []).append(c)
    return out


def _request(seed: int, kind: str = "employee") -> dict:  # type: ignore[type-arg]
    return make_request(random.Random(seed), kind=kind)


# ------------------------------------------------------------------------------ preparation
def test_normal_resolution_pixels_are_squared() -> None:
    page = fax(render_page(["SSN: 123-45-6789"]), resolution="normal")
    assert page.size == (1728, 1078) and page.info["dpi"] == (204, 98)
    prepared = ocr.prepare(page)
    # A letter page is 8.5 x 11 in: squared pixels give back its proportions, at the fax's 204 dpi.
    assert abs(prepared.width / prepared.height - 8.5 / 11) < 0.01
    assert prepared.info["dpi"][0] == prepared.info["dpi"][1] == 204
    assert abs(prepared.height / 11 - prepared.info["dpi"][1]) < 3
    low = render_page(["x"]).resize((850, 1100))  # a 100 dpi scan is too small for Tesseract: scaled up
    low.info["dpi"] = (100, 100)
    assert ocr.prepare(low).size == (2550, 3300)


def test_fine_resolution_is_squared_too() -> None:
    prepared = ocr.prepare(fax(render_page(["x"]), resolution="fine"))
    assert abs(prepared.width / prepared.height - 8.5 / 11) < 0.01


def test_a_stretched_normal_fax_has_its_staircase_edges_smoothed() -> None:
    """A 204x98 page squared has rows two pixels high: its letters' edges are smoothed (gray) for
    Tesseract, and the text still reads; a fine fax's one-bit pixels are left sharp."""
    normal = np.asarray(ocr.prepare(fax(render_page(["SSN: 123-45-6789"]), resolution="normal")))
    between = ((normal > 40) & (normal < 215)).sum() / max(1, (normal < 128).sum())
    assert between > 1.0  # a gray rim wider than the ink itself (unsmoothed, cubic scaling: about 0.6)
    fine = np.asarray(ocr.prepare(fax(render_page(["SSN: 123-45-6789"]), resolution="fine")))
    assert ((fine > 40) & (fine < 215)).sum() / max(1, (fine < 128).sum()) < 0.6
    words = ocr.ocr_page(fax(render_page(["SSN: 123-45-6789"]), resolution="normal"), page=1)
    assert "123-45-6789" in [w.text for w in words]


def test_words_of_a_stretched_normal_fax_are_read_with_doubt() -> None:
    """A 204x98 page's words are trusted less than Tesseract says; a word holding a character no
    value holds (`~` for a hyphen) is capped below the flagging threshold on any page."""
    from parsers import ocr_repair

    normal = fax(render_page(["SSN: 123-45-6789"]), resolution="normal")
    fine = fax(render_page(["SSN: 123-45-6789"]), resolution="fine")
    assert ocr.prepare_page(normal).stretched and not ocr.prepare_page(fine).stretched
    assert ocr_repair.misread("Theano~Sheamis") and ocr_repair.misread("L.L.\u00a2.")
    assert not ocr_repair.misread("O'Neil-Smith") and not ocr_repair.misread("5965")


@pytest.mark.parametrize("skew", [2.0, -2.0, 1.3])
def test_deskew_leaves_less_than_a_third_of_a_degree(skew: float) -> None:
    rng = random.Random(7)
    page = render_page(labelled_lines(_request(3), rng), letterhead=["Acme Widget Corporation"])
    faxed = fax(page, resolution="fine", skew_deg=skew, noise=0.002, rng=rng, header="NOV-25-2026 FROM: 1")
    squared = np.asarray(faxed.convert("L").resize((2541, 3300)))
    assert abs(ocr.estimate_skew(squared) - skew) < 0.3  # the estimator sees the skew...
    residual = ocr.estimate_skew(np.asarray(ocr.prepare(faxed)))
    assert abs(residual) < 0.3  # ...and prepare removes it


def test_speckle_is_removed_but_text_kept() -> None:
    clean = fax(render_page(["Worker name: Jane Doe"] * 5), resolution="fine")
    noisy = fax(render_page(["Worker name: Jane Doe"] * 5), resolution="fine", noise=0.003,
                rng=random.Random(1))
    ink = lambda im: int((np.asarray(ocr.prepare(im)) < 128).sum())  # noqa: E731
    assert ink(noisy) < ink(clean) * 1.1  # the speckles (0.3% of the page) are gone
    assert ink(noisy) > ink(clean) * 0.8  # the letters are not


def test_blank_page_is_not_sent_to_tesseract() -> None:
    blank = fax(Image.new("L", (1700, 2200), 255), resolution="fine", noise=0.0005, rng=random.Random(2))
    started = time.monotonic()
    assert ocr.ocr_page(blank, page=1, limits=Limits()) == []
    assert time.monotonic() - started < 1.0


def test_words_have_confidences_boxes_and_page() -> None:
    page = fax(render_page(["Social Security number: 123-45-6789"]), resolution="fine")
    words = ocr.ocr_page(page, page=3, limits=Limits())
    ssn = next(w for w in words if "6789" in w.text)
    assert ssn.text == "123-45-6789" and ssn.page == 3 and 0.8 <= ssn.conf <= 1.0
    assert ssn.box is not None
    # Typed one inch from the left and top of an 8.5 x 11 in page.
    assert 0.2 < ssn.box.x0 < 0.8 and 0.08 < ssn.box.y0 < 0.12 and ssn.box.x1 > ssn.box.x0


def test_timeout_is_a_clear_error_and_a_part_problem() -> None:
    page = fax(render_page(labelled_lines(_request(4))), resolution="fine")
    with pytest.raises(ocr.OcrTimeout, match="page 2"):
        ocr.ocr_page(page, page=2, limits=Limits(ocr_seconds_per_page=0.05))
    ex = parse_image(_part(tiff_bytes([page])), Limits(ocr_seconds_per_page=0.05))
    assert [p.code for p in ex.problems] == ["ocr_timeout"] and ex.records == []


def test_tesseract_runs_single_threaded() -> None:
    assert os.environ["OMP_THREAD_LIMIT"] == "1"


def _tesseracts_running() -> list[int]:
    """Process ids of the Tesseract processes this process started (from /proc, no helper library)."""
    me, found = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        comm, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
        if comm == "tesseract" and int(rest[1]) == me:
            assert b"OMP_THREAD_LIMIT=1" in env  # each Tesseract itself single-threaded
            found.append(int(entry))
    return found


def _most_tesseracts_at_once(pages: list[Image.Image]) -> int:
    most, done = 0, threading.Event()

    def watch() -> None:
        nonlocal most
        while not done.is_set():
            most = max(most, len(_tesseracts_running()))
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        assert all(isinstance(r, list) and r for r in ocr.read_pages(pages))
    finally:
        done.set()
        watcher.join()
    return most


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: one Tesseract at a time anyway")
def test_one_tesseract_per_core_or_as_many_as_the_pool_child_allows(monkeypatch: pytest.MonkeyPatch) -> None:
    pages = [fax(render_page(labelled_lines(_request(n))), resolution="fine") for n in (21, 22)]
    monkeypatch.delenv("COC_INTAKE_OCR_THREADS", raising=False)
    assert ocr.page_workers() == os.cpu_count()
    assert _most_tesseracts_at_once(pages) == 2  # two pages, two cores: side by side
    # The extraction pool's child runs one document per core already: its pages go one at a time.
    monkeypatch.setenv("COC_INTAKE_OCR_THREADS", "1")
    assert ocr.page_workers() == 1
    assert _most_tesseracts_at_once(pages) == 1


# ------------------------------------------------------------------------------ file types
def _two_page_fax(req: dict, resolution: str) -> list[Image.Image]:  # type: ignore[type-arg]
    lines = labelled_lines(req, random.Random(0))
    half = len(lines) // 2
    rng = random.Random(5)
    return [fax(render_page(chunk), resolution=resolution, skew_deg=1.0, noise=0.001, rng=rng,  # type: ignore[arg-type]
                header=f"NOV-25-2026 10:14  FROM: +1 208 555 0142  ACME HR  P.00{n}/002")
            for n, chunk in enumerate((lines[:half], lines[half:]), start=1)]


@pytest.mark.parametrize("compression", ["group3", "group4"])
@pytest.mark.parametrize(("resolution", "dpi"), [("normal", (204, 98)), ("fine", (204, 196))])
def test_multipage_ccitt_tiff_is_read(compression: str, resolution: str, dpi: tuple[int, int]) -> None:
    req = _request(11)
    data = tiff_bytes(_two_page_fax(req, resolution), compression=compression)
    with Image.open(io.BytesIO(data)) as tif:
        assert tif.info["compression"] == compression and tif.n_frames == 2
        assert tuple(round(float(d)) for d in tif.info["dpi"]) == dpi
    ex = parse_image(_part(data), Limits())
    assert ex.pages == 2 and ex.problems == []
    got = _values(ex)
    assert [c.value for c in got["worker.ssn"]] == [req["worker"]["ssn"]]
    assert got["worker.ssn"][0].provenance.page == 1
    assert got["worker.ssn"][0].provenance.method == "ocr"
    country = got["assignment.country"][0]
    assert country.value == req["assignment"]["country"] and country.provenance.page == 2
    header = ex.text.splitlines()[0]  # the fax header is kept, as a line of its own
    assert "FROM: +1 208 555" in header and "Request" not in header


def test_png_is_read() -> None:
    req = _request(12, "self_employed")
    page = fax(render_page(labelled_lines(req)), resolution="fine", skew_deg=-1.5, noise=0.001)
    ex = parse_image(_part(png_bytes(page), "image/png", "scan.png"), Limits())
    got = _values(ex)
    assert ex.pages == 1 and got["worker.ssn"][0].value == req["worker"]["ssn"]
    assert got["worker.email"][0].value == req["worker"]["email"]


def test_gray_jpeg_scan_is_read() -> None:
    req = _request(13)
    page = scanned(render_page(labelled_lines(req), font="DejaVuSerif.ttf"), rng=random.Random(3),
                   skew_deg=1.0)
    data = jpeg_bytes(page)
    with Image.open(io.BytesIO(data)) as jpg:
        assert jpg.mode == "L"
    got = _values(parse_image(_part(data, "image/jpeg", "scan.jpg"), Limits()))
    assert got["employer.ein"][0].value == req["employer"]["ein"]
    assert got["worker.date_of_birth"][0].value == req["worker"]["date_of_birth"]


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge image: a decompression bomb's calling card."""
    small = png_bytes(Image.new("1", (8, 8), 1))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    patched = struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    return small[:8] + patched + small[8 + 25:]


def test_decompression_bomb_is_a_too_large_problem() -> None:
    data = _png_declaring(100_000, 100_000)
    assert len(data) < 1000
    ex = parse_image(_part(data, "image/png", "bomb.png"), Limits())
    assert [p.code for p in ex.problems] == ["too_large"]
    assert "bomb.png" in ex.problems[0].message and ex.records == []


def test_pixel_limit_comes_from_limits() -> None:
    page = png_bytes(render_page(["SSN: 123-45-6789"]))  # 1700 x 2200
    ex = parse_image(_part(page, "image/png", "page.png"), Limits(max_pixels=1_000_000))
    assert [p.code for p in ex.problems] == ["too_large"]


def test_truncated_and_garbage_files_are_unreadable_problems() -> None:
    data = tiff_bytes(_two_page_fax(_request(14), "fine"))
    for bad in (data[: len(data) // 3], data[:100], b"II*\x00garbage" * 10, b"\x89PNG\r\n\x1a\n"):
        ex = parse_image(_part(bad), Limits())
        assert [p.code for p in ex.problems] == ["unreadable"], bad[:20]
        assert "fax.tif" in ex.problems[0].message


def test_pages_over_the_limit_are_a_problem() -> None:
    data = tiff_bytes(_two_page_fax(_request(15), "fine"))
    ex = parse_image(_part(data), Limits(max_pages=1))
    assert ex.pages == 1 and [p.code for p in ex.problems] == ["too_many_pages"]
    assert "worker.ssn" in _values(ex)


# ------------------------------------------------------------------------------ accuracy
FAXES = 20


def _text_reading(req: dict, rng_seed: int) -> dict[str, str]:  # type: ignore[type-arg]
    """What the same letter gives when read as clean text: the fields OCR is measured on."""
    head, body = letter_lines(req, random.Random(rng_seed))
    part = _part(b"")
    found, _ = find_on_page(lines_from_text("\n".join(head + body)), part, "text", 1, set())
    truth = flat(req)
    return {c.field: c.value for c in found if truth.get(c.field) == c.value and c.uncertain is None}


def test_fax_accuracy_and_no_silent_errors() -> None:
    """20 faxes (10 normal, 10 fine; skewed 1-2 degrees, speckled, headed): >= 97% of fields
    right, and every wrong value flagged (uncertain, or confidence under LOW_CONFIDENCE)."""
    cases = []
    for i in range(FAXES):
        req = make_request(random.Random(1000 + i))
        resolution = "normal" if i < FAXES // 2 else "fine"
        pages = fax_request(req, random.Random(2000 + i), resolution)  # type: ignore[arg-type]
        cases.append((req, _text_reading(req, 2000 + i), tiff_bytes(pages, "group3" if i % 2 else "group4"),
                      len(pages)))
    started = time.monotonic()
    results = [parse_image(_part(data), Limits()) for _, _, data, _ in cases]
    seconds = time.monotonic() - started
    pages = sum(n for *_, n in cases)

    measured = right = unflagged = flagged_right = 0
    wrong_confs: list[float] = []
    right_confs: list[float] = []
    for (req, expected, _, _), ex in zip(cases, results, strict=True):
        truth = flat(req)
        got = _values(ex)
        for fld, value in expected.items():
            measured += 1
            cands = got.get(fld, [])
            if cands and all(c.value == value for c in cands):
                right += 1
                flagged_right += any(c.confidence < ocr.LOW_CONFIDENCE for c in cands)
                right_confs.append(min(c.confidence for c in cands))
            else:
                print(f"wrong {fld}: {[(c.raw, round(c.confidence, 2), c.uncertain) for c in cands]}")
        for fld, cands in got.items():
            for c in cands:
                if truth.get(fld) != c.value and c.uncertain is None:
                    wrong_confs.append(c.confidence)
                if truth.get(fld) != c.value and c.uncertain is None and c.confidence >= ocr.LOW_CONFIDENCE:
                    unflagged += 1
                    print(f"UNFLAGGED {fld}: read {c.raw!r} (conf {c.confidence:.2f})")
    accuracy = right / measured
    print(f"\nOCR on {FAXES} faxes: {right}/{measured} fields right ({accuracy:.1%}), "
          f"{unflagged} wrong values unflagged, {flagged_right} right values under LOW_CONFIDENCE, "
          f"{seconds / pages:.2f} s per page; highest confidence of a wrong value not otherwise "
          f"flagged: {max(wrong_confs, default=0):.2f} (LOW_CONFIDENCE = {ocr.LOW_CONFIDENCE}); right values "
          f"under 0.80/0.85/0.88/0.90: {[sum(c < t for c in right_confs) for t in (0.8, 0.85, 0.88, 0.9)]}")
    assert accuracy >= 0.97
    assert unflagged == 0


def test_unknown_dpi_is_guessed_from_the_page_width() -> None:
    page = render_page(["SSN: 123-45-6789"]).resize((2550, 3300))  # a 300 dpi page, no dpi given
    page.info.pop("dpi", None)
    assert ocr.prepare(page).size == (2550, 3300)
    big = render_page(["SSN: 123-45-6789"]).resize((5100, 6600))
    big.info["dpi"] = (600, 600)
    assert ocr.prepare(big).size == (2550, 3300)  # 600 dpi scans are read at 300
    words = ocr.ocr_page(big, page=1, limits=Limits())
    assert "123-45-6789" in [w.text for w in words]


def test_second_digits_only_reading_replaces_a_doubted_number_but_keeps_it_flagged() -> None:
    from parsers.image import _second_reading
    from parsers.types import Provenance

    page = fax(render_page(["Social Security number: 832-03-2537"]), resolution="normal", skew_deg=1.0)
    words = ocr.ocr_page(page, page=1, limits=Limits())
    ssn_box = next(w.box for w in words if "2537" in w.text)
    assert ssn_box is not None
    assert ocr_reread.reread_digits(page, ssn_box) == "832-03-2537"
    prov = Provenance(part="fax", page=1, box=ssn_box, method="ocr")
    doubted = Candidate(field="worker.ssn", value="832-003-2537", raw="832-003-2537", confidence=0.4,
                        provenance=prov, uncertain="not an SSN")
    sure = doubted.model_copy(update={"value": "832-03-2537", "confidence": 0.95, "uncertain": None})
    fixed, kept = _second_reading(page, [doubted, sure], Limits())
    assert fixed.value == "832-03-2537" and fixed.uncertain is not None  # right now, still flagged
    assert kept == sure  # a confident reading is not read twice
