"""Mail bodies: quoted replies are not read, forwards are, HTML of each mail client becomes lines."""

from __future__ import annotations

import html
import random
from typing import Any

import pytest

from parsers.body import html_to_text, parse_html, parse_text, strip_quoted
from parsers.types import Candidate, Extraction
from tests.synth import labelled_lines, make_request

OTHER_SSN = "234-56-7890"  # the number in quoted text: must never be read


def _req(seed: int, **kw: Any) -> dict[str, Any]:
    return make_request(random.Random(seed), kind="employee", **kw)


def _labelled(req: dict[str, Any]) -> str:
    return "\n".join(labelled_lines(req, random.Random(1)))


def _values(ext: Extraction, field: str) -> list[str]:
    return [c.value for rec in ext.records for c in rec if c.field == field]


def _all(ext: Extraction) -> list[Candidate]:
    return [c for rec in ext.records for c in rec]


# --- plain text: quotes, signatures, forwards ------------------------------------------------------


def test_gmail_style_reply_quote_is_not_read() -> None:
    req = _req(1)
    body = (
        f"Hello,\n\nhere is the corrected request.\n\n{_labelled(req)}\n\n"
        "On Tue, Nov 24, 2026 at 9:14 AM Nora Marsh <nora@acme.example.com>\nwrote:\n\n"
        f"> Worker name: Owen Other\n> SSN: {OTHER_SSN}\n> Start date: 1/1/2027\n"
    )
    ext = parse_text(body, "body")
    assert _values(ext, "worker.ssn") == [req["worker"]["ssn"]]
    assert OTHER_SSN not in ext.text
    assert "Owen" not in ext.text


def test_outlook_original_message_block_is_not_read() -> None:
    req = _req(2)
    body = (
        f"Please see below.\n{_labelled(req)}\n\n-----Original Message-----\nFrom: Jane Roe\n"
        f"Sent: Monday, November 23, 2026 4:00 PM\nTo: coc@ssa.example.gov\nSubject: RE: request\n\n"
        f"SSN: {OTHER_SSN}\n"
    )
    ext = parse_text(body, "body")
    assert _values(ext, "worker.ssn") == [req["worker"]["ssn"]]
    assert OTHER_SSN not in ext.text


def test_outlook_header_block_without_separator_is_not_read() -> None:
    req = _req(3)
    body = (
        f"{_labelled(req)}\n\nFrom: Jane Roe <jane@acme.example.com>\nSent: Monday, November 23, 2026\n"
        f"To: International Programs\nSubject: RE: certificate\n\nThe employee's SSN is {OTHER_SSN}.\n"
    )
    ext = parse_text(body, "body")
    assert _values(ext, "worker.ssn") == [req["worker"]["ssn"]]


def test_signature_is_dropped() -> None:
    req = _req(4)
    body = f"{_labelled(req)}\n-- \nJane Roe | HR | SSN desk {OTHER_SSN}\n"
    ext = parse_text(body, "body")
    assert _values(ext, "worker.ssn") == [req["worker"]["ssn"]]
    assert "Jane Roe" not in ext.text


@pytest.mark.parametrize(
    "marker",
    [
        "---------- Forwarded message ---------\nFrom: Nora Marsh <nora@acme.example.com>\n"
        "Date: Tue, Nov 24, 2026 at 9:14 AM\nSubject: Certificate request\nTo: HR <hr@acme.example.com>\n",
        "Begin forwarded message:\n\nFrom: Nora Marsh <nora@acme.example.com>\nSubject: Certificate request\n"
        "Date: November 24, 2026 at 9:14:03 AM EST\nTo: hr@acme.example.com\n",
        "________________________________\nFrom: Nora Marsh <nora@acme.example.com>\n"
        "Sent: Tuesday, November 24, 2026 9:14 AM\nTo: HR\nSubject: FW: Certificate request\n",
        "-----Original Message-----\nFrom: Nora Marsh\nSent: Tuesday, November 24, 2026 9:14 AM\n"
        "To: HR\nSubject: Fwd: Certificate request\n",
    ],
)
def test_forwarded_message_is_read(marker: str) -> None:
    req = _req(5)
    body = f"FYI, see the request below.\n\nThanks\n-- \nHR desk\n\n{marker}\n{_labelled(req)}\n"
    ext = parse_text(body, "body")
    assert _values(ext, "worker.ssn") == [req["worker"]["ssn"]]
    assert _values(ext, "assignment.start_date") == [req["assignment"]["start_date"]]
    assert not ext.problems


def test_forward_that_contains_a_quoted_reply_reads_only_the_forwarded_text() -> None:
    req = _req(6)
    body = (
        f"FYI\n\n---------- Forwarded message ---------\nFrom: Nora <n@acme.example.com>\n"
        f"Date: Tue, Nov 24, 2026\nSubject: request\nTo: HR <hr@acme.example.com>\n\n{_labelled(req)}\n\n"
        f"On Mon, Nov 23, 2026 at 8:00 AM HR <hr@acme.example.com> wrote:\n> SSN: {OTHER_SSN}\n"
    )
    ext = parse_text(body, "body")
    assert _values(ext, "worker.ssn") == [req["worker"]["ssn"]]


def test_strip_quoted_keeps_plain_text() -> None:
    text = "Line one\nFrom the start of 2027 she works in Munich.\nSent me a note:\n> old\nlast"
    assert strip_quoted(text) == "Line one\nFrom the start of 2027 she works in Munich.\nSent me a note:\nlast"


def test_windows_1252_punctuation_in_text() -> None:
    req = _req(7)
    w = req["worker"]
    body = (
        f"Worker name: {w['first_name']} {w['last_name']}\nSSN: {w['ssn']}\n"
        "Assignment period: 3/3/2027 \u2013 2/28/2029\n"
        f"It\u2019s for our \u201cGerman\u201d office.\n"
    )
    for text in (body, body.replace("\u2013", "\x96").replace("\u2019", "\x92")):
        ext = parse_text(text, "body")
        assert _values(ext, "assignment.start_date") == ["2027-03-03"]
        assert _values(ext, "assignment.end_date") == ["2029-02-28"]
        assert "\u2019" not in ext.text and "\x92" not in ext.text


def test_labelled_beats_prose_for_the_same_field() -> None:
    body = (
        "Our employee Jane Doe will work in Lyon, France from 3/3/2027 through 2/28/2029.\n"
        "Start date: 4/1/2027\nSSN: 123-45-6789\n"
    )
    ext = parse_text(body, "body")
    assert _values(ext, "assignment.start_date") == ["2027-04-01"]
    assert _values(ext, "assignment.end_date") == ["2029-02-28"]  # only prose has it
    assert _values(ext, "assignment.country") == ["FR"]


def test_dependent_line_birth_date_is_not_the_workers() -> None:
    body = "Our employee Jane Doe goes to Germany.\nDependent: Owen Doe, child, born 2012-05-01\n"
    ext = parse_text(body, "body")
    assert "2012-05-01" not in _values(ext, "worker.date_of_birth")


def test_no_request_in_a_cover_note() -> None:
    ext = parse_text("Hi,\n\nplease find the form attached.\n\nThanks,\nTom\n", "body")
    assert ext.records == []
    assert [p.code for p in ext.problems] == ["no_request"]


def test_employer_block_only_is_kept_for_merging() -> None:
    ext = parse_text(
        "Please see the attached form.\n\nEmployer name: Acme Widget Corporation\nEIN: 12-3456789\n", "body"
    )
    assert _values(ext, "employer.ein") == ["12-3456789"]
    assert [p.code for p in ext.problems] == ["no_request"]


def test_prose_letter_through_parse_text() -> None:
    req = _req(8, country="JP")
    w, a, e = req["worker"], req["assignment"], req["employer"]
    letter = (
        f"Dear Sir or Madam,\n\n{e['name']} (EIN {e['ein']}) requests a certificate of coverage for\n"
        f"our employee {w['first_name']} {w['last_name']}, Social Security number {w['ssn']}, who will\n"
        f"work for {a['host_name']} in Osaka, Japan, from {a['start_date']} through {a['end_date']}.\n\n"
        f"Sincerely,\nNora Marsh\n"
    )
    ext = parse_text(letter, "attachment 1: letter.txt")
    got = {c.field: c for c in _all(ext)}
    assert got["worker.ssn"].value == w["ssn"]
    assert got["assignment.country"].value == "JP"
    assert got["assignment.host_name"].value == a["host_name"]
    assert got["worker.last_name"].value == w["last_name"]
    assert all(c.provenance.part == "attachment 1: letter.txt" for c in _all(ext))


# --- HTML as the mail clients write it -----------------------------------------------------------


def _rows(req: dict[str, Any]) -> str:
    return "".join(
        f"<tr><td style='padding:2px'><b>{html.escape(k)}</b></td><td>{html.escape(v.strip())}</td></tr>"
        for k, v in (line.split(":", 1) for line in labelled_lines(req, random.Random(1)))
    )


def _outlook(new: str, quoted: str, *, forward: bool = False) -> str:
    subject = "FW: certificate" if forward else "RE: certificate"
    return f"""<html xmlns:o="urn:schemas-microsoft-com:office:office"><head>
<meta http-equiv="Content-Type" content="text/html; charset=Windows-1252">
<style><!-- p.MsoNormal {{margin:0in; font-family:"Calibri";}} SSN 999-99-9999 --></style></head>
<body lang="EN-US"><div class="WordSection1">{new}
<div id="appendonsend"></div>
<hr style="display:inline-block;width:98%" tabindex="-1">
<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri" style="font-size:11pt" color="#000000">
<b>From:</b> Nora Marsh &lt;nora@acme.example.com&gt;<br>
<b>Sent:</b> Tuesday, November 24, 2026 9:14 AM<br>
<b>To:</b> International Programs &lt;coc@ssa.example.gov&gt;<br>
<b>Subject:</b> {subject}</font>
<div>&nbsp;</div></div>
<div>{quoted}</div></div></body></html>"""


def test_outlook_reply_reads_new_table_not_quote() -> None:
    req = _req(10)
    new = f"<p class=MsoNormal>Hello,</p><table class=MsoTableGrid>{_rows(req)}</table>"
    quoted = f"<p class=MsoNormal>SSN: {OTHER_SSN}</p>"
    ext = parse_html(_outlook(new, quoted), "body")
    assert _values(ext, "worker.ssn") == [req["worker"]["ssn"]]
    assert _values(ext, "employer.ein") == [req["employer"]["ein"]]
    assert OTHER_SSN not in ext.text and "999-99-9999" not in ext.text
    assert "Calibri" not in ext.text


def test_outlook_forward_is_read() -> None:
    req = _req(11)
    new = "<p class=MsoNormal>FYI, see below.</p>"
    quoted = f"<table>{_rows(req)}</table>"
    ext = parse_html(_outlook(new, quoted, forward=True), "body")
    assert _values(ext, "worker.ssn") == [req["worker"]["ssn"]]


def _gmail(new: str, quoted: str, *, forward: bool = False) -> str:
    if forward:
        return (
            f'<div dir="ltr">{new}<br><br><div class="gmail_quote gmail_quote_container">'
            '<div dir="ltr" class="gmail_attr">---------- Forwarded message ---------<br>'
            'From: <strong class="gmail_sendername" dir="auto">Nora Marsh</strong> '
            '<span dir="auto">&lt;nora@acme.example.com&gt;</span><br>Date: Tue, Nov 24, 2026 at 9:14 AM<br>'
            "Subject: request<br>To: &lt;hr@acme.example.com&gt;<br></div><br><br>"
            f'<div dir="ltr">{quoted}</div></div></div>'
        )
    return (
        f'<div dir="ltr">{new}</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
        "On Tue, Nov 24, 2026 at 9:14 AM Nora Marsh &lt;nora@acme.example.com&gt; wrote:<br></div>"
        '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid '
        f'rgb(204,204,204);padding-left:1ex">{quoted}</blockquote></div>'
    )


def test_gmail_reply_and_forward() -> None:
    req = _req(12)
    lines = "".join(f"<div>{html.escape(x)}</div>" for x in labelled_lines(req, random.Random(1)))
    ext = parse_html(_gmail(lines, f"<div>SSN: {OTHER_SSN}</div>"), "body")
    assert _values(ext, "worker.ssn") == [req["worker"]["ssn"]]
    assert OTHER_SSN not in ext.text
    ext = parse_html(_gmail("<div>FYI</div>", lines, forward=True), "body")
    assert _values(ext, "worker.ssn") == [req["worker"]["ssn"]]
    assert _values(ext, "assignment.country") == [req["assignment"]["country"]]


def _apple(new: str, quoted: str, *, forward: bool = False) -> str:
    if forward:
        return (
            f'<html><head></head><body style="word-wrap: break-word;">{new}<div><br>'
            '<blockquote type="cite"><div>Begin forwarded message:</div><br class="Apple-interchange-newline">'
            '<div style="margin: 0px;"><span><b>From: </b></span><span>Nora Marsh &lt;nora@acme.example.com&gt;'
            "</span></div><div><span><b>Subject: </b></span><span><b>request</b></span></div>"
            "<div><span><b>Date: </b></span><span>November 24, 2026 at 9:14:03 AM EST</span></div>"
            "<div><span><b>To: </b></span><span>hr@acme.example.com</span></div><br>"
            f"{quoted}</blockquote></div></body></html>"
        )
    return (
        f'<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head>'
        f'<body dir="auto">{new}<div dir="ltr"><br><blockquote type="cite">On Nov 24, 2026, at 9:14 AM, '
        f"Nora Marsh &lt;nora@acme.example.com&gt; wrote:<br><br></blockquote></div>"
        f'<blockquote type="cite"><div dir="ltr">{quoted}</div></blockquote></body></html>'
    )


def test_apple_mail_reply_and_forward() -> None:
    req = _req(13)
    lines = "".join(f"<div>{html.escape(x)}</div>" for x in labelled_lines(req, random.Random(1)))
    ext = parse_html(_apple(lines, f"<div>SSN: {OTHER_SSN}</div>"), "body")
    assert _values(ext, "worker.ssn") == [req["worker"]["ssn"]]
    assert OTHER_SSN not in ext.text
    ext = parse_html(_apple("<div>FYI</div>", lines, forward=True), "body")
    assert _values(ext, "worker.ssn") == [req["worker"]["ssn"]]


def test_html_entities_and_cp1252_dash() -> None:
    doc = (
        "<p>Our employee Jane Doe&rsquo;s assignment in Poland runs 3/3/2027 &ndash; 2/28/2029.</p>"
        "<p>Her Social Security number is 123&#8209;45&#8209;6789.</p>"
    )
    ext = parse_html(doc, "body")
    assert _values(ext, "assignment.start_date") == ["2027-03-03"]
    assert _values(ext, "assignment.end_date") == ["2029-02-28"]
    assert _values(ext, "worker.ssn") == ["123-45-6789"]


def test_two_cell_rows_become_label_lines() -> None:
    text, tables = html_to_text(
        "<table><tr><td>SSN</td><td>123-45-6789</td></tr><tr><th>Date of birth:</th><td>4/24/1985</td></tr></table>"
    )
    assert text.splitlines() == ["SSN: 123-45-6789", "Date of birth: 4/24/1985"]
    assert tables == []


def test_dependents_table_is_not_the_worker() -> None:
    req = _req(14)
    w = req["worker"]
    doc = (
        f"<p>Worker name: {w['first_name']} {w['last_name']}</p><p>SSN: {w['ssn']}</p>"
        f"<p>Date of birth: 4/24/1985</p><p>Dependents</p>"
        "<table><tr><th>Name</th><th>Date of birth</th><th>Relationship</th></tr>"
        "<tr><td>Owen Doe</td><td>5/1/2012</td><td>child</td></tr>"
        "<tr><td>Ada Doe</td><td>6/2/1986</td><td>spouse</td></tr></table>"
    )
    ext = parse_html(doc, "body")
    assert _values(ext, "worker.date_of_birth") == ["1985-04-24"]
    deps = {c.field: c.value for c in _all(ext) if c.field.startswith("dependents")}
    assert "Owen Doe" in deps.values() and "2012-05-01" in deps.values()
    assert "worker.first_name" in {c.field for c in _all(ext)}
    assert _values(ext, "worker.first_name") == [w["first_name"]]


def test_workers_table_gives_one_record_per_row() -> None:
    reqs = [_req(20), _req(21), _req(22)]
    head = "<tr><th>Employee name</th><th>SSN</th><th>Date of birth</th><th>Country</th></tr>"
    body = "".join(
        f"<tr><td>{r['worker']['first_name']} {r['worker']['last_name']}</td>"
        f"<td>{r['worker']['ssn']}</td><td>{r['worker']['date_of_birth']}</td>"
        f"<td>{r['assignment']['country']}</td></tr>"
        for r in reqs
    )
    doc = f"<p>Employer name: Acme Widget Corporation</p><p>EIN: 12-3456789</p><table>{head}{body}</table>"
    ext = parse_html(doc, "body")
    assert ext.multi and len(ext.records) == 3
    for rec, r in zip(ext.records, reqs, strict=True):
        got = {c.field: c.value for c in rec}
        assert got["worker.ssn"] == r["worker"]["ssn"]
        assert got["worker.last_name"] == r["worker"]["last_name"]
        assert got["employer.ein"] == "12-3456789"


def test_html_without_request() -> None:
    ext = parse_html("<html><body><p>Thanks!</p><div class=gmail_signature>Tom</div></body></html>", "b")
    assert ext.records == [] and [p.code for p in ext.problems] == ["no_request"]


def test_bottom_posted_reply_reads_the_answer_below_the_quote() -> None:
    req = _req(30)
    body = (
        f"On Tue, Nov 24, 2026 at 9:14 AM Nora <nora@acme.example.com> wrote:\n> SSN: {OTHER_SSN}\n"
        f"> Please correct.\n\nCorrected:\n{_labelled(req)}\n"
    )
    ext = parse_text(body, "body")
    assert _values(ext, "worker.ssn") == [req["worker"]["ssn"]]


def test_layout_tables_with_a_quote_inside_a_cell() -> None:
    req = _req(31)
    inner = "".join(f"<p>{html.escape(x)}</p>" for x in labelled_lines(req, random.Random(1)))
    doc = (f"<table width='100%'><tr><td><table><tr><td>{inner}</td></tr></table>"
           f"<blockquote><p>SSN: {OTHER_SSN}</p></blockquote></td></tr></table>")
    ext = parse_html(doc, "body")
    assert _values(ext, "worker.ssn") == [req["worker"]["ssn"]]
    assert OTHER_SSN not in ext.text


@pytest.mark.parametrize("doc", ["<td>" * 20000, "<blockquote>" * 5000 + "x", "<div>" * 5000 + "x"])
def test_hostile_html_is_read_quickly(doc: str) -> None:
    ext = parse_html(doc, "body")
    assert ext.records == []
