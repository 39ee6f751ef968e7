"""A box's differing readings told apart by drawing them in the form's font (parsers.form_render).

The boxes here are drawn with the fonts the machine has, then sampled as a standard fax samples a
page (every other row) and stretched back, as the registered page is: generated text, no real data.
"""

from __future__ import annotations

import glob

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from parsers import form_render, form_text
from parsers import form_zones as fz
from parsers.form_layout import layout
from parsers.types import Candidate, Provenance


@pytest.fixture(autouse=True)
def _helvetica_like_face() -> None:
    """`scripts/setup` installs fonts-liberation2: without it these fail, they are not skipped."""
    assert form_render.available(), "no face drawn like Helvetica: run scripts/setup (fonts-liberation2)"


def _faxed_box(text: str, face: str = "LiberationSans-Regular.ttf", px: int = 30) -> np.ndarray:
    """`text` typed in `face` in a box's crop (0 ink, 255 paper), at 98 rows an inch and back."""
    found = glob.glob(f"/usr/share/fonts/**/{face}", recursive=True)
    if not found:
        pytest.fail(f"{face} not installed: run scripts/setup (fonts-liberation2)")
    font = ImageFont.truetype(found[0], px)
    image = Image.new("L", (int(font.getlength(text)) + 60, 44), 255)
    ImageDraw.Draw(image).text((6, 4), text, fill=0, font=font)
    rows = Image.fromarray(np.asarray(image)[::2]).resize(image.size, Image.Resampling.NEAREST)
    return (np.asarray(rows) >= 128).astype(np.uint8) * 255


def test_the_reading_whose_drawing_fits_the_ink_wins_over_the_votes() -> None:
    """Two readings of three say `kiasnyr`; the box's ink is `kiesnyr`, and the drawing says so."""
    box = _faxed_box("kiesnyr textiles")
    readings = ["kiasnyr textiles", "kiesnyr textiles", "kiasnyr textiles"]
    assert form_render.choose_words(box, "kiasnyr textiles", readings) == "kiesnyr textiles"
    # Readings that agree with the ink change nothing.
    assert form_render.choose_words(box, "kiesnyr textiles", ["kiesnyr textiles", "kiasnyr textiles"]) is None


def test_a_word_is_decided_on_its_own_and_the_others_kept() -> None:
    box = _faxed_box("Pois de la Turman")
    readings = ["Pois de a Turman", "Pois de la Turman", "Pois de ja Turman"]
    assert form_render.choose_words(box, "Pois de a Turman", readings) == "Pois de la Turman"


def test_a_box_typed_in_another_face_is_left_to_the_votes() -> None:
    """A typewriter's or a serif face fits no Helvetica drawing: nothing is chosen by it."""
    for face in ("LiberationMono-Regular.ttf", "LiberationSerif-Regular.ttf"):
        box = _faxed_box("kiesnyr textiles", face)
        assert form_render.choose_words(box, "kiasnyr textiles", ["kiasnyr textiles", "kiesnyr textiles"]) is None


def test_a_doubted_letter_is_swapped_only_when_the_swap_fits_clearly() -> None:
    assert form_render.swap_letters(_faxed_box("sosy sondley"), "sosy sondiey", ("il",)) == "sosy sondley"
    assert form_render.swap_letters(_faxed_box("louo mcshaltford"), "louo meshaltford", ("ce",)) == "louo mcshaltford"
    # Read right, the doubted letters stay as they are.
    assert form_render.swap_letters(_faxed_box("sosy sondley"), "sosy sondley", ("il",)) is None
    assert form_render.swap_letters(_faxed_box("nelson"), "nelson", ("ce",)) is None


def test_a_name_particle_after_a_small_word_stays_small() -> None:
    """`de la` in a capitalised name: the word before decides the case of an I/l word, not the
    majority (`Ceackiel de la Jourson` was put right to `de Ia`)."""
    assert form_text._i_or_l("Ceackiel de la Jourson") == ("Ceackiel de la Jourson", None)
    assert form_text._i_or_l("Pois de Ia Turman") == ("Pois de la Turman", "a capital I or a small l?")
    assert form_text._i_or_l("Northwind Analytics lnc")[0] == "Northwind Analytics Inc"


def test_a_thin_stroke_in_a_comb_of_capitals_is_an_i() -> None:
    """`lE` read from a country comb typed in capitals is `IE` (an L has its foot); typed in small
    letters, `lt` is `LT`. Either way the box is flagged."""
    spec = next(f for f in layout().fields if f.path == "assignment.work_address.country")
    assert form_text._value(spec, form_text._Read("lE"), 2) == ("IE", "a capital I or a small l?")
    assert form_text._value(spec, form_text._Read("lt"), 2) == ("LT", "a capital I or a small l?")


def _cand(field: str, value: str, doubt: str | None = None) -> Candidate:
    return Candidate(field=field, value=value, raw=value, provenance=Provenance(part="fax.tif", method="ocr"),
                     uncertain=doubt)


def test_a_doubted_country_two_boxes_read_alike_settles_the_postal_code() -> None:
    """The place of work's `IE` was doubted (its readings differed), the assignment's `IE` too:
    two boxes read alike, so the Irish pattern puts `LO3 D4V9` right (flagged still)."""
    page = [_cand("assignment.country", "IE", "readings of the box differ"),
            _cand("assignment.work_address.country", "IE", "readings of the box differ"),
            _cand("assignment.work_address.postal_code", "LO3 D4V9", "read with 48% confidence")]
    code = fz._settle_codes(page)[2]
    assert (code.value, code.uncertain) == ("L03 D4V9", "read with 48% confidence")
    # One doubted box alone vouches for nothing.
    alone = fz._settle_codes(page[1:])[1]
    assert alone.value == "LO3 D4V9"
