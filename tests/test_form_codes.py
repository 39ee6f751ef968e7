"""Our form faxed (issue 12, classes 4 and 5): a box's reading put right by what its value must be.

- A postal code's characters are read one by one, `0` for `O`, `Q` for `9`: the country beside it
  has a pattern of letters and digits, and one look-alike change that makes the code fit exactly one
  pattern is made, flagged; a code that fits as read, or fits two ways, is left.
- A country's name typed past its box's end is printed cut (`Federal Republic of G`): the one
  country whose name begins so is the value.
- A letter alone in its box (a middle initial) is read twice by Tesseract (`Pp`); one glyph of ink
  is one letter.
- A legal form's `l` read as the digit `1` (`s.1.`) is settled like its `i` (`s.i.`).

Codes, names and glyphs are generated here: codes drawn at random from each pattern, every
country name pycountry holds cut at every length, letters typed in a font.
"""

from __future__ import annotations

import random
import string

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from parsers import email_names, form_glyphs, form_words, postcodes
from parsers.form_crops import _drop_streaks
from parsers.types import Candidate, Provenance
from parsers.value_places import country_cut, country_key, country_table

SANS = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
_LOOKS = {"0": "O", "O": "0", "1": "I", "I": "1", "5": "S", "S": "5", "8": "B", "B": "8", "9": "Q",
          "2": "Z", "Z": "2", "6": "G", "G": "6"}


_POOLS = {"9": string.digits, "A": string.ascii_uppercase, "X": string.ascii_uppercase + string.digits}


def _drawn(pattern: str, rng: random.Random) -> str:
    return "".join(rng.choice(_POOLS[p]) if p in _POOLS else p for p in pattern)


@pytest.mark.parametrize("country", sorted(postcodes.PATTERNS))
def test_one_lookalike_in_a_postal_code_is_put_right_or_left_never_made_another_code(country: str) -> None:
    rng = random.Random(country)
    fixed = 0
    for _ in range(60):
        code = _drawn(rng.choice(postcodes.PATTERNS[country]), rng)
        assert postcodes.put_right(code, country) is None  # a code that fits is left as read
        at = [k for k, c in enumerate(code) if c in _LOOKS]
        if not at:
            continue
        k = rng.choice(at)
        read = code[:k] + _LOOKS[code[k]] + code[k + 1:]
        got = postcodes.put_right(read, country)
        assert got in (None, code), (read, got)
        fixed += got == code
    assert fixed >= 20


def test_the_misreadings_of_a_faxed_form_are_put_right() -> None:
    for read, country, want in (("LI8 40W", "GB", "LI8 4OW"), ("RFQ SIG", "GB", "RF9 5IG"),
                                ("KIA OBI", "CA", "K1A 0B1"), ("I234 A8", "NL", "1234 AB"),
                                ("1O115", "DE", "10115"), ("LO3 D4V9", "IE", "L03 D4V9"),
                                ("9Z958", "US", "92958"), ("s0I4", "CH", "5014")):
        assert postcodes.put_right(read, country) == want, read
    for read, country in (("LI8 4OW", "GB"), ("D02 X285", "IE"), ("DO2", "IE"), ("ABCDE", "DE"), ("123", "FR"),
                          ("X1", None)):
        assert postcodes.put_right(read, country) is None, read


def _cand(field: str, value: str, uncertain: str | None = None) -> Candidate:
    return Candidate(field=field, value=value, raw=value, provenance=Provenance(part="fax.tif", method="ocr"),
                     uncertain=uncertain)


def test_a_pages_postal_codes_are_settled_by_their_own_addresses_country_and_flagged() -> None:
    found = [_cand("assignment.work_address.country", "GB"), _cand("assignment.work_address.postal_code", "LI8 40W"),
             _cand("employer.address.country", "US"), _cand("employer.address.postal_code", "I0115"),
             _cand("worker.address.postal_code", "I0115")]
    out = {c.field: c for c in postcodes.settle(found)}
    assert out["assignment.work_address.postal_code"].value == "LI8 4OW"
    assert out["assignment.work_address.postal_code"].uncertain == postcodes.DOUBT
    assert out["employer.address.postal_code"].value == "10115"
    assert out["worker.address.postal_code"].value == "I0115"  # no country read beside it: left
    doubted = [_cand("assignment.work_address.country", "GB", "read with 30% confidence"),
               _cand("assignment.work_address.postal_code", "LI8 40W")]
    assert postcodes.settle(doubted)[1].value == "LI8 40W"  # a doubted country decides nothing


def test_a_country_name_cut_at_its_box_end_is_that_country_or_none_never_another() -> None:
    table = country_table()
    named = 0
    for name, code in table.items():
        if len(name) < 8:
            continue
        for k in range(6, len(name)):
            got = country_cut(name[:k])
            assert got in (None, code) or table.get(country_key(name[:k])) is not None, (name[:k], got)
        named += country_cut(name[:-1]) == code
    assert named > 100
    assert country_cut("Federal Republic of G") == "DE"
    assert country_cut("Germany") is None  # whole: the ordinary reading takes it
    assert country_cut("Ger") is None


def _typed(text: str, size: int = 24) -> np.ndarray:
    font = ImageFont.truetype(SANS, size)
    img = Image.new("L", (300, size * 2), 255)
    ImageDraw.Draw(img).text((10, size // 3), text, fill=0, font=font)
    return np.where(np.asarray(img) < 140, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("letter", ["P", "V", "W", "v", "o", "S"])
def test_a_letter_alone_in_its_box_read_twice_is_read_once(letter: str) -> None:
    assert form_glyphs.lone_glyph(_typed(letter), letter.upper() + letter.lower()).casefold() == letter.casefold()


@pytest.mark.parametrize(("typed", "read"), [("Pp", "Pp"), ("Oo", "Oo"), ("AB", "Ab"), ("P", "PQ"), ("P", "P")])
def test_two_letters_typed_or_a_reading_of_two_letters_is_left(typed: str, read: str) -> None:
    assert form_glyphs.lone_glyph(_typed(typed), read) == read


def test_a_legal_forms_l_read_as_a_one_is_settled() -> None:
    assert form_words.settle_last_word("assignment.host_name", "dorkdrer analytics s.1.") == "dorkdrer analytics s.l."
    assert form_words.settle_last_word("employer.name", "Acme Studio 1") == "Acme Studio 1"
    assert form_words.settle_last_word("employer.address.street", "12 Route 1") == "12 Route 1"


def test_a_streak_down_the_page_through_a_box_is_erased_and_typed_letters_are_kept() -> None:
    for text in ("", "lil", "Jill Lyall", "l"):
        typed = _typed(text)
        streaked = typed.copy()
        streaked[:, 200:202] = 0  # a streak two pixels wide, top to bottom, clear of the text
        cleaned = _drop_streaks(streaked)
        assert (cleaned == typed).all(), text
        assert (_drop_streaks(typed.copy()) == typed).all(), text  # nothing typed reaches both ends


def test_a_doubted_address_is_put_right_by_the_names_it_is_made_of() -> None:
    for read, companies, people, want in (
            ("b.breamson@remfeicera.com", ["Remfel Ceramics LLC"], ["Bairko Breamson"], "b.breamson@remfelcera.com"),
            ("I.brumeli@myxchouengi.com", [], ["Lyse Brumell"], "l.brumell@myxchouengi.com"),
            ("v.otrourkman@lossnessfodd.com", ["Lossness Food Inc."], ["Vion O'Trourkman"],
             "v.otrourkman@lossnessfood.com")):
        assert email_names.put_right(read, companies, people) == want, read
    for read, companies, people in (("hr@acme.com", ["Acme Inc"], ["John Smith"]),  # nothing to swap
                                    ("payroll@northwind.com", ["Acme Inc"], ["John Smith"]),  # names elsewhere
                                    ("j.smith@acmx.com", ["Acme Inc"], ["John Smith"])):  # too short to tell
        assert email_names.put_right(read, companies, people) is None, read
    found = [_cand("employer.name", "Remfel Ceramics LLC"), _cand("employer.contact_name", "Bairko Breamson"),
             _cand("employer.contact_email", "b.breamson@remfeicera.com", "i or l?")]
    out = email_names.settle(found)[2]
    assert (out.value, out.uncertain) == ("b.breamson@remfelcera.com", "i or l?")  # put right, still flagged
    unsure = [found[0].model_copy(update={"uncertain": "read with 40% confidence"}), found[1],
              found[2].model_copy(update={"uncertain": None})]
    assert email_names.settle(unsure)[2].value == "b.breamson@remfeicera.com"  # only a doubted address, by sure names
    assert email_names.settle([*unsure[:2], found[2]])[2].value == "b.breamson@remfeicera.com"  # the company unsure
