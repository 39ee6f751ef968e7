"""The faster forms of hot-path helpers (issue 12's speed bar) give what the plain forms gave.

Each is checked against the straightforward version it replaced, on inputs generated here from the
pieces that matter to it (keywords, line ends, path separators, accented letters).
"""

from __future__ import annotations

import base64
import random
import re
import unicodedata

import pytest

from intake.extract import _untangle
from parsers.labels import _fold_char
from parsers.pdf_streams import _a85_groups, _streams

_STREAM_RE = re.compile(rb"(?<!end)stream\r?\n")  # how stream_over found streams before


def test_streams_found_as_the_pattern_found_them() -> None:
    rng = random.Random(12)
    pieces = [b"stream", b"end", b"endstream", b"\r", b"\n", b"\r\n", b"x", b"s", b"streamm", b"e"]
    for _ in range(5000):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        assert list(_streams(data)) == [(m.start(), m.end()) for m in _STREAM_RE.finditer(data)], data


def test_ascii85_groups_decode_as_base64_does() -> None:
    rng = random.Random(131)
    digits = bytes(range(ord("!"), ord("u") + 1))
    for _ in range(5000):
        # high digits often, so that some groups pass 2**32 - 1 (an overflow a85decode refuses)
        text = bytes(rng.choice(digits[-3:] if rng.random() < 0.3 else digits) for _ in range(5 * rng.randint(0, 8)))
        try:
            want: bytes | None = base64.a85decode(text)
        except ValueError:
            want = None
        if want is None:
            with pytest.raises(ValueError, match="overflow"):
                _a85_groups(text)
        else:
            assert _a85_groups(text) == want


def test_fold_char_is_nfkd_without_marks_lowered() -> None:
    for code in [*range(0x3000), *range(0xFB00, 0xFB50), *range(0xFF00, 0xFFF0)]:
        if 0xD800 <= code < 0xE000:
            continue
        c = chr(code)
        want = "".join(x for x in unicodedata.normalize("NFKD", c) if not unicodedata.combining(x)).lower()
        assert _fold_char(c) == want, hex(code)


def test_untangle_drops_the_paths_others_continue() -> None:
    def plain(values: dict[str, str]) -> dict[str, str]:
        parents = {k for k in values if any(o.startswith((k + ".", k + "[")) for o in values)}
        return {k: v for k, v in values.items() if k not in parents}

    rng = random.Random(7)
    parts = ["worker", "address", ".", "[", "]", "0", "city", "a.b", "x"]
    for _ in range(5000):
        values = {"".join(rng.choice(parts) for _ in range(rng.randint(0, 4))): str(i)
                  for i in range(rng.randint(0, 8))}
        assert list(_untangle(values).items()) == list(plain(values).items())
    assert _untangle({"worker.address": "1 Main St", "worker.address.city": "Springfield"}) == \
        {"worker.address.city": "Springfield"}


def _clean_by_pattern(raw: str) -> str:
    """`value_text.clean` as it was: NFKC, a regular expression for the white space."""
    text = unicodedata.normalize("NFKC", raw).replace("\u00a0", " ")
    return re.sub(r"\s+", " ", text).strip().strip(" \t:;,|_")


def test_clean_gives_the_text_the_pattern_gave() -> None:
    from parsers.value_text import clean

    rng = random.Random(61)
    odd = [chr(c) for c in (0x00A0, 0x2003, 0x3000, 0x1C, 0x1F, 0x85, 0xFB01, 0x00E9, 0x0301, 0xFF21, 0x2028)]
    pieces = [" ", "\t", "\n", "\r\n", ":", ";", ",", "|", "_", "a", "É", "7", "-", *odd]
    for _ in range(20000):
        raw = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 10)))
        assert clean(raw) == _clean_by_pattern(raw), repr(raw)


def _scores_over_every_entry(label: str, section: str | None) -> tuple[tuple[str, float], ...]:
    """`label_words.scores` as it was: every vocabulary entry weighed, not only those sharing a word."""
    import parsers.label_words as lw

    raw = lw.content_words(lw._HINTS.sub(" ", label))
    words = frozenset(k for w in raw if (k := lw._known(w, section)) is not None)
    if not words:
        return ()
    entries, weight = lw._index(section)
    total = sum(weight[w] for w in words) + (len(raw) - len(words)) * 1.5
    best: dict[str, float] = {}
    for ewords, fld in entries:
        if common := words & ewords:
            hit = sum(weight[w] for w in common)
            precision, recall = hit / total, hit / sum(weight[w] for w in ewords)
            best[fld] = max(best.get(fld, 0.0), 2 * precision * recall / (precision + recall))
    if any((len(w) < 5 or lw._synonym_slip(w) is not None) and lw._known(w, section) not in (w, None) for w in raw):
        best = {f: min(v, lw.GLYPH_SLIP_SCORE) for f, v in best.items()}
    if lw._head_word(label) in ("name", "names"):
        best = {f: v for f, v in best.items() if f.rsplit(".", 1)[-1].endswith("name")
                or f.rsplit(".", 1)[-1] == "business"} or best
    return tuple(sorted(best.items(), key=lambda kv: -kv[1]))


def test_label_scores_from_postings_are_the_scores_over_every_entry() -> None:
    import parsers.label_words as lw

    rng = random.Random(173)
    entries, _ = lw._index(None)
    words = [*sorted({w for ws, _f in entries for w in ws}), "the", "of", "abroad", "xq", "nme"]
    for _ in range(3000):
        label = " ".join(rng.choice(words) for _ in range(rng.randint(1, 5)))
        section = rng.choice([None, "employer", "worker", "assignment"])
        assert lw.scores.__wrapped__(label, section) == _scores_over_every_entry(label, section), (label, section)
