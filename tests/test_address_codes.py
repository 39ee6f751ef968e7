"""Addresses as letters write them and OCR reads them (issue 12, classes 4 and 5).

- A postal code written as a part of its own (`..., Houckdrieck, LI8 4OW, United Kingdom`,
  `Leopoldstr. 12, 80802, Munich`) is the postal code, with the city beside it.
- A postal code a fax misread (`LI8 40W`) is put right by its country's pattern, read with doubt;
  in a faxed letter a doubted e-mail address is put right by the names beside it
  (`parsers.email_names`), as on our form.
"""

from __future__ import annotations

import pytest

from parsers import postcodes
from parsers.layout import Word
from parsers.ocr import LOW_CONFIDENCE
from parsers.ocr_letter import read_letter
from parsers.types import Box, Part
from parsers.values import parse_address


@pytest.mark.parametrize(("text", "code", "city", "street"), [
    ("79 Myltver Road, Houckdrieck, LI8 4OW, United Kingdom", "LI8 4OW", "Houckdrieck", "79 Myltver Road"),
    ("Leopoldstr. 12, 80802, Munich, Germany", "80802", "Munich", "Leopoldstr. 12"),
    ("Leopoldstr. 12, Munich, 80802, Germany", "80802", "Munich", "Leopoldstr. 12"),
    ("Kliendfounvej 40, 2100, Kobenhavn, Denmark", "2100", "Kobenhavn", "Kliendfounvej 40"),
])
def test_a_postal_code_standing_alone_is_the_postal_code(text: str, code: str, city: str, street: str) -> None:
    got = parse_address(text)
    assert (got.get("postal_code"), got.get("city"), got.get("street")) == (code, city, street)


def test_a_misread_postal_code_is_put_right_and_a_right_one_is_left() -> None:
    assert postcodes.postal_slip("79 Myltver Road, Houckdrieck LI8 40W, United Kingdom") == \
        "79 Myltver Road, Houckdrieck LI8 4OW, United Kingdom"
    assert postcodes.postal_slip("79 Myltver Road, Houckdrieck LI8 4OW, United Kingdom") is None
    assert postcodes.postal_slip("12 Main St, Boise, ID 83702") is None
    assert postcodes.postal_slip("Kirchgasse 4, Vienna") is None  # no code to put right
    assert postcodes.postal_slip("Bliss Road 4, Bonn, Germany") is None  # a word, not a code misread
    assert parse_address("12 Main St, Boise, ID 83702")["postal_code"] == "83702"  # U.S. ones as before


def _row(text: str, y: float, conf: float = 0.95) -> list[Word]:
    out, x = [], 0.1
    for part in text.split(" | "):
        for t in part.split():
            w = 0.009 * len(t)
            out.append(Word(t, Box(x0=x, y0=y, x1=x + w, y1=y + 0.012), conf, 1))
            x += w + 0.006
        x += 0.12
    return out


def test_a_faxed_letters_postal_code_and_doubted_address_are_put_right_flagged() -> None:
    rows = [("Dear Sir or Madam,", 0.95), ("Please issue a certificate of coverage.", 0.95),
            ("Employee | Bennet Harlow", 0.95), ("Host company | Tramblet Logistics Ltd", 0.95),
            ("Work address | 79 Myltver Road, Houckdrieck LI8 40W, United Kingdom", 0.95),
            ("Employer | Remfel Ceramics LLC", 0.95), ("Contact | Bairko Breamson", 0.95),
            ("Contact e-mail | b.breamson@remfeicera.com", 0.4)]
    words = [w for k, (r, conf) in enumerate(rows) for w in _row(r, 0.2 + 0.025 * k, conf)]
    found, _texts = read_letter([(1, words)], Part(name="fax", media_type="image/tiff", data=b""), set())
    got = {c.field: c for c in found}
    code = got["assignment.work_address.postal_code"]
    assert code.value == "LI8 4OW"
    assert code.confidence < LOW_CONFIDENCE  # put right, and doubted: staff see it
    assert got["assignment.work_address.city"].value == "Houckdrieck"
    email = got["employer.contact_email"]
    assert email.value == "b.breamson@remfelcera.com"
    assert email.confidence < LOW_CONFIDENCE
    assert got["employer.name"].uncertain is None


def test_a_code_read_with_a_small_letter_is_put_right_and_a_code_typed_small_is_left() -> None:
    from parsers.postcodes import put_right

    assert put_right("C3L 4s5", "CA") == "C3L 4S5"  # OCR read the capital S small
    assert put_right("C3L 4S5", "CA") is None  # as read
    assert put_right("1015 cx", "NL") is None  # typed in small letters: the writer's, not a slip


def test_a_faxed_address_wrapped_inside_its_postal_code_is_read_whole_and_doubted() -> None:
    from parsers.fields import find_fields
    from parsers.layout import lines_from_text

    text = "Where the work is done \t 22 Fouthork Street, Cefun C3L\n4s5, Canada\nRecruited in the U.S.? \t No\n"
    got = {c.field: c for c in find_fields(lines_from_text(text), part="p", method="ocr")}
    place = {k.rsplit(".", 1)[-1]: got[k].value for k in got if k.startswith("assignment.work_address.")}
    assert place == {"street": "22 Fouthork Street", "city": "Cefun", "postal_code": "C3L 4S5", "country": "CA"}
    assert got["assignment.work_address.postal_code"].confidence < 1  # put right: for staff to see
