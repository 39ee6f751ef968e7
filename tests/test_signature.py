"""Signature blocks, letterheads and employment sentences (issue 14, item 6: ask once).

The data is generated here, with this file's own words: closings, job titles, phone styles and
sentences that no parser lists (the parser reads the shape of a signature, not a list of closings),
so the figures say whether the reading generalises.
"""

from __future__ import annotations

import random

import pytest
from fpdf import FPDF

from intake.extract import extract_submission
from parsers.body import parse_text
from parsers.pdf_text import parse_pdf
from parsers.signature import LETTERHEAD, SIGNATURE, SOURCE_CONFIDENCE
from parsers.types import Candidate, Limits, Part

SYLLABLES = ["ka", "lo", "mer", "vin", "dra", "sel", "tor", "bes", "quin", "ha", "rul", "pem", "ost", "ny"]
CLOSINGS = ["Warm wishes,", "All the best,", "Respectfully,", "Yours faithfully,", "Cheers!", "Many thanks,",
            "With appreciation,", "Take care,", "Best", "Gratefully,", "--"]
TITLES = ["Global Mobility Lead", "People Operations Partner", "Payroll & Benefits", "HR Generalist", ""]
SUFFIXES = ["Inc.", "LLC", "Corporation", "Co.", "L.L.C.", "Ltd."]
STATES = ["OR", "KS", "VT", "NM", "GA", "MN"]


def _word(rng: random.Random, n: int = 2) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(n)).capitalize()


def _person(rng: random.Random) -> str:
    return f"{_word(rng)} {_word(rng, 3)}"


def _phone(rng: random.Random) -> tuple[str, str]:
    a, b, c = rng.randint(201, 989), rng.randint(200, 999), rng.randint(0, 9999)
    shown = rng.choice([f"({a}) {b}-{c:04d}", f"{a}.{b}.{c:04d}", f"+1 {a} {b} {c:04d}", f"{a}-{b}-{c:04d}"])
    label = rng.choice(["", "Direct: ", "Tel. ", "M ", "Office | "])
    return shown, label + shown


def _signature(rng: random.Random) -> tuple[str, dict[str, str]]:
    name, company = _person(rng), f"{_word(rng)} {_word(rng)} {rng.choice(SUFFIXES)}"
    phone, phone_line = _phone(rng)
    email = f"{name.split()[0].lower()}@{company.split(maxsplit=1)[0].lower()}.example.com"
    street = f"{rng.randint(2, 9800)} {_word(rng)} {rng.choice(['Way', 'Blvd', 'Court', 'Pike'])}"
    city, state, zip_code = _word(rng, 3), rng.choice(STATES), f"{rng.randint(10000, 99999)}"
    lines = [name, rng.choice(TITLES), company, phone_line, email]
    if rng.random() < 0.5:
        lines += [street, f"{city}, {state} {zip_code}"]
    else:
        lines += [f"{street} | {city}, {state} {zip_code}"]
    rng.shuffle(lines[3:5])
    closing = rng.choice(CLOSINGS)
    text = closing + "\n" + "\n".join(x for x in lines if x)
    return text, {"employer.contact_name": name, "employer.name": company, "employer.contact_email": email,
                  "employer.contact_phone": phone, "employer.address.city": city, "employer.address.state": state,
                  "employer.address.postal_code": zip_code}


def _by_field(cands: list[Candidate]) -> dict[str, Candidate]:
    return {c.field: c for c in cands}


REQUEST = ("Good afternoon,\n\nplease find our request below.\n\nEmployee: Tamsin Orvell\nSSN: 531-44-2087\n"
           "Date of birth: 03/14/1988\nCountry of assignment: Germany\nStart date: 02/01/2027\n"
           "End date: 01/31/2029\n\n")


@pytest.mark.parametrize("seed", range(40))
def test_a_signature_block_gives_the_employer_contact(seed: int) -> None:
    rng = random.Random(seed)
    sig, want = _signature(rng)
    got = _by_field(parse_text(REQUEST + sig + "\n", "body").records[0])
    for path, value in want.items():
        assert path in got, (path, sig)
        assert got[path].value == value, (path, got[path].value, sig)
        assert got[path].provenance.label == SIGNATURE and got[path].confidence == SOURCE_CONFIDENCE < 1.0
    assert got["worker.last_name"].value == "Orvell"  # the request itself is read as before


def test_a_labelled_value_wins_over_the_signature_and_no_conflict_is_made() -> None:
    text = REQUEST + "Contact person: Ludo Brancaster\n\nAll the best,\nKavin Selmer\nOstha Dramer LLC\n"
    result = extract_submission(text.encode(), channel="file", filename="request.txt")
    (req,) = result.requests
    assert req.request.employer is not None and req.request.employer.contact_name == "Ludo Brancaster"
    assert req.request.employer.name == "Ostha Dramer LLC"  # the signature still fills what nobody labelled
    assert req.provenance["employer.name"].label == SIGNATURE
    assert not [p for p in req.problems if p.code == "conflict"]


def test_no_signature_is_invented() -> None:
    """An opening, a closing without a name, or a name in the middle of the text is no signature."""
    text = ("Dear Sir or Madam,\nHorvik Tandersen\nneeds a certificate.\n\nThank you for your help with this,\n"
            "we look forward to hearing from you.\n")
    got = _by_field(parse_text(text, "body").records[0] if parse_text(text, "body").records else [])
    assert not any(c.provenance.label == SIGNATURE for c in got.values())


def test_a_self_employed_writers_signature_is_their_own_contact() -> None:
    text = ("Hi there,\n\nI'm a freelance illustrator and I run my own studio; I will work in Lisbon, Portugal "
            "from 04/01/2027 to 03/31/2028. My SSN is 604-22-1935 and I was born 07/09/1991.\n\n"
            "Thanks so much,\nRenna Volkaster\n(541) 555-0187\nrenna@volkaster-art.example.com\n")
    got = _by_field(parse_text(text, "body").records[0])
    assert got["request_type"].value == "self_employed"
    assert got["worker.phone"].value == "(541) 555-0187"
    assert got["worker.email"].value == "renna@volkaster-art.example.com"
    assert not any(f.startswith("employer.") for f in got)


def _letter(rng: random.Random, company: str, street: str, city_line: str, phone: str, body: list[str]) -> bytes:
    pdf = FPDF(format="Letter")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(0, 8, company, new_x="LMARGIN", new_y="NEXT", align=rng.choice(["L", "C"]))
    pdf.set_font("Helvetica", "", 9)
    for line in (street, city_line, phone):
        pdf.cell(0, 4.5, line, new_x="LMARGIN", new_y="NEXT", align="L")
    pdf.ln(10)
    pdf.set_font("Helvetica", "", 11)
    pdf.cell(0, 6, "December 1, 2026", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.multi_cell(0, 5.5, "Social Security Administration\nOffice of International Programs\n"
                           "P.O. Box 17741\nBaltimore, MD 21235-7741")
    pdf.ln(4)
    pdf.multi_cell(0, 5.5, "Dear colleagues,")
    pdf.ln(2)
    for para in body:
        pdf.multi_cell(0, 5.5, para)
        pdf.ln(2)
    return bytes(pdf.output())


SENTENCES_YES = [
    "{f} was originally recruited at our Tulsa, OK office and will stay on the U.S. payroll for the whole posting.",
    "We engaged {f} in the United States in 2017; {f} continues to be paid through our American payroll.",
    "{f} was hired stateside and remains employed by us while abroad.",
]
SENTENCES_NO = [
    "{f} was hired overseas by our branch and will not stay on our payroll during the posting.",
    "{f} was recruited locally and will no longer be on our payroll once the transfer begins.",
]


@pytest.mark.parametrize("seed", range(10))
def test_a_letter_on_company_paper_gives_employer_name_address_and_the_employment_facts(seed: int) -> None:
    rng = random.Random(1000 + seed)
    company = f"{_word(rng)} {_word(rng)} {rng.choice(SUFFIXES)}"
    street, city, state, zip_code = f"{rng.randint(3, 999)} {_word(rng)} Street", _word(rng, 3), rng.choice(STATES), \
        f"{rng.randint(10000, 99999)}"
    phone, _ = _phone(rng)
    first, yes = _word(rng), rng.random() < 0.5
    facts = rng.choice(SENTENCES_YES if yes else SENTENCES_NO).format(f=first)
    body = [f"We ask for a certificate of coverage for our employee {first} {_word(rng, 3)}, whose Social Security "
            f"number is 538-21-7740.", facts, "Sincerely,", "", f"{_person(rng)}", "Director, Talent"]
    pdf = _letter(rng, company, street, f"{city}, {state} {zip_code}", f"Phone {phone}", body)
    ext = parse_pdf(Part(name="attachment 1: letter.pdf", media_type="application/pdf", data=pdf), Limits())
    got = _by_field([c for r in ext.records for c in r])
    assert got["employer.name"].value == company and got["employer.name"].provenance.label == LETTERHEAD
    assert got["employer.address.city"].value == city and got["employer.address.state"].value == state
    assert got["employer.address.postal_code"].value == zip_code
    assert got["employer.address.street"].value == street
    assert got["employer.name"].confidence < 1.0 and got["employer.name"].provenance.page == 1
    assert got["assignment.hired_in_us"].value == ("true" if yes else "false"), facts
    assert got["assignment.remains_employee"].value == ("true" if yes else "false"), facts
    assert "Baltimore" not in {c.value for c in got.values()}  # the recipient (us) is not the employer


def test_the_place_of_work_abroad_written_in_a_sentence() -> None:
    text = ("Hello,\n\nfrom June 2, 2027 our employee Corvin Ashdale (SSN 523-61-0094) will be posted with our "
            "partner Talvik Oy in Finland, at Kuusitie 14 B, 00270 Helsinki, Finland, until May 30, 2029.\n")
    got = _by_field(parse_text(text, "body").records[0])
    assert got["assignment.work_address.street"].value == "Kuusitie 14 B"
    assert got["assignment.work_address.city"].value == "Helsinki"
    assert got["assignment.work_address.country"].value == "FI"
    assert "employer.address.city" not in got


def test_sentences_of_employment_in_a_mail() -> None:
    for template, want in [(s, "true") for s in SENTENCES_YES] + [(s, "false") for s in SENTENCES_NO]:
        text = f"Hello,\n\n{template.format(f='Oriel')}\n\nKind thoughts,\nBex Marrin\n"
        got = _by_field(parse_text(text, "body").records[0])
        assert got["assignment.hired_in_us"].value == want, template
        assert got["assignment.remains_employee"].value == want, template
