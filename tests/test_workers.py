"""Issue 12, class 8: several workers in one body, a self-employed person writing in the first
person, and a forwarded request whose forwarder's note corrects a value.

Each mail goes through the whole extraction stage (`extract_submission`), as a mail reaches it.
Names, numbers and companies are made up.
"""

from __future__ import annotations

from datetime import date
from email.message import EmailMessage
from typing import Any

import pytest

from intake.extract import extract_submission

_SHARED = (
    "Employer: Harrow Lane Tools LLC\n"
    "EIN: 31-4820917\n"
    "Employer address: 410 Quarry Road, Dover, DE 19901\n"
    "Host country: Germany\n"
    "Start date: 03/01/2027\n"
    "End date: 02/28/2029\n"
    "Host company: Kessel Werkzeug GmbH\n"
)
_WORKERS = [("Talia", "Ormsby", "518-22-4790", "04/12/1984", "1984-04-12"),
            ("Bennet", "Caudle", "527-31-6618", "11/30/1979", "1979-11-30"),
            ("Iris", "Fenwright", "533-40-2207", "07/07/1990", "1990-07-07")]


def _mail(body: str, sender: str = "hr@harrowlane.example") -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "coc@agency.example"
    msg["Subject"] = "Certificate of coverage"
    msg.set_content(body)
    return msg.as_bytes()


def _requests(body: str, sender: str = "hr@harrowlane.example") -> list[dict[str, Any]]:
    result = extract_submission(_mail(body, sender), channel="email", today=date(2026, 11, 25))
    return [{"r": r.request.model_dump(mode="json"), "problems": {(p.field, p.code) for p in r.problems}}
            for r in result.requests]


def _check_workers(reqs: list[dict[str, Any]], n: int) -> None:
    assert len(reqs) == n
    by_ssn = {q["r"]["worker"]["ssn"]: q["r"] for q in reqs}
    for first, last, ssn, _, dob in _WORKERS[:n]:
        r = by_ssn[ssn]
        assert (r["worker"]["first_name"], r["worker"]["last_name"], r["worker"]["date_of_birth"]) == (first, last, dob)
        # the values written once belong to every worker
        assert r["employer"]["name"] == "Harrow Lane Tools LLC" and r["employer"]["ein"] == "31-4820917"
        assert r["employer"]["address"]["city"] == "Dover"
        assert r["assignment"]["country"] == "DE" and r["assignment"]["start_date"] == "2027-03-01"
        assert r["assignment"]["end_date"] == "2029-02-28" and r["request_type"] == "employee"


@pytest.mark.parametrize("heading", ["{j}. Employee {j}", "Employee #{j}", "Worker {j}:", "{j})", ""])
def test_blocks_of_workers_give_a_request_each_with_the_shared_values(heading: str) -> None:
    blocks = []
    for j, (first, last, ssn, born, _) in enumerate(_WORKERS, 1):
        head = heading.format(j=j) + "\n" if heading else ""
        blocks.append(f"{head}First name: {first}\nLast name: {last}\nSSN: {ssn}\nDate of birth: {born}\n"
                      f"Citizenship: U.S.\n")
    body = "Dear colleagues,\n\nplease issue certificates for the three employees below.\n\n" + _SHARED + \
        "\n" + "\n".join(blocks) + "\nRegards,\nNora Pike\nHarrow Lane Tools LLC\n"
    _check_workers(_requests(body), 3)


def test_the_assignment_written_between_workers_is_shared() -> None:
    a, b = _WORKERS[0], _WORKERS[1]
    body = (f"Employer: Harrow Lane Tools LLC\nEIN: 31-4820917\n\nEmployee 1\nName: {a[0]} {a[1]}\nSSN: {a[2]}\n"
            f"Date of birth: {a[3]}\n\nEmployer address: 410 Quarry Road, Dover, DE 19901\nHost country: Germany\n"
            f"Start date: 03/01/2027\nEnd date: 02/28/2029\n\nEmployee 2\nName: {b[0]} {b[1]}\nSSN: {b[2]}\n"
            f"Date of birth: {b[3]}\n")
    _check_workers(_requests(body), 2)


@pytest.mark.parametrize("sep", [" | ", "\t", "   "])
def test_a_table_typed_or_pasted_into_the_body(sep: str) -> None:
    rows = [sep.join(["First name", "Last name", "SSN", "Date of birth"])]
    rows += [sep.join([f, la, s, b]) for f, la, s, b, _ in _WORKERS]
    body = "Hello,\n\nthe same assignment for these three:\n\n" + _SHARED + "\n" + "\n".join(rows) + "\n\nThanks\n"
    _check_workers(_requests(body), 3)


def test_her_colleague_in_a_sentence_is_a_second_worker() -> None:
    a, b = _WORKERS[0], _WORKERS[1]
    body = (_SHARED + f"\nFirst name: {a[0]}\nLast name: {a[1]}\nSSN: {a[2]}\nDate of birth: {a[3]}\n\n"
            f"The same applies to her colleague {b[0]} {b[1]}, SSN {b[2]}, born on {b[3]}.\n\nRegards,\nNora Pike\n")
    _check_workers(_requests(body), 2)


def test_one_worker_with_a_misread_label_stays_one_request() -> None:
    """"Born at: Boise, ID" looks like a second birth date; it is no second worker."""
    a = _WORKERS[0]
    body = (f"First name: {a[0]}\nLast name: {a[1]}\nSSN: {a[2]}\nDate of birth: {a[3]}\nBorn at: Boise, ID\n"
            f"Citizenship: U.S.\n" + _SHARED)
    assert len(_requests(body)) == 1


def test_a_self_employed_person_writing_about_themselves() -> None:
    body = ("Hello,\n\nmy name is Marta Quill and I am a freelance illustrator (self-employed) based at "
            "88 Birch Lane, Apt 4, Salem, OR 97301. I will be working in Spain from 5 April 2027 to "
            "30 June 2028, at Calle Mayor 12, 28013 Madrid, Spain, and I need a certificate of coverage.\n\n"
            "I was born on 2 February 1981 in Eugene, OR and I am a U.S. citizen. My SSN is 540-18-3392. "
            "You can reach me at (503) 555-0147 or at this address (marta.quill@inkmail.example).\n\n"
            "Thank you,\nMarta Quill\n")
    (req,) = _requests(body, sender="marta.quill@inkmail.example")
    r = req["r"]
    assert r["request_type"] == "self_employed" and r["employer"] is None
    worker = r["worker"]
    assert (worker["first_name"], worker["last_name"], worker["ssn"]) == ("Marta", "Quill", "540-18-3392")
    assert r["worker"]["address"]["city"] == "Salem" and r["worker"]["address"]["postal_code"] == "97301"
    assert r["worker"]["phone"] == "(503) 555-0147" and r["worker"]["email"] == "marta.quill@inkmail.example"
    assert r["assignment"]["work_address"]["city"] == "Madrid" and r["assignment"]["country"] == "ES"
    # the business is implied by the sentence: offered, flagged for staff
    assert "illustrator" in r["worker"]["business"] and ("worker.business", "low_confidence") in req["problems"]
    assert not any(f and f.startswith("employer") for f, _ in req["problems"])


def test_a_forwarded_request_read_with_the_note_that_corrects_it() -> None:
    a = _WORKERS[0]
    inner = (f"First name: {a[0]}\nLast name: {a[1]}\nSSN: {a[2]}\nDate of birth: {a[3]}\n" + _SHARED)
    body = ("Hi team,\n\nforwarding the request below. One correction: the assignment now ends on 1-Nov-2029, "
            "not on the date given below.\n\nThanks\nPaul\n\n---------- Forwarded message ---------\n"
            "From: Nora Pike <nora@harrowlane.example>\nDate: Wed, Nov 18, 2026 at 4:12 PM\n"
            "Subject: Certificate of coverage\nTo: hr@harrowlane.example\n\n" + inner)
    (req,) = _requests(body, sender="paul@harrowlane.example")
    r = req["r"]
    assert r["assignment"]["end_date"] == "2029-11-01"  # the note's, not the forwarded one
    assert r["assignment"]["start_date"] == "2027-03-01" and r["worker"]["last_name"] == "Ormsby"
    assert r["worker"]["first_name"] == "Talia"  # the note's signature is no worker
