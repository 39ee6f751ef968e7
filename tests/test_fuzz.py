"""Fuzzing the extraction stage (issue 6, item 3), bounded for CI; `bench/fuzz.py` is the long run.

Property-based tests (hypothesis) build messages that are usually wrong in some way: random MIME
trees with odd boundaries and encodings, headers of random bytes and encoded words, bodies in a
charset other than the one declared, labelled text with values of every shape. A mutation run
damages valid PDFs, TIFFs and XLSX files (`tests/fuzzcorpus.py`). The properties are the ones the
daemon relies on: `extract_submission` never raises, every submission ends with requests or a
problem for staff, and no full SSN from the input appears in a problem or log message.
"""

from __future__ import annotations

import logging
import os
import random
import re
from email.message import EmailMessage

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.extract import SubmissionResult, extract_submission
from intake.isolation import ExtractionPool
from parsers.body import parse_text
from parsers.mime import parse_mail
from parsers.types import Limits
from tests import docgen, mailgen
from tests.fuzzcorpus import case, mutate, seeds

# 150 examples a property in CI; `python -m bench.fuzz --hypothesis N` runs N, with fresh randomness.
EXAMPLES = int(os.environ.get("COC_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize="COC_FUZZ_EXAMPLES" not in os.environ, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
SSN = "123-45-6789"
SSN_RE = re.compile(r"\d{3}-\d{2}-\d{4}")


def check(result: SubmissionResult, secrets: tuple[str, ...] = (SSN,)) -> None:
    """What every submission, however hostile, must come to."""
    assert result.requests or result.problems, "neither a request nor a reason for staff"
    for p in result.problems:
        assert p.code and p.message
        for secret in secrets:
            assert secret not in p.message and secret.replace("-", "") not in p.message
    for request in result.requests:
        for problem in request.problems:  # the SSN's own problems; an EIN's may echo the EIN as given
            if problem.field == "worker.ssn":
                assert not any(secret in problem.message for secret in secrets), problem
    for part in result.parts:
        assert "/" not in part.name and "\\" not in part.name and "\x00" not in part.name


def no_ssn_logged(caplog: pytest.LogCaptureFixture, secrets: tuple[str, ...] = (SSN,)) -> None:
    for record in caplog.records:
        text = record.getMessage()
        assert not any(s in text for s in secrets), f"{record.name}: full SSN in a log message"


# --- MIME structure -------------------------------------------------------------------------------

CONTENT_TYPES = ["text/plain", "text/html", "application/pdf", "application/octet-stream", "image/png",
                 "image/tiff", "message/rfc822", "text/csv", "application/ms-tnef", "", "text/plain; charset=",
                 "multipart/mixed", "multipart/alternative", "multipart/related", "x/y; a=\"b"]
ENCODINGS = ["7bit", "8bit", "base64", "quoted-printable", "binary", "x-uuencode", "", "BASE64 "]
CHARSETS = ["utf-8", "iso-8859-1", "windows-1252", "shift_jis", "utf-16", "koi8-r", "x-unknown", "", "utf-7"]
texts = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=200)
filenames = st.one_of(st.none(), st.text(max_size=40), st.sampled_from(
    ["../../etc/passwd", "C:\\x\\y.pdf", "a\x00b.pdf", "=?utf-8?b?Li4vLi4vZXRj?=", "con.pdf", ".."]))


@st.composite
def entity(draw: st.DrawFn, depth: int = 0) -> bytes:
    """One MIME entity as bytes, multipart when drawn so (to a bounded depth), often malformed."""
    ctype = draw(st.sampled_from(CONTENT_TYPES))
    headers = [f"Content-Type: {ctype}"]
    if ctype.startswith("multipart/") and depth < 4:
        boundary = draw(st.sampled_from(["b1", "=_b", "", "a" * 80, f"b{depth}", "--", "b b"]))
        headers[0] += f'; boundary="{boundary}"'
        children = draw(st.lists(entity(depth + 1), max_size=4))
        body = b"".join(b"--" + boundary.encode() + b"\r\n" + c + b"\r\n" for c in children)
        if draw(st.booleans()):
            body += b"--" + boundary.encode() + b"--\r\n"
        return ("\r\n".join(headers) + "\r\n\r\n").encode() + body
    if ctype == "message/rfc822" and depth < 4:
        return ("\r\n".join(headers) + "\r\n\r\n").encode() + b"Subject: inner\r\n" + draw(entity(depth + 1))
    charset = draw(st.sampled_from(CHARSETS))
    if charset:
        headers[0] += f"; charset={charset}"
    encoding = draw(st.sampled_from(ENCODINGS))
    if encoding:
        headers.append(f"Content-Transfer-Encoding: {encoding}")
    name = draw(filenames)
    if name is not None:
        headers.append(f'Content-Disposition: attachment; filename="{name}"')
    payload = draw(st.one_of(texts.map(lambda t: t.encode("utf-8", "surrogatepass")), st.binary(max_size=300),
                             st.just(f"Employee SSN: {SSN}\r\nCountry: Germany\r\n".encode())))
    return ("\r\n".join(headers) + "\r\n\r\n").encode("utf-8", "surrogatepass") + payload


@FUZZ
@given(top=entity(), cut=st.one_of(st.none(), st.integers(min_value=0, max_value=5000)))
def test_random_mime_trees(top: bytes, cut: int | None, caplog: pytest.LogCaptureFixture) -> None:
    raw = b"From: a@example.com\r\nSubject: fuzz\r\nMIME-Version: 1.0\r\n" + top
    if cut is not None:
        raw = raw[:cut] or raw
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        result = extract_submission(raw, channel="email", limits=Limits(max_parts=20, max_depth=3))
    check(result)
    assert len(result.parts) <= 20
    no_ssn_logged(caplog)


# --- headers --------------------------------------------------------------------------------------

header_names = st.one_of(st.sampled_from(["From", "To", "Subject", "Date", "Message-ID", "In-Reply-To",
                                          "References", "Reply-To", "Content-Type", "Content-Disposition",
                                          "MIME-Version", "Content-Transfer-Encoding", "Received"]),
                         st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=":"),
                                 min_size=1, max_size=20))
encoded_words = st.builds(lambda cs, enc, body: f"=?{cs}?{enc}?{body}?=", st.sampled_from(CHARSETS),
                          st.sampled_from(["B", "Q", "b", "x"]),
                          st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="?"),
                                  max_size=40))
header_values = st.one_of(texts, encoded_words, st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
                          st.lists(st.one_of(texts, encoded_words), max_size=5).map(" ".join),
                          st.just("(" * 500 + ")" * 500), st.just(f"Worker {SSN} <x@example.com>"))


@FUZZ
@given(headers=st.lists(st.tuples(header_names, header_values, st.sampled_from(["\r\n", "\n", "\r\n\t", "\r\n "])),
                        max_size=25))
def test_random_headers(headers: list[tuple[str, str, str]], caplog: pytest.LogCaptureFixture) -> None:
    head = "".join(f"{n}: {v}{fold}" for n, v, fold in headers).encode("utf-8", "surrogatepass")
    raw = head + b"\r\nEmployee SSN: 123-45-6789\r\n"
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        result = extract_submission(raw, channel="email")
    check(result)
    mail = parse_mail(raw, Limits())
    assert isinstance(mail.meta.subject, str) and "\n" not in mail.meta.subject
    assert mail.meta.from_addr is None or isinstance(mail.meta.from_addr, str)
    assert mail.meta.date is None or mail.meta.date.tzinfo is not None
    no_ssn_logged(caplog)


# --- encodings ------------------------------------------------------------------------------------

REAL_CHARSETS = ["utf-8", "iso-8859-1", "windows-1252", "iso-8859-15", "utf-16", "koi8-r", "shift_jis", "big5"]


@FUZZ
@given(text=texts, charset=st.sampled_from(REAL_CHARSETS), declared=st.sampled_from(CHARSETS + REAL_CHARSETS),
       cte=st.sampled_from(["base64", "quoted-printable", "8bit"]))
def test_body_encodings(text: str, charset: str, declared: str, cte: str) -> None:
    """Any bytes under any declared charset decode to text; declared rightly, the text comes back whole."""
    import base64
    import quopri

    body_text = f"Employee SSN: {SSN}\n{text}"
    data = body_text.encode(charset, "replace")
    payload = {"base64": base64.encodebytes, "quoted-printable": quopri.encodestring}.get(cte, bytes)(data)
    raw = (f"From: a@example.com\r\nSubject: enc\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; "
           f"charset={declared}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n").encode() + payload
    result = extract_submission(raw, channel="email")
    check(result)
    body = next((p for p in parse_mail(raw, Limits()).parts if p.name == "body"), None)
    assert body is not None and isinstance(body.text, str)
    if declared == charset and cte != "8bit":
        expected = data.decode(charset, "replace")
        if charset == "iso-8859-1":  # read as windows-1252 on purpose, as mail clients do
            expected = data.decode("windows-1252", "replace")
        assert " ".join(expected.split()) in " ".join(body.text.split()) or not expected.strip()


# --- labelled text --------------------------------------------------------------------------------

LABELS = ["SSN", "Social Security Number", "Employee SSN", "EIN", "Employer EIN", "Country", "Start date",
          "End date", "Name", "Employee name", "Date of birth", "Employer", "Address", "City", "State", "ZIP",
          "Phone", "Email", "Self-employed", "Nonsense", "SSN SSN", ""]
VALUES = st.one_of(texts, st.from_regex(r"\d{3}[- ]?\d{2}[- ]?\d{4}", fullmatch=True),
                   st.from_regex(r"\d{2}-?\d{7}", fullmatch=True),
                   st.sampled_from(["Germany", "DE", "Deutschland", "Atlantis", "12/31/2027", "2027-02-30",
                                    "31.12.2027", "yes", "no", "N/A", "", ":", "SSN:", "123-45-6789 / 987-65-4321"]))


@FUZZ
@given(lines=st.lists(st.tuples(st.sampled_from(LABELS), st.sampled_from([": ", ":", " - ", "\t", ":\n"]),
                                VALUES), max_size=30))
def test_labelled_text(lines: list[tuple[str, str, str]]) -> None:
    text = "\n".join(f"{label}{sep}{value}" for label, sep, value in lines)
    ext = parse_text(text, "body")
    for record in ext.records:
        for cand in record:
            assert cand.field and isinstance(cand.value, str)
            if cand.field == "worker.ssn" and not cand.uncertain:
                assert SSN_RE.fullmatch(cand.value), cand
    secrets = tuple({m for _, _, v in lines for m in SSN_RE.findall(v)} - {""})
    msg = EmailMessage()
    msg["From"] = "a@example.com"
    msg["Subject"] = "request"
    msg.set_content(text or " ")
    check(extract_submission(msg.as_bytes(), channel="email"), secrets)


@FUZZ
@given(data=st.binary(max_size=2000), channel=st.sampled_from(["email", "fax"]),
       filename=st.sampled_from([None, "x.pdf", "x.tif", "x.xlsx", "x.csv", "x.eml", "x.txt"]))
def test_random_bytes_anywhere(data: bytes, channel: str, filename: str | None) -> None:
    result = extract_submission(data, channel=channel, filename=filename)
    assert result.requests or result.problems


# --- mutation run over valid documents ------------------------------------------------------------

MUTATION_CASES = 160  # a few seconds of OCR at most: the fax seed is a fifth of a page


def test_seeds_are_valid_requests() -> None:
    """The corpus must start from documents that are read: a mutation of junk proves little."""
    for seed in seeds():
        result = extract_submission(seed.data, channel="fax", filename=seed.filename)
        assert result.requests, seed.name


@pytest.mark.parametrize("chunk", range(4))
def test_mutated_documents(chunk: int, caplog: pytest.LogCaptureFixture) -> None:
    per = MUTATION_CASES // 4
    secrets = tuple({SSN_RE.search(s.data.decode("latin-1")).group(0)  # type: ignore[union-attr]
                     for s in seeds() if SSN_RE.search(s.data.decode("latin-1"))})
    routed = 0
    for n in range(chunk * per, (chunk + 1) * per):
        c = case(n, seed=0)
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            result = extract_submission(c.data, channel="fax", filename=c.filename,
                                        limits=Limits(ocr_seconds_per_page=10))
        check(result, secrets)
        no_ssn_logged(caplog, secrets)
        routed += not result.ok
    assert routed > 0  # damage is noticed somewhere, or the mutations are too gentle to mean anything


def test_mutated_mail_with_attachments() -> None:
    rng = random.Random(11)
    letter = seeds()[0]
    files = [(letter.filename, letter.data, "application/pdf"), ("x.pdf", docgen.simple_pdf(["x"]), "application/pdf")]
    raw = mailgen.gmail(sender="hr@example.com", to="coc@example.gov", subject="request",
                        text=f"Employee SSN: {SSN}", attachments=files)
    for _ in range(30):
        _, data = mutate(raw, rng)
        check(extract_submission(data, channel="email"))


@pytest.mark.parametrize("n", [1, 6, 11, 18])
def test_mutated_documents_in_the_pool(n: int, pool: ExtractionPool) -> None:
    """Through the process pool, as the daemon runs them: a result, or a reason when the child fails."""
    c = case(n, seed=1)
    outcome = pool.extract(c.data, channel="fax", filename=c.filename, limits=Limits(ocr_seconds_per_page=10))
    if outcome.result is None:
        assert outcome.reason
    else:
        check(outcome.result)


@pytest.fixture(scope="module")
def pool() -> ExtractionPool:
    return ExtractionPool(1, timeout=60.0, memory_mb=1024)
