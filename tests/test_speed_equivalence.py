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
