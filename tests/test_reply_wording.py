"""What an *information needed* reply says (issue 14, item 6): everything the likely type still
lacks, nothing the sender already wrote (in a sentence, a signature, a letterhead), what we read
when it was doubtful, and never our part or file names, confidences, field paths or codes."""

from __future__ import annotations

import random
import re
from datetime import date

import pytest

from intake.extract import extract_submission
from intake.faxreply import render_fax_pdf
from intake.model import CertificateRequest, Problem, build_request
from intake.replies import RequestView, render_mail, render_text
from intake.wording import file_problem
from tests.synth import flat, make_request

# What a reply must never show: our names for parts and files, reading methods, confidences,
# field paths and problem codes.
PATH = re.compile(r"\b(?:worker|employer|assignment|dependents)(?:\[\d+\])?\.[a-z_]+")
CODES = ["low_confidence", "not_agreement_country", "start_in_past",
         "period_too_long", "nationality_rule", "outdated_edition", "no_request", "unsupported_type",
         "too_large", "unreadable", "no_text", "ocr_timeout", "request_type", "confirmation_email",
         "self_employed", "hired_in_us", "remains_employee"]
INTERNAL = re.compile(r"\battachment \d+:|\bbody\b\s*\(|\((?:ocr|text|form|table)\)|\d+\s*%|"
                      r"fax_\+?\d+|\b(?:scan|old-form)\.pdf\b|\.eml\b|confidence", re.I)


def leaks(text: str) -> list[str]:
    """Every internal string in a rendered reply."""
    found = [m.group(0) for m in PATH.finditer(text)] + [m.group(0) for m in INTERNAL.finditer(text)]
    found += [c for c in CODES if re.search(rf"(?<![\w-]){c}(?![\w-])", text)]
    return found


STAFF_PROBLEMS = [
    Problem(field="worker.first_name", code="low_confidence",
            message="fax_+12085551009_20261125.tif, page 1 (ocr): read with 41% confidence; please check."),
    Problem(field="worker.date_of_birth", code="invalid",
            message="worker.date_of_birth: the value could not be read as a date."),
    Problem(field="employer.ein", code="conflict",
            message="Different values were read for employer.ein: '12-3456789' in body (text); '12-3456788' in "
                    "attachment 1: scan.pdf, page 2 (ocr)."),
    Problem(field="worker.ssn", code="low_confidence", message="body (text): read from prose; no label; please check."),
    Problem(field="request_type", code="low_confidence", message="body (text): read from prose; please check."),
    Problem(field="assignment.hired_in_us", code="low_confidence", message="body (text): 62% confidence."),
    Problem(field=None, code="outdated_edition", message="attachment 2: old-form.pdf is edition 2023-01 (form)."),
    Problem(field="dependents[0].name", code="missing", message="A family member's name is missing."),
    Problem(field=None, code="invalid", message="A value for list position dependents[77].name was left out: at "
                                                "most 50 entries are read."),
]
FILE_PROBLEMS = [("unsupported_type", "attachment 1: payroll.docx"), ("no_request", "body"),
                 ("too_large", "attachment 3: scan.tif"), ("unreadable", "fax_+12085551009_20261125.tif"),
                 ("ocr_timeout", "fax_+12085551009_20261125.tif"), ("parse_error", "message")]


def _views(seed: int) -> list[RequestView]:
    data = flat(make_request(random.Random(seed), kind="employee"))
    data["worker.first_name"] = "Kevin A"
    data["request_type"] = "self_employed"
    data["assignment.hired_in_us"] = "true"
    request, _ = build_request(data)
    return [RequestView.of("COC-2026-000042", request, STAFF_PROBLEMS)]


@pytest.mark.parametrize("kind", ["incomplete", "received", "approved", "rejected"])
def test_no_rendered_reply_shows_our_internals(kind: str) -> None:
    views = _views(5)
    files = [{"message": file_problem(code, part, mail=part != "fax_+12085551009_20261125.tif")}
             for code, part in FILE_PROBLEMS]
    context = {"file_problems": files, "decided_at": "December 1, 2026", "reason": "The period is too long."}
    msg = render_mail(kind, to="pat@acme.example.com", from_address="certificate@localhost", our_domain="localhost",
                      requests=views, original_subject="COC request", **context)
    for part in ("plain", "html"):
        text = msg.get_body((part,)).get_content()  # type: ignore[union-attr]
        assert leaks(text) == [], (part, leaks(text))
        assert str(msg["Subject"]) and not leaks(str(msg["Subject"]))
    fax_text = render_text(kind, requests=views, r=views[0], received_at="December 1, 2026", updated=False,
                           answered=False, form_url="", help_url="", **context)
    assert leaks(fax_text) == []
    assert render_fax_pdf(kind, fax_number="+12085551009", requests=views, **context).startswith(b"%PDF")


def test_a_doubtful_value_is_quoted_back_in_words_and_an_ssn_by_its_last_four_alone() -> None:
    (view,) = _views(5)
    said = {p["label"]: p["message"] for p in view.problems}
    assert said["Worker's first name"] == \
        "We read 'Kevin A' as the worker's first name: please confirm, or send the right value."
    assert said["Whether the employee was hired in the U.S."].startswith("We read 'yes' as")
    assert "'self-employed' as the type of request" in said["Type of request (employee or self-employed)"]
    ssn = next(m for label, m in said.items() if "Social Security" in label)
    assert re.search(r"\*\*\*-\*\*-\d{4}", ssn) and not re.search(r"\d{3}-\d{2}-\d{4}", ssn)
    ein = view.ein
    assert f"We read '{ein}' as the employer's EIN" in said["Employer's EIN (Employer Identification Number)"]
    assert "could not use the worker's date of birth" in said["Worker's date of birth"]
    for code, part in FILE_PROBLEMS:
        text = file_problem(code, part, mail=True)
        assert not leaks(text), text
    assert "payroll.docx" in file_problem("unsupported_type", "attachment 1: payroll.docx", mail=True)


def _ask(raw: bytes) -> tuple[str, CertificateRequest]:
    (result,) = extract_submission(raw, channel="smtp").requests
    view = RequestView.of("COC-2026-000077", result.request, result.problems)
    text = render_mail("incomplete", to="a@b.example.com", from_address="certificate@localhost",
                       our_domain="localhost", requests=[view]).get_body(("plain",)).get_content()  # type: ignore[union-attr]
    return " ".join(text.split()), result.request


def _mail(body: str, sender: str = "Wren Talbotine <wren@halverick.example.com>") -> bytes:
    return (f"From: {sender}\r\nTo: certificate@localhost\r\nSubject: certificate of coverage\r\n"
            f"Message-ID: <q1@halverick.example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}").encode()


def test_what_was_written_in_sentences_and_the_signature_is_not_asked_again() -> None:
    body = ("Hello,\n\nHalverick Fabrication LLC (EIN 31-7720418) asks for a certificate of coverage for our employee\n"
            "Ansel Q. Moravec, Social Security number 472-19-3306, born March 2, 1987 in Dayton, OH, a U.S. citizen.\n"
            "From April 5, 2027 through April 4, 2029 he will be working for Vektor Maschinen GmbH in Germany.\n"
            "Ansel was hired here in 2015 and stays on our payroll for the whole assignment.\n\n"
            "Warm wishes,\nWren Talbotine\nMobility Lead, Halverick Fabrication LLC\n(937) 555-0164\n"
            "wren@halverick.example.com\n2210 Keowee Street | Dayton, OH 45405\n")
    text, request = _ask(_mail(body))
    assert request.employer is not None and request.employer.contact_name == "Wren Talbotine"
    assert request.assignment.hired_in_us is True and request.assignment.remains_employee is True
    for already in ("contact person", "hired in the U.S.", "stays an employee", "employer's address",
                    "phone number or email"):
        assert already not in text, already
    # still asked, all at once: what nobody wrote
    assert "address of the place of work abroad" in text.lower()
    assert leaks(text) == []


def test_an_employer_named_makes_it_an_employee_request_and_everything_is_asked_at_once() -> None:
    body = ("Hi,\n\nplease issue a certificate for Mirela Ostrander (SSN 515-32-8841), who goes to Italy\n"
            "from 01/10/2027 to 12/20/2028. Her employer is Quarrow Systems Inc.\n\nThanks,\nOlin Bastable\n")
    text, request = _ask(_mail(body, "Olin Bastable <olin@quarrow.example.com>"))
    assert request.request_type == "employee"
    for asked in ("employer's EIN", "whether the employee was hired in the U.S.", "date of birth",
                  "company abroad where the work is done"):
        assert asked.lower() in text.lower(), asked
    # the signature's name is the contact person, and the From line is theirs: nothing to ask
    assert "Type of request" not in text and "contact person" not in text.lower()
    assert request.employer is not None and request.employer.contact_email == "olin@quarrow.example.com"
    # a From line under another name is not taken for the contact's address
    text, request = _ask(_mail(body.replace("Olin Bastable", "Petra Lindholm"), "Ops Desk <ops@quarrow.example.com>"))
    assert request.employer is not None and request.employer.contact_email is None
    assert "Contact person's phone number or email address" in text


def test_a_person_writing_about_their_own_business_is_asked_what_a_self_employed_request_needs() -> None:
    body = ("Hello,\n\nI am a freelance sound engineer with my own small studio, and I will be working in Spain\n"
            "from 05/01/2027 until 04/30/2028. My Social Security number is 601-27-4410.\n\nBest,\nIlse Varnaby\n"
            "(503) 555-0119\n")
    text, request = _ask(_mail(body, "Ilse Varnaby <ilse@varnaby.example.net>"))
    assert request.request_type == "self_employed" and request.worker.phone == "(503) 555-0119"
    # the trade is read from the sentence and quoted back for confirmation, not asked blank
    assert re.search(r"we read '(freelance )?sound engineer' as the nature of the self-employed person's business: "
                     r"please confirm", text.lower())
    # the signature's name is the self-employed person's own
    assert (request.worker.first_name, request.worker.last_name) == ("Ilse", "Varnaby")
    assert "first name" not in text.lower()
    assert "self-employed person's u.s. address" in text.lower()
    assert "employer" not in text.lower() and "Type of request" not in text
    assert "phone number" not in text.lower()  # read from the signature


def test_problem_help_and_field_words_cover_every_field_validation_names() -> None:
    from intake.validate import validate

    empty = CertificateRequest.model_validate({})
    for kind in ("employee", "self_employed"):
        for p in validate(empty.model_copy(update={"request_type": kind}), today=date(2026, 12, 1)):
            view = RequestView.of("COC-2026-000001", empty, [p])
            assert not leaks(view.problems[0]["label"] + " " + view.problems[0]["message"]), p
