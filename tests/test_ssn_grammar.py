"""One SSN grammar for reading and masking (`parsers.ssn_grammar`): whatever the value reader takes
for an SSN, written with any of its separators inside any text, the mask masks and the counter
counts; a ZIP+4 is never either."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.pii import count_ssns, mask_ssns
from parsers.prose import find_in_prose
from parsers.ssn_grammar import SEPARATOR_CHARS
from parsers.values import parse_ssn

_SPACES = " \t\u00a0\n"
_AROUND = st.text(alphabet=st.sampled_from(list("abcSSN#:;,()[]'\" \n") + list(SEPARATOR_CHARS)), max_size=12)
_WS = st.text(alphabet=st.sampled_from(list(_SPACES)), max_size=2)
_PUNCT = st.text(alphabet=st.sampled_from(list(SEPARATOR_CHARS)), min_size=1, max_size=2)
# Separators as people write them (`-`, ` / `, an en dash, spaces), and any run of separator
# characters (of which parse_ssn reads some).
_SEP = st.one_of(st.just(""), st.text(alphabet=st.sampled_from(list(_SPACES)), min_size=1, max_size=3),
                 st.tuples(_WS, _PUNCT, _WS).map("".join),
                 st.text(alphabet=st.sampled_from(list(_SPACES + SEPARATOR_CHARS)), max_size=6))


def fake_ssn(rng: random.Random) -> str:
    """A valid-looking made-up SSN (area not 000, 666 or 9xx; group and serial not zero)."""
    area = rng.choice([a for a in range(1, 900) if a != 666])
    return f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"


@settings(max_examples=400, deadline=None)
@given(seed=st.integers(0, 2**32), sep1=_SEP, sep2=_SEP, before=_AROUND, after=_AROUND)
def test_whatever_parse_ssn_reads_is_masked_and_counted(seed: int, sep1: str, sep2: str, before: str,
                                                        after: str) -> None:
    digits = fake_ssn(random.Random(seed))
    written = f"{digits[:3]}{sep1}{digits[3:5]}{sep2}{digits[5:]}"
    if parse_ssn(written) is None:
        return
    assert parse_ssn(written) == f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"
    text = before + written + after
    masked = mask_ssns(text)
    assert re.sub(r"\D", "", masked) == digits[5:], (text, masked)
    assert count_ssns(text) == 1, text


@pytest.mark.parametrize("written", ["807 / 97 / 9610", "612\u201348\u20133957", "612\u201448\u20143957",
                                     "612_48_3957", "612/48/3957", "612 - 48 - 3957", "612.48.3957",
                                     "612-48 3957", "612-483957", "612483957", "612  48  3957",
                                     "612-48-3957.", "-612-48-3957"])
def test_the_separators_the_issue_names_are_read_masked_and_counted(written: str) -> None:
    assert parse_ssn(written) is not None
    text = f"Subject: COC request, SSN {written}, thanks"
    assert count_ssns(text) == 1
    assert re.sub(r"\D", "", mask_ssns(text)) == re.sub(r"\D", "", written)[5:]


@pytest.mark.parametrize("zip4", ["83702-1234", "83702 - 1234", "83702\u20131234", "83702 1234", "83702/1234"])
def test_a_zip_plus_4_is_neither_read_nor_masked(zip4: str) -> None:
    assert parse_ssn(zip4) is None
    assert mask_ssns(f"Boise, ID {zip4}") == f"Boise, ID {zip4}"
    assert count_ssns(f"Boise, ID {zip4}") == 0


def test_prose_reads_an_ssn_written_with_en_dashes_or_spaced_slashes() -> None:
    for written in ("612\u201348\u20133957", "612 / 48 / 3957"):
        found = [c for c in find_in_prose(f"Worker: Jane Roe\nSocial security number {written}\n", part="body")
                 if c.field == "worker.ssn"]
        assert [c.value for c in found] == ["612-48-3957"], written
