"""Merging an answer into the request it answers: what settles a doubt, and what is a conflict.

Our *information needed* reply quotes what we read when it is doubtful ("we read 'Kevin A' as the
worker's first name: please confirm") and asks for what is missing. An employer answers in words
("Kevin A is correct"), by writing the value again, or by correcting it. These tests hold the rules
of `intake.conversation.merge_answer` on records built in memory: a confirmation settles the doubt
(with an event for the trail), a doubtful answer value never replaces a value, one line never fills
two fields, and a date read with doubt under a date we had goes where we asked for one.
"""

from __future__ import annotations

import copy
import dataclasses
import random
from typing import Any

from intake import answer_merge as conv
from intake import conversation
from intake.model import CertificateRequest
from intake.replies import sender_message
from intake.store.records import RequestRecord, typed_request
from intake.validate import validate
from tests.synth import make_request


def _record(drop: tuple[str, ...] = (), doubt: tuple[str, ...] = (),
            values: dict[str, Any] | None = None) -> tuple[dict[str, Any], RequestRecord]:
    req = CertificateRequest.model_validate(make_request(random.Random(4), kind="employee")).model_dump(mode="json")
    fields = copy.deepcopy(req)
    for path, value in (values or {}).items():
        conv.set_path(fields, path, value)
    problems: list[dict[str, Any]] = []
    for path in drop:
        conv.set_path(fields, path, None)
        problems.append({"field": path, "code": "missing", "message": "missing", "help": ""})
    for path in doubt:
        problems.append({"field": path, "code": "low_confidence", "message": "body (text): unsure", "help": ""})
    rec = RequestRecord(id=1, submission_id=1, seq=0, reference="COC-2026-000001", state="needs_review",
                        **typed_request(fields, problems), confidence={}, provenance={}, ssn_last4=None,
                        worker_name=None, employer_name=None, employer_ein=None, country=None)
    return req, rec


def _answer(values: dict[str, Any], *, label: str = "Label", unsure: tuple[str, ...] = (),
            method: str = "text") -> conv.AnswerValues:
    ans = conv.AnswerValues()
    for path, value in values.items():
        ans.values[path] = value
        ans.provenance[path] = {"part": "answer 2: body", "method": method, "label": label}
        if path in unsure:
            ans.problems.append({"field": path, "code": "low_confidence", "message": "unsure"})
    return ans


def _codes(merged: conv.Merged) -> set[tuple[Any, Any]]:
    return {(p.get("field"), p.get("code")) for p in merged.problems}


def test_a_value_confirmed_in_words_is_no_longer_doubtful() -> None:
    req, rec = _record(drop=("employer.ein",), doubt=("worker.first_name",))
    first = req["worker"]["first_name"]
    lines = [f"{first} is correct.", f"EIN: {req['employer']['ein']}"]
    confirmed = conv.confirmations(rec, lines)
    assert set(confirmed) == {"worker.first_name"}
    merged = conv.merge_answer(rec, [_answer({"employer.ein": req["employer"]["ein"]})], where="submission 2",
                               confirmed_lines=confirmed)
    assert merged.state == "accepted", merged.problems
    assert any(path == "worker.first_name" and new and "confirmed by the answer" in new
               for path, _old, new in merged.changes)


def test_a_denial_confirms_nothing() -> None:
    req, rec = _record(doubt=("worker.first_name",))
    assert conv.confirmations(rec, [f"{req['worker']['first_name']} is not correct"]) == {}


def test_an_address_said_to_be_right_is_confirmed_whole() -> None:
    pieces = tuple(f"employer.address.{k}" for k in ("street", "city", "state", "postal_code", "country"))
    req, rec = _record(doubt=pieces)
    a = req["employer"]["address"]
    line = f"{a['street']}, {a['city']}, {a['state']} {a['postal_code']} - that is right"
    assert set(conv.confirmations(rec, [line])) == set(pieces)  # the country too, left out of the line


def test_the_same_address_under_another_label_confirms_the_one_we_asked_about() -> None:
    pieces = tuple(f"employer.address.{k}" for k in ("street", "city", "state", "postal_code", "country"))
    req, rec = _record(doubt=pieces)
    echo = {f"worker.address.{k}": v for k, v in req["employer"]["address"].items() if v}
    merged = conv.merge_answer(rec, [_answer(echo, label="Office address")], where="submission 2")
    assert merged.state == "accepted", merged.problems
    assert conv.get_path(merged.fields, "worker.address") is None  # never added to an employee's request


def test_a_doubtful_answer_value_never_replaces_a_doubtful_one() -> None:
    req, rec = _record(doubt=("assignment.end_date",))
    merged = conv.merge_answer(rec, [_answer({"assignment.end_date": "2031-01-01"}, label="Assignment commencing",
                                             unsure=("assignment.end_date",))], where="submission 2")
    assert merged.fields["assignment"]["end_date"] == req["assignment"]["end_date"]
    assert ("assignment.end_date", "conflict") in _codes(merged)
    assert merged.state == "needs_review"


def test_a_sure_answer_corrects_a_doubtful_value() -> None:
    req, rec = _record(doubt=("assignment.host_name",))
    merged = conv.merge_answer(rec, [_answer({"assignment.host_name": "Other Host GmbH"})], where="submission 2")
    assert merged.fields["assignment"]["host_name"] == "Other Host GmbH"
    assert merged.state == "accepted", merged.problems
    assert ("assignment.host_name", f"'{req['assignment']['host_name']}'", "'Other Host GmbH'") in merged.changes


def test_a_doubt_on_where_an_answer_put_a_value_is_lifted_but_not_a_doubt_on_its_ocr_reading() -> None:
    """An answer giving the EIN we asked for under a label we were unsure of has put it where we
    asked: that doubt is settled. A faxed return page whose EIN box was read two ways (`5` or `2`)
    is as unsure of its digits as before: the value is kept, flagged for staff."""
    req, rec = _record(drop=("employer.ein",))
    ein = req["employer"]["ein"]
    typed = conv.merge_answer(rec, [_answer({"employer.ein": ein}, label="Tax number", unsure=("employer.ein",))],
                              where="submission 2")
    assert typed.state == "accepted", typed.problems
    faxed = conv.merge_answer(rec, [_answer({"employer.ein": ein}, label="Return page", unsure=("employer.ein",),
                                            method="ocr")], where="submission 2")
    assert faxed.fields["employer"]["ein"] == ein
    assert ("employer.ein", "low_confidence") in _codes(faxed)
    assert faxed.state == "needs_review"


def test_a_value_read_for_certain_is_never_overwritten() -> None:
    req, rec = _record()
    merged = conv.merge_answer(rec, [_answer({"assignment.host_name": "Other Host GmbH"})], where="submission 2")
    assert merged.fields["assignment"]["host_name"] == req["assignment"]["host_name"]
    assert ("assignment.host_name", "conflict") in _codes(merged)


def test_a_doubtful_date_under_a_date_we_had_goes_where_we_asked_for_one() -> None:
    req, rec = _record(drop=("assignment.start_date",))
    start = req["assignment"]["start_date"]
    ans = _answer({"assignment.end_date": start}, label="Assignment commencing", unsure=("assignment.end_date",))
    merged = conv.merge_answer(rec, [ans], where="submission 2")
    assert merged.fields["assignment"]["start_date"] == start
    assert merged.fields["assignment"]["end_date"] == req["assignment"]["end_date"]
    assert merged.state == "accepted", merged.problems


def test_one_line_never_fills_two_fields() -> None:
    req, rec = _record(drop=("assignment.start_date",), doubt=("assignment.end_date",))
    start = req["assignment"]["start_date"]
    ans = _answer({"assignment.start_date": start, "assignment.end_date": start}, label="Assignment commencing")
    merged = conv.merge_answer(rec, [ans], where="submission 2")
    assert merged.fields["assignment"]["end_date"] == req["assignment"]["end_date"]  # not replaced
    assert ("assignment.end_date", "conflict") in _codes(merged)
    assert ("assignment.start_date", "low_confidence") in _codes(merged)  # filled, still to be checked


def test_an_unlabelled_echo_of_a_labelled_value_is_dropped() -> None:
    req, rec = _record(drop=("worker.date_of_birth",))
    born = req["worker"]["date_of_birth"]
    ans = _answer({"worker.date_of_birth": born}, label="D/O/B")
    ans.values["assignment.start_date"] = born  # the same date again, read from the text's sentences
    ans.provenance["assignment.start_date"] = {"part": "answer 2: body", "method": "text", "label": None}
    merged = conv.merge_answer(rec, [ans], where="submission 2")
    assert merged.fields["worker"]["date_of_birth"] == born
    assert merged.fields["assignment"]["start_date"] == req["assignment"]["start_date"]
    assert merged.state == "accepted", merged.problems


def test_references_read_from_a_faxed_page_put_right_what_ocr_misreads() -> None:
    text = "Re: our request C0C-2O26-0000l2 ... and COC-2026-000013, also COC-2026-000013"
    assert conversation.references_in_ocr([text], prefix="COC") == ["COC-2026-000013"]
    assert conversation.references_in_ocr(["Ref COC-2O26-0000l2"], prefix="COC") == ["COC-2026-000012"]


def test_a_middle_initial_is_confirmed_only_as_the_sentence_subject() -> None:
    _req, rec = _record(doubt=("worker.middle_name",), values={"worker.middle_name": "P"})
    assert set(conv.confirmations(rec, ["P is accurate."])) == {"worker.middle_name"}
    assert conv.confirmations(rec, ["Yes, that is p"]) == {}


def test_a_whole_name_said_to_be_right_confirms_its_middle_initial_where_written() -> None:
    names = {"worker.first_name": "Keaon", "worker.middle_name": "U", "worker.last_name": "Gouxridge"}
    _req, rec = _record(doubt=tuple(names), values=names)
    assert set(conv.confirmations(rec, ["Gouxridge, Keaon U - that is correct."])) == set(names)
    # The initial not written: the first and last names are confirmed, the initial still doubtful.
    assert set(conv.confirmations(rec, ["Keaon Gouxridge is right."])) == {"worker.first_name", "worker.last_name"}


def test_one_value_doubtful_in_two_fields_is_confirmed_in_both() -> None:
    same = {"employer.contact_email": "h.lem@acme.example.com", "confirmation_email": "h.lem@acme.example.com"}
    _req, rec = _record(doubt=tuple(same), values=same)
    assert set(conv.confirmations(rec, ["Yes, h.lem@acme.example.com is right."])) == set(same)


def test_a_doubtful_or_echoed_answer_value_does_not_hide_a_confirming_sentence() -> None:
    """The answer's own unlabelled reading of an address in a sentence (read as the other field, or
    the labelled line's value read again) is no correction: the sentences say which value is right."""
    emails = {"employer.contact_email": "f.st@acme.example.com", "confirmation_email": "payroll@acme.example.com"}
    _req, rec = _record(doubt=tuple(emails), values=emails)
    prose = _answer({"confirmation_email": "f.st@acme.example.com"}, unsure=("confirmation_email",))
    prose.provenance["confirmation_email"]["label"] = None
    lines = ["Yes, f.st@acme.example.com is right.", "Confirmed: payroll@acme.example.com"]
    confirmed = conv.confirmations(rec, lines, [prose])
    assert set(confirmed) == set(emails)
    merged = conv.merge_answer(rec, conv.without_confirming_lines([prose], confirmed.values()), where="submission 2",
                               confirmed_lines=confirmed)
    assert merged.state == "accepted", merged.problems
    assert merged.fields["confirmation_email"] == emails["confirmation_email"]

    echo = _answer({"confirmation_email": "payroll@acme.example.com"}, label="Email address for certificate")
    echo.values["employer.contact_email"] = "payroll@acme.example.com"
    echo.provenance["employer.contact_email"] = {"part": "answer 2: body", "method": "text", "label": None}
    lines = ["f.st@acme.example.com is correct.", "Email address for certificate: payroll@acme.example.com"]
    assert set(conv.confirmations(rec, lines, [echo])) == {"employer.contact_email"}


def test_a_value_that_looked_wrong_is_settled_by_the_senders_word_only() -> None:
    """'de la Worker' holds a label's word (`intake.plausible`): a sentence saying it is right settles
    it; the value read again (a label misread twice is misread alike) leaves it for staff."""
    _req, rec = _record(values={"worker.last_name": "de la Worker"})
    rec = dataclasses.replace(rec, **typed_request(rec.fields, [p.model_dump() for p in validate(rec.request)]))
    assert {(p.field, p.code) for p in rec.problems} == {("worker.last_name", "invalid")}
    confirmed = conv.confirmations(rec, ["de la Worker is correct."])
    assert set(confirmed) == {"worker.last_name"}
    merged = conv.merge_answer(rec, [], where="submission 2", confirmed_lines=confirmed)
    assert merged.state == "accepted", merged.problems
    again = conv.merge_answer(rec, [_answer({"worker.last_name": "de la Worker"})], where="submission 2")
    assert _codes(again) == {("worker.last_name", "invalid")}
    assert conv.confirmations(rec, ["de la Worker is not right."]) == {}


def test_a_value_that_looked_wrong_is_quoted_back_to_be_confirmed() -> None:
    """The reply quotes what we read and why it looks wrong, and asks the sender to confirm or correct
    it, as for any doubtful value (a bare "please check it" asks nothing a sender can answer)."""
    _req, rec = _record(values={"worker.last_name": "de la Worker"})
    (problem,) = validate(rec.request)
    said = sender_message(problem, rec.request)
    assert said.startswith("We read 'de la Worker' as the worker's last name, but ")
    assert said.endswith(": please confirm, or send the right value.")
    assert "check it" not in said
