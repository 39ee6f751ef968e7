"""Faxed letters as others write them (issue 12, fax side): the classes of miss found on faxes of a
second generator, each rebuilt here from generated data.

- a thin underscore leader the fax broke into pieces far apart is still one separator;
- a tab stop a few millimetres wide in an OCR'd line separates label and value;
- the fax machine's transmission line above a letterhead, and the bar between its street and city
  read as a bracket (or lost), do not hide the letterhead's address;
- a sentence wrapped onto its own line ("... the following / assignment:") takes no labelled line
  under it for its value.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from parsers import ocr, ocr_repair, page_marks
from parsers.body import parse_text
from parsers.layout import Line, Word, lines_from_words
from parsers.letterhead import from_letterhead
from parsers.types import Box, Candidate, Provenance
from tests.faxgen import FONT_DIR, PAGE_DPI, fax


def test_a_leader_broken_far_apart_is_one_separator() -> None:
    ink = np.zeros((300, 1400), dtype=bool)
    ink[100:130, 40:60] = True  # the label's last letter
    for x0, x1 in ((80, 200), (265, 300), (372, 470), (540, 640)):  # an underline in pieces 0.3 in apart
        ink[128:130, x0:x1] = True
    ink[100:130, 680:700] = True  # the value's first letter
    marks = page_marks.find_marks(ink, (204.0, 204.0))
    leaders = marks.leaders
    assert len(leaders) == 1 and leaders[0].x0 <= 85 and leaders[0].x1 >= 635, leaders


def test_pieces_with_writing_between_stay_apart() -> None:
    ink = np.zeros((300, 1400), dtype=bool)
    ink[100:130, 40:60] = True
    ink[128:130, 80:200] = True
    ink[100:130, 240:260] = True  # a word between the two lines: two fields on one row
    ink[128:130, 300:420] = True
    ink[100:130, 460:480] = True
    assert len(page_marks.find_marks(ink, (204.0, 204.0)).leaders) == 2


def _row(texts_at: list[tuple[str, float, float]], y: float = 0.30, h: float = 0.012) -> list[Word]:
    return [Word(t, Box(x0=x0, y0=y, x1=x1, y1=y + h), 0.95, 1) for t, x0, x1 in texts_at]


def test_a_tab_stop_in_an_ocr_line_is_a_tab_word() -> None:
    words = _row([("Name", 0.10, 0.15), ("of", 0.157, 0.17), ("the", 0.177, 0.20), ("worker", 0.207, 0.27),
                  ("Doe,", 0.29, 0.33), ("Jane", 0.337, 0.38)])
    plain = lines_from_words(words)
    tabbed = lines_from_words(words, tabs=True)
    assert [ln.text for ln in plain] == ["Name of the worker Doe, Jane"]
    assert [ln.text for ln in tabbed] == ["Name of the worker \t Doe, Jane"]
    even = _row([("We", 0.10, 0.13), ("ask", 0.137, 0.17), ("for", 0.177, 0.20), ("a", 0.207, 0.215)])
    assert "\t" not in lines_from_words(even, tabs=True)[0].text  # word spaces only


@pytest.mark.parametrize("resolution", ["fine", "normal"])
def test_tabbed_label_and_value_read_from_a_fax(resolution: str) -> None:
    page = Image.new("L", (1700, 1000), 255)
    page.info["dpi"] = (PAGE_DPI, PAGE_DPI)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(FONT_DIR + "DejaVuSans.ttf", round(12 * PAGE_DPI / 72))
    label = "Name of the employee (family name, given name)"
    draw.text((200, 300), label, fill=0, font=font)
    x = 200 + draw.textlength(label, font=font) + round(0.2 * PAGE_DPI)  # a tab stop 5 mm on
    draw.text((x, 300), "Harlow, Bennet", fill=0, font=font)
    faxed = fax(page, resolution=resolution)  # type: ignore[arg-type]
    texts = [ln.text for ln in lines_from_words(ocr.ocr_page(faxed, page=1), tabs=True)]
    assert any(t.endswith("\t Harlow, Bennet") for t in texts), texts


def _line(text: str, y0: float, h: float = 0.012) -> Line:
    words, x = [], 0.1
    for t in text.split():
        words.append(Word(t, Box(x0=x, y0=y0, x1=x + 0.01 * len(t), y1=y0 + h), 0.9, 1))
        x += 0.01 * len(t) + 0.006
    return Line(words)


_STAMP = [_line("NOV-21-2026 10:14", 0.006), _line("FROM: ORCHARD TOOLS INC.", 0.006), _line("P.1/2", 0.006)]


@pytest.mark.parametrize("bar", ["]", "[", "{", "I", "(", "|"])
def test_letterhead_under_a_fax_stamp_with_its_bar_misread(bar: str) -> None:
    lines = [*_STAMP, _line("Orchard Tools Inc.", 0.04), _line(f"418 Quarry Road {bar} Dunmore, OH 43015", 0.055),
             _line("November 21, 2026", 0.09)]
    got = {c.field: c.value for c in from_letterhead(lines, [], "fax.tif", 1, "ocr")}
    assert got.get("employer.address.street") == "418 Quarry Road" and got.get("employer.address.city") == "Dunmore"
    assert got.get("employer.address.postal_code") == "43015"


def test_letterhead_whose_bar_was_lost_is_known_by_its_labelled_twin() -> None:
    lines = [*_STAMP, _line("Orchard Tools Inc.", 0.04), _line("418 Quarry Road Dunmore, OH 43015", 0.055)]
    prov = Provenance(part="fax.tif", page=1, method="ocr", label="Registered office")
    found = [Candidate(field=f"worker.address.{k}", value=v, raw="", confidence=0.9, provenance=prov)
             for k, v in (("street", "418 Quarry Road"), ("city", "Dunmore"), ("state", "OH"),
                          ("postal_code", "43015"), ("country", "US"))]
    got = {c.field: c for c in from_letterhead(lines, found, "fax.tif", 1, "ocr")}
    assert got["employer.address.city"].value == "Dunmore" and got["employer.address.city"].uncertain
    assert not any(f.startswith("worker.address") for f in got)


def test_a_text_letterhead_keeps_its_first_lines() -> None:
    """No stamp on a text layer: its first lines are the letterhead, wherever they sit."""
    lines = [_line("Orchard Tools Inc.", 0.006), _line("418 Quarry Road | Dunmore, OH 43015", 0.02)]
    got = {c.field: c.value for c in from_letterhead(lines, [], "letter.pdf", 1, "text")}
    assert got.get("employer.address.city") == "Dunmore"


def test_a_wrapped_sentence_takes_no_labelled_line_for_its_value() -> None:
    text = ("Please issue a certificate of coverage for the following\n"
            "assignment:\n"
            "Employee name (last, first) ______ Harlow, Bennet\n"
            "Citizenship ______ Canadian\n")
    got = {c.field: c.value for r in parse_text(text, "body").records for c in r}
    assert got.get("worker.last_name") == "Harlow" and got.get("worker.first_name") == "Bennet"


def test_leader_dots_glued_to_the_label_are_a_leader_word() -> None:
    got = ocr_repair.leader_tail(Word("starts__...", Box(x0=0.1, y0=0.3, x1=0.2, y1=0.31), 0.9, 1))
    assert [w.text for w in got] == ["starts", "______"]
    assert got[0].box is not None and got[0].box.x1 < 0.2
    one = ocr_repair.leader_tail(Word("payroll_", Box(x0=0.1, y0=0.3, x1=0.2, y1=0.31), 0.9, 1))
    assert [w.text for w in one] == ["payroll", "______"]  # the first stroke of an underline, glued on
    for word in ("U.S.", "Inc.", "etc..", "snake_case"):  # a word's own stops stay
        assert [w.text for w in ocr_repair.leader_tail(Word(word, Box(x0=0.1, y0=0.3, x1=0.2, y1=0.31)))] == [word]


def test_a_dash_just_past_a_leader_is_a_piece_of_it() -> None:
    """`Citizenship ______ — United States`: the dash is what the fax broke off the underline."""
    w, h, dpi = 1734, 2244, 204
    leader = page_marks.Leader(0.36 * w, 0.488 * h, 0.396 * w, 0.501 * h, "line")
    dash = Word("—", Box(x0=0.414, y0=0.4996, x1=0.429, y1=0.5018), 0.6, 1)
    value = Word("United", Box(x0=0.450, y0=0.4893, x1=0.520, y1=0.4996), 0.95, 1)
    words, leaders = ocr_repair.leader_remnants([dash, value], [leader], w, h, dpi)
    assert [x.text for x in words] == ["United"] and leaders[0].x1 >= 0.429 * w
    far = Word("—", Box(x0=0.70, y0=0.4996, x1=0.72, y1=0.5018), 0.9, 1)  # a dash in the text, away from it
    assert ocr_repair.leader_remnants([far], [leader], w, h, dpi)[0] == [far]


def test_a_flat_word_beside_a_leader_is_the_rest_of_it() -> None:
    """At 204x98 the broken end of an underline reads as `wee,` on the baseline: it is no word of the
    value ("wee, Sulard" read as "Last, First") but leader; a flat word away from any leader goes."""
    w, h, dpi = 1734, 2156, 204
    px = 1 / h
    leader = page_marks.Leader(388, 730, 669, 754, "line")
    label = Word("name", Box(x0=308 / w, y0=733 * px, x1=378 / w, y1=751 * px), 0.9, 1)
    flat = Word("wee,", Box(x0=700 / w, y0=750 * px, x1=761 / w, y1=755 * px), 0.3, 1)
    value = Word("Sulard", Box(x0=785 / w, y0=727 * px, x1=869 / w, y1=751 * px), 0.9, 1)
    stray = Word("a.", Box(x0=1400 / w, y0=900 * px, x1=1430 / w, y1=905 * px), 0.4, 1)
    small = Word("or", Box(x0=1400 / w, y0=1000 * px, x1=1430 / w, y1=1016 * px), 0.9, 1)  # short, not flat
    words, leaders = ocr_repair.flat_remnants([label, flat, value, stray, small], [leader], w, h, dpi)
    assert [x.text for x in words] == ["name", "Sulard", "or"]
    assert leaders[0].x1 >= 761 and leaders[0].y0 == 730


def test_a_leader_joins_its_label_to_a_far_value_in_an_ocr_line() -> None:
    """A fax took the start of the underline off with the line: label, leader and value stay one
    line however wide the gaps beside the leader (two wide gaps would make three lines)."""
    row = [("Office", 0.10, 0.16), ("abroad", 0.165, 0.22), ("______", 0.28, 0.41), ("Drounch", 0.46, 0.58),
           ("7,", 0.585, 0.6)]
    words = [Word(t, Box(x0=a, y0=0.5, x1=b, y1=0.512), 0.9, 1) for t, a, b in row]
    lines = lines_from_words(words, tabs=True)
    assert [ln.text for ln in lines] == ["Office abroad ______ Drounch 7,"]


def _spaced(pieces: list[tuple[str, float]]) -> list[Word]:
    x, out = 0.1, []
    for text, gap in pieces:
        out.append(Word(text, Box(x0=x, y0=0.3, x1=x + 0.008 * len(text), y1=0.312), 0.9, 1))
        x += 0.008 * len(text) + gap
    return out


@pytest.mark.parametrize(("pieces", "want"), [
    ([("p.", 0.005), ("roe@acme.com", 0.0)], "p.roe@acme.com"),
    ([("payroll", 0.005), ("@", 0.005), ("acme.com", 0.0)], "payroll@acme.com"),
    ([("s.roe@acme", 0.005), ("tools.com", 0.0)], "s.roe@acmetools.com"),
])
def test_an_email_ocr_broke_into_words_is_one_word(pieces: list[tuple[str, float]], want: str) -> None:
    assert [ln.text for ln in lines_from_words(_spaced(pieces), tabs=True)] == [want]


def test_words_beside_an_email_stay_apart() -> None:
    words = _spaced([("write", 0.005), ("to", 0.005), ("roe@acme.com", 0.005), ("today", 0.0)])
    assert [ln.text for ln in lines_from_words(words, tabs=True)] == ["write to roe@acme.com today"]
    far = _spaced([("p.", 0.05), ("roe@acme.com", 0.0)])  # a tab stop away: a label's end, not the address
    assert "p.roe@acme.com" not in lines_from_words(far, tabs=True)[0].text


def _placed(texts: list[tuple[str, float, float]], y: float, page: int, conf: float = 0.95) -> list[Word]:
    return [Word(t, Box(x0=a, y0=y, x1=b, y1=y + 0.012), conf, page) for t, a, b in texts]


def test_a_label_at_a_page_foot_has_its_value_under_the_next_pages_fax_header() -> None:
    """The OCR'd pages of a letter are read together: the label ending page 1 ("Foreign company")
    takes the first line of page 2, past the fax header atop it; that header is no value."""
    from parsers.ocr_letter import by_page, read_letter
    from parsers.types import Part

    page1 = (_placed([("NOV-20-2026", 0.03, 0.11), ("09:13", 0.12, 0.16), ("P.1/2", 0.4, 0.43)], 0.005, 1)
             + _placed([("Citizenship", 0.1, 0.2), ("______", 0.21, 0.4), ("Canadian", 0.45, 0.55)], 0.5, 1)
             + _placed([("Foreign", 0.1, 0.17), ("company", 0.18, 0.26)], 0.9, 1))
    page2 = (_placed([("NOV-20-2026", 0.03, 0.11), ("09:14", 0.12, 0.16), ("P.2/2", 0.4, 0.43)], 0.005, 2)
             + _placed([("Tramblet", 0.1, 0.2), ("Logistics", 0.21, 0.3), ("GmbH", 0.31, 0.36)], 0.07, 2)
             + _placed([("Sincerely,", 0.1, 0.2)], 0.2, 2))
    part = Part(name="fax", media_type="image/tiff", data=b"")
    found, texts = read_letter([(1, page1), (2, page2)], part, set())
    got = {c.field: c for c in found}
    assert got["assignment.host_name"].value == "Tramblet Logistics GmbH"
    assert got["assignment.host_name"].provenance.page == 2
    assert len(texts) == 2 and "P.2/2" in texts[1]
    pages = by_page(found, [1, 2])
    assert got["assignment.host_name"] in pages[2] and got["worker.citizenship"] in pages[1]


def test_a_rule_alone_on_its_line_does_not_cut_a_wrapped_table_value() -> None:
    """A table's label cell ends with a rule between the two lines its value wrapped onto: the rule
    read as a leader of its own stands for nothing, and the address reads whole."""
    from parsers.ocr_letter import read_letter
    from parsers.types import Part

    words = (_placed([("U.S.", 0.05, 0.09), ("office", 0.1, 0.16), ("address", 0.17, 0.25),
                      ("3024", 0.5, 0.54), ("Chiethmi", 0.55, 0.63), ("Street,", 0.64, 0.71),
                      ("Myndtra,", 0.72, 0.8)], 0.5, 1)
             + _placed([("______", 0.04, 0.46)], 0.519, 1)
             + _placed([("NC", 0.5, 0.53), ("60870", 0.54, 0.6)], 0.526, 1)
             + _placed([("Host", 0.05, 0.09), ("country", 0.1, 0.17), ("Czechia", 0.5, 0.58)], 0.552, 1))
    found, _texts = read_letter([(1, words)], Part(name="fax", media_type="image/tiff", data=b""), set())
    got = {c.field: c.value for c in found}
    assert got.get("employer.address.postal_code") == "60870" and got.get("employer.address.state") == "NC"
    assert got.get("employer.address.city") == "Myndtra"
