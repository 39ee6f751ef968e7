"""Generated PDF test documents: letters, fillable forms, broken files and fax-style image PDFs.

Every document is rendered from a `tests.synth` request dict, so a test can compare what a parser
read with what was written. Nothing here is a committed binary; every byte is made at test time.
"""

from __future__ import annotations

import io
import random
from datetime import date
from typing import Any, Literal

from fpdf import FPDF
from PIL import Image
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import letter as LETTER
from reportlab.pdfgen import canvas

from tests.synth import ABROAD, address_line, flat, labelled_lines, us_date

LetterStyle = Literal["colon", "table", "above", "prose"]
LETTER_STYLES: tuple[LetterStyle, ...] = ("colon", "table", "above", "prose")
FORM_EDITION = "COC-1 (2026-11)"
LETTER_DATE = date(2026, 11, 25)


def _country_name(code: str) -> str:
    return next(x[1] for x in ABROAD if x[0] == code)


def _full_name(w: dict[str, Any]) -> str:
    return " ".join(p for p in (w["first_name"], w["middle_name"], w["last_name"]) if p)


def request_pairs(req: dict[str, Any], rng: random.Random) -> list[tuple[str, str]]:
    """(label, value) pairs for a request: `synth.labelled_lines` plus the hire date and place."""
    pairs: list[tuple[str, str]] = []
    for line in labelled_lines(req, rng):
        label, _, value = line.partition(": ")
        pairs.append((label, value))
        if label.startswith("Hired in the U.S."):
            a = req["assignment"]
            if a["hire_date"]:
                pairs.append(("Date of hire", us_date(a["hire_date"], rng)))
            if a["hire_place"]:
                pairs.append(("Place of hire", a["hire_place"]))
    return pairs


def _letterhead(pdf: FPDF, req: dict[str, Any]) -> None:
    """Sender block and date, as on a real letter: unlabelled text the finders must not misread."""
    e, w = req["employer"], req["worker"]
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 7, e["name"] if e else _full_name(w), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.cell(0, 5, address_line(e["address"] if e else w["address"]), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("Helvetica", "", 11)
    pdf.cell(0, 6, LETTER_DATE.strftime("%B %-d, %Y"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.cell(0, 6, "Social Security Administration, Office of International Programs", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 7, "Re: Request for a U.S. Certificate of Coverage", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


def _prose(req: dict[str, Any], rng: random.Random) -> tuple[list[str], list[tuple[str, str]]]:
    """The request told in sentences, then the details employers list below the letter.

    The sentences carry what a person says in words (who, born when and where, where and when
    the work is); addresses, contacts, the yes/no answers and family members follow as a labelled
    "details" block, as in most real letters: nobody writes a ZIP code into a sentence.
    """
    w, a, e = req["worker"], req["assignment"], req["employer"]
    name = _full_name(w)
    country = _country_name(a["country"])
    city = a["work_address"]["city"]
    start, end = us_date(a["start_date"], rng), us_date(a["end_date"], rng)
    paras: list[str] = []
    details: list[tuple[str, str]] = []
    if e:
        paras.append(
            f"{e['name']} (EIN {e['ein']}) requests a certificate of coverage for our employee {name}, "
            f"Social Security number {w['ssn']}, born {us_date(w['date_of_birth'], rng)} in "
            f"{w['place_of_birth']}, who will work for {a['host_name']} in {city}, {country}, from "
            f"{start} through {end}."
        )
        paras.append(
            f"{w['first_name']} is a citizen of the United States and has been with us since "
            f"{us_date(a['hire_date'], rng)}."
        )
        details += [
            ("Employer address", address_line(e["address"])),
            ("Place of hire", a["hire_place"]),
            ("Hired in the U.S.", "Yes"),
            ("Remains employee of U.S. employer", "Yes"),
        ]
    else:
        paras.append(
            f"Hello, my name is {name} and I am self-employed ({w['business']}). My Social Security "
            f"number is {w['ssn']}; I was born {us_date(w['date_of_birth'], rng)} in {w['place_of_birth']}"
            f" and I am a citizen of the United States. I will be working in {city}, {country} from "
            f"{start} until {end}."
        )
        details += [
            ("Home address", address_line(w["address"])),
            ("Email", w["email"]),
            ("Phone", w["phone"]),
            ("Nature of business", w["business"]),
        ]
    details.append(("Work address abroad", f"{address_line(a['work_address'])}, {country}"))
    for dep in req["dependents"]:
        details.append(("Dependent", f"{dep['name']}, {dep['relationship']}, born {dep['date_of_birth']}"))
    if e:
        details += [
            ("Contact person", e["contact_name"]),
            ("Contact phone", e["contact_phone"]),
            ("Contact email", e["contact_email"]),
        ]
    if req["confirmation_email"]:
        paras.append(f"Please send the confirmation to {req['confirmation_email']}.")
    return paras, details


def letter_pdf(req: dict[str, Any], rng: random.Random, style: LetterStyle = "colon") -> bytes:
    """A text PDF letter (fpdf2) carrying the request in one of `LETTER_STYLES`.

    colon: `Label: value` lines; table: labels in a left column, values in a right one (no
    colons, so only positions pair them); above: small labels with the value on the next line, as
    a printed form; prose: sentences, then a labelled block of details.
    """
    pdf = FPDF(format="letter")
    pdf.set_margins(25, 20, 25)
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    _letterhead(pdf, req)
    pdf.set_font("Helvetica", "", 11)
    if style == "prose":
        pdf.multi_cell(0, 6, "Dear Sir or Madam,", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
        paras, details = _prose(req, rng)
        for para in paras:
            pdf.multi_cell(0, 6, para, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
        pdf.cell(0, 6, "Further details:", new_x="LMARGIN", new_y="NEXT")
        for label, value in details:
            pdf.cell(0, 6, f"{label}: {value}", new_x="LMARGIN", new_y="NEXT")
    else:
        pairs = request_pairs(req, rng)
        for label, value in pairs:
            if style == "colon":
                pdf.cell(0, 6, f"{label}: {value}", new_x="LMARGIN", new_y="NEXT")
            elif style == "table":
                pdf.set_font("Helvetica", "B", 10)
                pdf.cell(62, 7, label, border=1)
                pdf.set_font("Helvetica", "", 10)
                pdf.cell(0, 7, value, border=1, new_x="LMARGIN", new_y="NEXT")
            elif style == "above":
                pdf.set_font("Helvetica", "", 7)
                pdf.cell(0, 3.5, label.upper(), new_x="LMARGIN", new_y="NEXT")
                pdf.set_font("Helvetica", "", 11)
                pdf.cell(0, 5.5, value, border="B", new_x="LMARGIN", new_y="NEXT")
                pdf.ln(1.5)
            else:
                raise ValueError(f"unknown letter style {style!r}")
    pdf.ln(6)
    pdf.set_font("Helvetica", "", 11)
    pdf.cell(0, 6, "Sincerely,", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    signer = req["employer"]["contact_name"] if req["employer"] else _full_name(req["worker"])
    pdf.cell(0, 6, signer, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


# --- fillable forms ---------------------------------------------------------------------------

# Our own form: every field of the model, named by its path (dependents as `dependents.N.key`).
MODEL_TEXT_FIELDS: list[tuple[str, str]] = [
    ("worker.first_name", "First name"),
    ("worker.middle_name", "Middle name"),
    ("worker.last_name", "Last name"),
    ("worker.ssn", "Social Security number"),
    ("worker.date_of_birth", "Date of birth"),
    ("worker.place_of_birth", "Place of birth"),
    ("worker.citizenship", "Citizenship"),
    ("worker.residence_country", "Country of residence"),
    ("worker.foreign_id", "Foreign ID number"),
    ("worker.email", "Email"),
    ("worker.phone", "Phone"),
    ("worker.address.street", "Street"),
    ("worker.address.city", "City"),
    ("worker.address.state", "State"),
    ("worker.address.postal_code", "ZIP code"),
    ("worker.address.country", "Country"),
    ("worker.business", "Nature of business"),
    ("employer.name", "Employer name"),
    ("employer.ein", "EIN"),
    ("employer.address.street", "Street"),
    ("employer.address.city", "City"),
    ("employer.address.state", "State"),
    ("employer.address.postal_code", "ZIP code"),
    ("employer.address.country", "Country"),
    ("employer.contact_name", "Contact name"),
    ("employer.contact_phone", "Contact phone"),
    ("employer.contact_email", "Contact email"),
    ("employer.irs_3121l_date", "3121(l) agreement date"),
    ("assignment.country", "Country of assignment"),
    ("assignment.start_date", "Start date"),
    ("assignment.end_date", "End date"),
    ("assignment.host_name", "Host company"),
    ("assignment.work_address.street", "Street abroad"),
    ("assignment.work_address.city", "City"),
    ("assignment.work_address.state", "Region"),
    ("assignment.work_address.postal_code", "Postal code"),
    ("assignment.work_address.country", "Country"),
    ("assignment.hire_date", "Date of hire"),
    ("assignment.hire_place", "Place of hire"),
]
MODEL_CHECKBOXES: list[tuple[str, str]] = [
    ("assignment.hired_in_us", "Hired in the U.S."),
    ("assignment.remains_employee", "Remains an employee of the U.S. employer"),
]
DEPENDENT_SLOTS = 2

# Another agency's or employer's form: field names as such forms spell them (mapped through
# `labels.header_field` by the parser). Addresses are one field each, as on most such forms.
FOREIGN_NAMES: dict[str, str] = {
    "worker.first_name": "Employee First Name",
    "worker.middle_name": "Middle Name",
    "worker.last_name": "Employee Last Name",
    "worker.ssn": "EmployeeSSN",
    "worker.date_of_birth": "Date of Birth",
    "worker.place_of_birth": "Place of Birth",
    "worker.citizenship": "Citizenship",
    "worker.email": "Email Address",
    "worker.phone": "Telephone",
    "worker.address": "Home Address",
    "worker.business": "Nature of Business",
    "employer.name": "Employer Name",
    "employer.ein": "Employer EIN",
    "employer.address": "Employer Address",
    "employer.contact_name": "Contact Person",
    "employer.contact_phone": "Contact Phone",
    "employer.contact_email": "Contact Email",
    "assignment.country": "Country of Assignment",
    "assignment.start_date": "Start Date",
    "assignment.end_date": "End Date",
    "assignment.host_name": "Host Company",
    "assignment.work_address": "Work Address Abroad",
    "assignment.hire_date": "Date of Hire",
    "assignment.hire_place": "Place of Hire",
    "confirmation_email": "Confirmation Email",
}
FOREIGN_CHECKBOXES: dict[str, str] = {
    "assignment.hired_in_us": "Hired in US",
    "assignment.remains_employee": "Remains Employee",
}


def _form_value(path: str, value: str, rng: random.Random, names: str) -> str:
    """How a person would type the value: our form takes ISO, other forms get U.S. dates."""
    if names == "foreign" and (path.endswith("date") or path.endswith("date_of_birth")):
        return us_date(value, rng)
    if names == "foreign" and path in ("worker.citizenship",):
        return "United States" if value == "US" else value
    if names == "foreign" and path == "assignment.country":
        return _country_name(value)
    return value


def _foreign_fields(req: dict[str, Any], rng: random.Random) -> list[tuple[str, str, str]]:
    """(field name, printed label, value) for the foreign-named form."""
    f = flat(req)
    w, a, e = req["worker"], req["assignment"], req["employer"]
    out: list[tuple[str, str, str]] = []
    for path, name in FOREIGN_NAMES.items():
        if path == "worker.address":
            value = address_line(w["address"]) if w["address"] else ""
        elif path == "employer.address":
            value = address_line(e["address"]) if e else ""
        elif path == "assignment.work_address":
            value = f"{address_line(a['work_address'])}, {_country_name(a['country'])}"
        else:
            value = _form_value(path, f[path], rng, "foreign") if path in f else ""
        out.append((name, name, value))
    for i in range(DEPENDENT_SLOTS):
        dep = req["dependents"][i] if i < len(req["dependents"]) else None
        out.append((f"Dependent {i + 1} Name", f"Dependent {i + 1} Name", dep["name"] if dep else ""))
        out.append(
            (
                f"Dependent {i + 1} Date of Birth",
                f"Dependent {i + 1} Date of Birth",
                us_date(dep["date_of_birth"], rng) if dep else "",
            )
        )
        out.append(
            (f"Dependent {i + 1} Relationship", f"Dependent {i + 1} Relationship", dep["relationship"] if dep else "")
        )
    return out


def acroform_pdf(  # noqa: C901, PLR0912, PLR0915  (a branch per naming scheme and widget kind the form is written with)
    req: dict[str, Any] | None,
    names: Literal["model", "foreign", "generic"] = "model",
    *,
    split_digits: bool = False,
    edition: str | None = FORM_EDITION,
    rng: random.Random | None = None,
) -> bytes:
    """A fillable PDF (reportlab AcroForm) filled with the request's values.

    `names="model"` is our own form: fields named after model paths, a `request_type` radio with
    exports `employee`/`self_employed`, check boxes for the yes/no fields, and a hidden
    `coc_form_edition` field. `split_digits` gives SSN and EIN one box per digit
    (`worker.ssn.1`...). `names="foreign"` is another organisation's form with its own field names;
    `names="generic"` the same form as a PDF editor makes it, fields named `Text1`, `Check Box1`,
    `Group1`, so only the printed labels beside them say what they are.
    `req=None` gives the blank form.
    """
    rng = rng or random.Random(0)
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=LETTER)
    c.setTitle("Request for U.S. Certificate of Coverage")
    width, height = LETTER
    form = c.acroForm
    y = height - 60.0

    def heading() -> float:
        c.setFont("Helvetica-Bold", 13)
        c.drawString(50, height - 40, "Request for U.S. Certificate of Coverage")
        if edition and names == "model":
            c.setFont("Helvetica", 8)
            c.drawRightString(width - 50, height - 40, f"Form {edition}")
        return height - 70.0

    def next_row(y: float, step: float = 22.0) -> float:
        y -= step
        if y < 50:
            c.showPage()
            y = heading()
        return y

    y = heading()
    f = flat(req) if req else {}

    def label(text: str, y: float) -> None:
        c.setFont("Helvetica", 9)
        c.drawString(50, y + 5, text)

    if names == "model":
        if edition:
            form.textfield(
                name="coc_form_edition",
                value=edition,
                x=400,
                y=height - 30,
                width=100,
                height=12,
                annotationFlags="hidden",
                borderWidth=0,
            )
        label("Request type: employee / self-employed", y)
        rtype = req["request_type"] if req else None
        for i, export in enumerate(("employee", "self_employed")):
            form.radio(
                name="request_type",
                value=export,
                selected=rtype == export,
                x=260 + i * 70,
                y=y,
                size=14,
                tooltip=export,
            )
        y = next_row(y)
        for path, text in MODEL_TEXT_FIELDS:
            label(text, y)
            value = f.get(path, "")
            if split_digits and path in ("worker.ssn", "employer.ein"):
                digits = value.replace("-", "")
                count = 9
                for i in range(count):
                    form.textfield(
                        name=f"{path}.{i + 1}",
                        value=digits[i] if digits else "",
                        x=200 + i * 18,
                        y=y,
                        width=16,
                        height=16,
                        maxlen=1,
                        borderWidth=1,
                    )
            else:
                form.textfield(name=path, value=value, x=200, y=y, width=340, height=16, borderWidth=1)
            y = next_row(y)
        for path, text in MODEL_CHECKBOXES:
            label(text, y)
            form.checkbox(name=path, checked=f.get(path) == "true", x=300, y=y, size=14)
            y = next_row(y)
        for i in range(DEPENDENT_SLOTS):
            for key, text in (
                ("name", "Dependent name"),
                ("date_of_birth", "Date of birth"),
                ("relationship", "Relationship"),
            ):
                label(f"{text} ({i + 1})", y)
                form.textfield(
                    name=f"dependents.{i}.{key}",
                    value=f.get(f"dependents[{i}].{key}", ""),
                    x=200,
                    y=y,
                    width=340,
                    height=16,
                    borderWidth=1,
                )
                y = next_row(y)
        label("Send the confirmation of approval to", y)
        form.textfield(
            name="confirmation_email",
            value=f.get("confirmation_email", ""),
            x=200,
            y=y,
            width=340,
            height=16,
            borderWidth=1,
        )
    else:
        generic = names == "generic"
        label("Type of Request", y)
        rtype = req["request_type"] if req else None
        for i, (export, key) in enumerate((("Employee", "employee"), ("Self-Employed", "self_employed"))):
            c.setFont("Helvetica", 9)
            c.drawString(278 + i * 90, y + 3, export)
            form.radio(
                name="Group1" if generic else "Type of Request",
                value=export,
                selected=rtype == key,
                x=260 + i * 90,
                y=y,
                size=14,
            )
        y = next_row(y)
        for n, (name, text, value) in enumerate(_foreign_fields(req, rng) if req else [], start=1):
            label(text, y)
            form.textfield(
                name=f"Text{n}" if generic else name, value=value, x=200, y=y, width=340, height=16, borderWidth=1
            )
            y = next_row(y)
        for n, (path, name) in enumerate(FOREIGN_CHECKBOXES.items(), start=1):
            form.checkbox(name=f"Check Box{n}" if generic else name, checked=f.get(path) == "true", x=50, y=y, size=14)
            c.setFont("Helvetica", 9)
            c.drawString(70, y + 4, name)  # the caption to the right of the box, as on most forms
            y = next_row(y)
    c.showPage()
    c.save()
    return buf.getvalue()


# --- broken and odd files ----------------------------------------------------------------------


def simple_pdf(lines: list[str] | None = None, pages: int = 1) -> bytes:
    """A plain text PDF of `pages` pages (for limits and error cases)."""
    pdf = FPDF(format="letter")
    pdf.set_font("Helvetica", "", 11)
    for n in range(pages):
        pdf.add_page()
        for line in lines or [f"Page {n + 1}"]:
            pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def encrypted_pdf(password: str = "s3cret") -> bytes:
    """A PDF that needs a user password to open."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(simple_pdf(["Confidential request"]))))
    writer.encrypt(user_password=password, owner_password=password + "-owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def truncated_pdf(req: dict[str, Any] | None = None) -> bytes:
    """A PDF cut off half way, as an interrupted upload or fax transfer leaves it."""
    data = letter_pdf(req, random.Random(1)) if req else simple_pdf(["Some text"] * 30, pages=2)
    return data[: len(data) // 2]


def not_a_pdf() -> bytes:
    """Bytes named .pdf that are not a PDF (a Word file renamed, say)."""
    return b"PK\x03\x04" + bytes(random.Random(7).randrange(256) for _ in range(400))


def image_pdf(images: list[Image.Image], dpi: tuple[int, int] = (200, 200)) -> bytes:
    """A PDF whose pages are just images, as fax servers and scanners write them.

    Each page is sized so the image fills it at `dpi` (x, y): a 1728x1078 fax image at 204x98
    dpi makes a U.S. letter page, with the image stored at its own pixel size.
    """
    pdf = FPDF(unit="pt")
    pdf.set_auto_page_break(False)
    pdf.set_margin(0)
    for image in images:
        w_pt = image.width * 72.0 / dpi[0]
        h_pt = image.height * 72.0 / dpi[1]
        pdf.add_page(format=(w_pt, h_pt))
        img = image if image.mode in ("1", "L", "RGB") else image.convert("RGB")
        pdf.image(img, x=0, y=0, w=w_pt, h=h_pt)
    return bytes(pdf.output())
