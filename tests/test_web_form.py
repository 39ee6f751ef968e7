"""The review page as a form a clerk works in (issue 16): grouped typed fields, "value is right",
reply previews and where replies go, claims and presence, channel names (FastAPI TestClient, SQLite)."""

from __future__ import annotations

import re

from intake import fieldgroups
from intake.settings import Settings
from intake.store import Store
from intake.web.review import flat_values
from tests.browser import seed_request, valid_request, web_store  # noqa: F401
from tests.results import submission_result
from tests.test_web import BAD_SSN, client_for, csrf_of, login

pytest_plugins = ["tests.store_fixtures"]


def _names(html: str) -> set[str]:
    return set(re.findall(r'name="f:([^"]+)"', html))


def _group_titles(html: str) -> list[str]:
    found = re.findall(r'<fieldset class="group"[^>]*>\s*<legend>([^<]+)</legend>', html)
    return [t.replace("&#39;", "'") for t in found]


def test_fields_grouped_as_the_form_only_those_of_the_request_type(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    employee = seed_request(store, valid_request(seed=21))
    selfemp = valid_request(seed=22, changes={"request_type": "self_employed"})
    selfemp.update(employer=None)
    selfemp["worker"].update(email="pat@example.org", business="software consulting",
                             address={"street": "1 Main St", "city": "Boise", "state": "ID", "postal_code": "83702"})
    selfemp["assignment"].update(hired_in_us=None, remains_employee=None, host_name=None)
    self_id = seed_request(store, selfemp)
    c = login(client_for(settings, store), "sam")  # sees the SSN in full, so it goes back unchanged

    page = c.get(f"/requests/{employee}").text
    names = _names(page)
    assert {"employer.name", "employer.ein", "assignment.hired_in_us", "assignment.remains_employee"} <= names
    assert not {"worker.business", "worker.email", "worker.address.street"} & names
    assert _group_titles(page)[:6] == ["Request", "Worker (as on the Social Security card)", "Employer in the U.S.",
                                       "Employer's address", "Assignment abroad", "Place of work abroad"]
    # Human labels from config/help.toml, never the path.
    assert '>Social Security number' in page and "worker / ssn" not in page
    assert fieldgroups.labels()["employer.irs_3121l_date"] == "IRS 3121(l) agreement date"
    # Typed controls: selects for the request type and the agreement country, yes/no radios, U.S. dates.
    assert re.search(r'<select id="f-request_type" name="f:request_type"', page)
    assert re.search(r'<option value="employee" selected>Employee sent abroad', page)
    assert re.search(r'<select id="f-assignment-country" name="f:assignment.country"', page)
    assert re.search(r'<option value="DE" selected>Germany \(DE\)</option>', page)
    assert len(re.findall(r'type="radio" name="f:assignment.hired_in_us"', page)) == 3
    rec = store.get_request(employee)
    dob = rec.fields["worker"]["date_of_birth"]  # ISO in the store
    us = f"{dob[5:7]}/{dob[8:10]}/{dob[:4]}"
    assert re.search(rf'name="f:worker.date_of_birth" value="{us}"[^>]*placeholder="MM/DD/YYYY"', page)
    # Empty optional fields are folded away, the required ones never.
    folded = page.split('<details class="more">')
    assert len(folded) > 1 and "f:employer.irs_3121l_date" in "".join(folded[1:])

    page = c.get(f"/requests/{self_id}").text
    names = _names(page)
    assert {"worker.business", "worker.email", "worker.address.street"} <= names
    assert not {"employer.name", "employer.ein", "assignment.hired_in_us"} & names
    assert "Employer in the U.S." not in _group_titles(page)

    # Sending the page back unchanged (dates as shown, MM/DD/YYYY) changes nothing; a typed U.S. date is stored ISO.
    token = csrf_of(c.get(f"/requests/{employee}").text)
    form = {f"f:{p}": fieldgroups.display(p, v) for p, v in flat_values(rec.fields).items()}
    r = c.post(f"/requests/{employee}/save", data={**form, "csrf_token": token})
    assert r.headers["location"].endswith("done=unchanged")
    r = c.post(f"/requests/{employee}/save", data={**form, "csrf_token": token, "f:assignment.end_date": "12/31/2029",
                                                   "f:assignment.hired_in_us": "false"})
    after = store.get_request(employee)
    assert after.fields["assignment"]["end_date"] == "2029-12-31" and after.fields["assignment"]["hired_in_us"] is False


def test_problems_first_and_a_request_of_unknown_type_shows_every_group(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    rid = seed_request(store, valid_request(seed=23, ssn=BAD_SSN, changes={"request_type": None}))
    page = login(client_for(settings, store), "rita").get(f"/requests/{rid}").text
    problems = page.split('<ol id="problem-list"', 1)[1].split("</ol>", 1)[0]
    assert 'href="#f-worker-ssn"' in problems and "Worker: Social Security number" in problems
    assert 'href="#f-request_type"' in problems
    assert page.index('id="problem-list"') < page.index('id="fields-form"')
    titles = _group_titles(page)
    assert "Self-employed person's U.S. address" in titles and "Employer in the U.S." in titles


def test_value_is_right_confirms_a_low_confidence_value_and_the_trail_says_who(
        web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    rid = seed_request(store, valid_request(seed=24))
    rec = store.get_request(rid)
    low = [*rec.problems, {"field": "employer.name", "code": "low_confidence", "message": "read at 41%", "help": ""}]
    store.update_request(rid, rec.fields, low, [], actor="pipeline")
    c = login(client_for(settings, store), "rita")
    page = c.get(f"/requests/{rid}").text
    assert re.search(r'class="confirm"[^>]*value="employer.name"', page)
    token = csrf_of(page)
    r = c.post(f"/requests/{rid}/confirm", data={"csrf_token": token, "path": "employer.name"},
               headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.json()["ok"]
    after = store.get_request(rid)
    assert after.fields == rec.fields  # nothing retyped, nothing changed
    assert not [p for p in after.problems if p.field == "employer.name"]
    [event] = [e for e in store.events_of(request_id=rid) if e.kind == "confirmed"]
    assert (event.actor, event.field, event.new) == ("rita", "employer.name", rec.fields["employer"]["name"])
    page = c.get(f"/requests/{rid}").text
    assert not re.search(r'class="confirm"[^>]*value="employer.name"', page)
    trail = page.split("Audit trail", 1)[1]
    assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC</td><td>rita</td><td>confirmed</td>"
                     r"<td>employer.name</td>", trail)
    # Without script the button posts the whole form: its edits are saved, then the value confirmed.
    rec = store.get_request(rid)
    doubt = {"field": "employer.contact_name", "code": "low_confidence", "message": "read at 50%", "help": ""}
    store.update_request(rid, rec.fields, [*rec.problems, doubt], [], actor="pipeline")
    token = csrf_of(c.get(f"/requests/{rid}").text)
    r = c.post(f"/requests/{rid}/confirm", data={"csrf_token": token, "confirm": "employer.contact_name",
                                                 "f:employer.contact_phone": "(614) 555-0199"})
    assert r.status_code == 303 and r.headers["location"].endswith("done=confirmed")
    after = store.get_request(rid)
    assert after.fields["employer"]["contact_phone"] == "(614) 555-0199"
    assert not [p for p in after.problems if p.field == "employer.contact_name"]
    # A reviewer sees the SSN masked: she cannot vouch for it; an empty field has nothing to confirm.
    r = c.post(f"/requests/{rid}/confirm", data={"csrf_token": token, "path": "worker.ssn"},
               headers={"Accept": "application/json"})
    assert r.status_code == 403
    r = c.post(f"/requests/{rid}/confirm", data={"csrf_token": token, "path": "employer.irs_3121l_date"},
               headers={"Accept": "application/json"})
    assert r.status_code == 400
    # Under four eyes, confirming is working on the request.
    from intake.web.review import worked_on_by
    assert worked_on_by(store, store.get_request(rid), "rita")


def test_a_fax_is_answered_by_fax_and_the_preview_says_so(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    req = valid_request(seed=25, changes={"employer.contact_email": "ocr-read@elsewhere.example"})
    rid = seed_request(store, req, channel="fax", sender="+12085550142", raw=b"II*\x00fax", state="needs_review")
    c = login(client_for(settings, store), "sam")
    page = c.get(f"/requests/{rid}").text
    accept = page.split('id="preview-accept"', 1)[1].split("</details>", 1)[0]
    assert "by fax to" in accept and "+12085550142" in accept and "ocr-read@" not in accept
    assert "Transport: fax" in accept and "caller ID" in accept
    reject = page.split('id="preview-reject"', 1)[1].split("</details>", 1)[0]
    assert "+12085550142" in reject and "(the reason you type)" in reject
    token = csrf_of(page)
    assert c.post(f"/requests/{rid}/reject", data={"csrf_token": token, "reason": "not covered"}).status_code == 303
    [reply] = [o for o in store.replies_of(store.get_request(rid).submission_id) if o.kind == "rejected"]
    assert (reply.channel, reply.recipient) == ("fax", "+12085550142")


def test_a_fax_without_a_number_gets_mail_only_at_an_address_a_person_typed(
        web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    req = valid_request(seed=26, changes={"employer.contact_email": "ocr-read@elsewhere.example"})
    rid = seed_request(store, req, channel="fax", sender=None, raw=b"II*\x00fax",  # type: ignore[arg-type]
                       state="needs_review")
    c = login(client_for(settings, store), "sam")
    page = c.get(f"/requests/{rid}").text
    assert "no verified address or fax number" in page.split('id="preview-reject"', 1)[1].split("</details>")[0]
    token = csrf_of(page)
    c.post(f"/requests/{rid}/save", data={"csrf_token": token, "f:employer.contact_email": "hr@acme.example.com"})
    page = c.get(f"/requests/{rid}").text
    assert "mail to <strong class=\"recipient\">hr@acme.example.com" in page.split('id="preview-reject"', 1)[1]
    assert c.post(f"/requests/{rid}/reject", data={"csrf_token": csrf_of(page), "reason": "x"}).status_code == 303
    [reply] = store.replies_of(store.get_request(rid).submission_id)
    assert (reply.channel, reply.recipient) == ("email", "hr@acme.example.com")


def test_claim_filter_the_queue_and_see_who_else_has_the_request_open(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    mine = seed_request(store, valid_request(seed=27, ssn=BAD_SSN))
    free = seed_request(store, valid_request(seed=28, ssn=BAD_SSN))
    app_client = client_for(settings, store)
    rita = login(app_client, "rita")
    page = rita.get(f"/requests/{mine}").text
    assert "Assigned to nobody." in page
    assert rita.post(f"/requests/{mine}/claim", data={"csrf_token": csrf_of(page), "take": "1"}).status_code == 303
    assert "Assigned to me." in rita.get(f"/requests/{mine}").text
    refs = {rid: store.get_request(rid).reference for rid in (mine, free)}
    html = rita.get("/", params={"assigned": "me"}).text
    assert refs[mine] in html and refs[free] not in html
    html = rita.get("/", params={"assigned": "nobody"}).text
    assert refs[free] in html and refs[mine] not in html
    [claim] = [e for e in store.events_of(request_id=mine) if e.kind == "claimed"]
    assert (claim.actor, claim.old, claim.new) == ("rita", None, "rita")
    # Sam (same app, so the same presence) opens it: each is told about the other.
    sam = login(client_for_app(app_client), "sam")
    page = sam.get(f"/requests/{mine}").text
    assert "Another clerk is editing this request: rita." in page and "Assigned to rita." in page
    r = rita.post(f"/requests/{mine}/presence", data={"csrf_token": csrf_of(rita.get("/").text)})
    assert r.json() == {"others": ["sam"], "editing": []}
    # Sam starts typing: his heartbeat says so, and Rita's page names him as editing.
    sam.post(f"/requests/{mine}/presence", data={"csrf_token": csrf_of(page), "editing": "1"})
    assert "Another clerk is editing this request: sam (changes not saved yet)." in rita.get(f"/requests/{mine}").text
    # Next request skips a request another clerk took: Sam is sent past Rita's.
    assert sam.get("/requests/999999/next").headers["location"] == f"/requests/{free}"
    assert rita.get("/requests/999999/next").headers["location"] == f"/requests/{mine}"  # hers, first in line
    sam.post(f"/requests/{mine}/presence", data={"csrf_token": csrf_of(page), "leave": "1"})
    r = rita.post(f"/requests/{mine}/presence", data={"csrf_token": csrf_of(rita.get("/").text)})
    assert r.json() == {"others": [], "editing": []}
    # One channel name per channel: mail is "email" however it came.
    html = rita.get("/").text
    assert "<td>smtp</td>" not in html and "<td>email</td>" in html
    assert '<option value="smtp"' not in html


def client_for_app(other: object) -> object:
    """A second browser on the same running app (its own cookies)."""
    from fastapi.testclient import TestClient

    return TestClient(other.app, follow_redirects=False, client=("testclient2", 50001))  # type: ignore[attr-defined]


def _sheet_batch(store: Store) -> tuple[int, list[int]]:
    """A mail with a CSV of three workers of one employer, read into three requests (one EIN misread)."""
    from datetime import UTC, datetime
    from email.message import EmailMessage

    from intake.store import Incoming
    from intake.web.review import check

    reqs = [valid_request(seed=50 + i) for i in range(3)]
    for r in reqs:
        r["employer"] = dict(reqs[0]["employer"])
    reqs[2]["employer"]["ein"] = "00-1234567"  # misread: no EIN starts with 00
    header = "First name\tLast name\tSSN\tEmployer\tEIN"
    lines = [header] + ["\t".join((r["worker"]["first_name"], r["worker"]["last_name"], r["worker"]["ssn"],
                                   r["employer"]["name"], r["employer"]["ein"])) for r in reqs]
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "hr@acme.example.com", "certificate@localhost", "Three workers"
    msg.set_content("Please find our three workers attached.")
    msg.add_attachment("\n".join(lines).replace("\t", ",").encode(), maintype="text", subtype="csv",
                       filename="workers.csv")
    sid, _ = store.store_submission(Incoming(channel="smtp", raw=msg.as_bytes(), sender="hr@acme.example.com",
                                             received_at=datetime.now(UTC)))
    items = []
    for r in reqs:
        request, problems = check({k: v for k, v in flat_values(r).items() if v})
        items.append({"request": request.model_dump(mode="json"),
                      "problems": [p.model_dump(mode="json") for p in problems],
                      "confidence": {}, "provenance": {}, "state": "needs_review"})
    body = "Please find our three workers attached."
    parts = [{"name": "body", "media_type": "text/plain", "pages": 0, "text": body},
             {"name": "attachment 1: workers.csv", "media_type": "text/csv", "pages": 0, "text": "\n".join(lines)}]
    recs = store.mark_extracted(sid, submission_result(items, parts))
    return sid, [r.id for r in recs]


def test_a_batch_side_by_side_an_employer_fix_for_all_and_the_sheet_as_a_table(
        web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    sid, ids = _sheet_batch(store)
    c = login(client_for(settings, store), "rita")
    page = c.get(f"/requests/{ids[1]}").text
    # Links between the request, its submission and its siblings.
    assert f'href="/submissions/{sid}/batch" id="batch-link"' in page and "Request 2 of 3" in page
    for other in (ids[0], ids[2]):
        assert f'href="/requests/{other}" class="sibling"' in page
    # The sheet is a table; this request's row is the highlighted one; SSNs masked for a reviewer.
    sheet = page.split('<table class="sheet">', 1)[1].split("</table>", 1)[0]
    current = re.findall(r'<tr class="current" aria-current="true">(.*?)</tr>', sheet, re.S)
    rec = store.get_request(ids[1])
    assert len(current) == 1 and rec.fields["worker"]["last_name"] in current[0]
    assert rec.fields["worker"]["ssn"] not in sheet and f"***-**-{rec.fields['worker']['ssn'][-4:]}" in sheet
    assert sheet.count("<tr") == 4  # header and three rows

    batch = c.get(f"/submissions/{sid}/batch").text
    assert all(store.get_request(i).reference in batch for i in ids)
    ein = store.get_request(ids[0]).fields["employer"]["ein"]
    assert re.search(rf'name="f:employer.ein" value="{ein}"', batch) and "1 request(s) hold another value" in batch
    form = {"csrf_token": csrf_of(batch)}
    for path in ("employer.name", "employer.ein", "employer.address.street", "employer.address.city",
                 "employer.address.state", "employer.address.postal_code"):
        value = re.search(rf'name="f:{re.escape(path)}" value="([^"]*)"', batch)
        assert value
        form[f"f:{path}"] = form[f"was:{path}"] = value.group(1)
    form["f:employer.name"] = "Acme Widgets LLC"
    form["all:employer.ein"] = "1"  # the EIN too: the one most requests hold, now also the third's
    r = c.post(f"/submissions/{sid}/batch", data=form)
    assert r.status_code == 303
    for i in ids:
        after = store.get_request(i)
        assert after.fields["employer"]["name"] == "Acme Widgets LLC" and after.fields["employer"]["ein"] == ein
        trail = {(e.actor, e.kind, e.field) for e in store.events_of(request_id=i)}
        assert ("rita", "batch", "employer.name") in trail
    assert ("rita", "batch", "employer.ein") in {(e.actor, e.kind, e.field) for e in store.events_of(request_id=ids[2])}
    assert not [p for p in store.get_request(ids[2]).problems if p.field == "employer.ein"]
    assert "Apply to all 3 requests" in c.get(f"/submissions/{sid}/batch?done=batch").text


def test_the_login_lockout_is_per_name_and_client(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    from tests.browser import PASSWORDS

    settings, store = web_store
    elsewhere = client_for(settings, store, client=("192.0.2.44", 40000))
    token = csrf_of(elsewhere.get("/login").text)
    for _ in range(settings.web.login_max_failures):
        r = elsewhere.post("/login", data={"username": "rita", "password": "wrong", "csrf_token": token})
        assert r.status_code == 401
    r = elsewhere.post("/login", data={"username": "rita", "password": PASSWORDS["rita"], "csrf_token": token})
    assert r.status_code == 429  # that client is slowed down for that name...
    # ...but Rita at her own desk logs in at once: nobody locks a colleague out from elsewhere.
    login(client_for(settings, store, client=("192.0.2.10", 40001)), "rita")


def test_an_html_mail_is_shown_as_html_sanitised_with_nothing_remote(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    from intake.web.mailhtml import sanitise

    settings, store = web_store
    html_part = ('<html><head><style>body{background:url(https://track.example/p.gif)}</style>'
                 '<script>alert(1)</script></head><body><p style="color:red" onclick="x()">Please issue the '
                 '<b>certificate</b> for <a href="https://evil.example/x">our worker</a>.</p>'
                 '<img src="https://track.example/pixel.gif" alt="logo"><table><tr><td colspan="2" class="x">SSN '
                 '123-45-6789</td></tr></table><iframe src="https://evil.example"></iframe></body></html>')
    raw = ("From: hr@acme.example.com\r\nTo: certificate@localhost\r\nSubject: Request\r\nMIME-Version: 1.0\r\n"
           'Content-Type: multipart/alternative; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n'
           "Please issue the certificate for our worker. SSN 123-45-6789\r\n--b\r\n"
           "Content-Type: text/html; charset=utf-8\r\n\r\n" + html_part + "\r\n--b--\r\n").encode()
    rid = seed_request(store, valid_request(seed=60), raw=raw)
    for who, sees in (("rita", False), ("sam", True)):
        page = login(client_for(settings, store), who).get(f"/requests/{rid}").text
        shown = page.split('<div class="mail-html"', 1)[1].split("</div>", 1)[0]
        assert "<b>certificate</b>" in shown and "<p>" in shown and '<td colspan="2">' in shown
        assert "[image: logo]" in shown and "&lt;https://evil.example/x&gt;" in shown
        for bad in ("<script", "<style", "<iframe", "<img", "<a ", "onclick", "style=", "src=", "href=", "url("):
            assert bad not in shown, bad
        assert ("123-45-6789" in shown) is sees and (sees or "***-**-6789" in shown)
    assert sanitise("<p>a<b>b</p>c") == "<p>a<b>b</b></p>c"
    assert sanitise('<svg onload="x()"><a href="javascript:alert(1)">t</a></svg>ok') == "ok"


def _mail_with_spans(store: Store) -> int:
    req = valid_request(seed=61, ssn="123-45-6789")
    w = req["worker"]
    body = (f"Dear team,\nplease issue a certificate.\nWorker: {w['first_name']} {w['last_name']}\n"
            f"SSN: 123-45-6789\nEmployer: {req['employer']['name']}\nThanks\n")
    prov = {"worker.ssn": {"part": "body", "label": "SSN", "method": "text"},
            "employer.name": {"part": "body", "label": "Employer", "method": "text"},
            "worker.last_name": {"part": "body", "method": "text"}}
    return seed_request(store, req, provenance=prov, state="needs_review",
                        parts=[{"name": "body", "media_type": "text/plain", "pages": 0, "text": body}])


def test_the_span_of_a_mail_body_a_value_was_read_from_is_marked(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    rid = _mail_with_spans(store)
    rec = store.get_request(rid)
    for who, ssn in (("rita", "***-**-6789"), ("sam", "123-45-6789")):
        page = login(client_for(settings, store), who).get(f"/requests/{rid}").text
        marks = dict(re.findall(r'<mark class="span" id="span-([^"]+)"[^>]*>([^<]*)</mark>', page))
        assert marks["worker.ssn"] == f"SSN: {ssn}", marks
        assert marks["employer.name"].startswith("Employer: ")
        assert marks["worker.last_name"] == rec.fields["worker"]["last_name"]  # no label: the value itself
        assert 'class="show-box" data-path="worker.ssn"' in page
        if who == "rita":
            assert "123-45-6789" not in page


def test_a_multi_page_fax_has_page_thumbnails_linking_to_its_pages(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    import random as _random

    from tests import faxgen

    settings, store = web_store
    req = valid_request(seed=62)
    pages = faxgen.fax_request(req, _random.Random(4), "fine")
    rid = seed_request(store, req, channel="fax", sender="+12085550142", raw=faxgen.tiff_bytes(pages + pages),
                       state="needs_review",
                       parts=[{"name": "fax", "media_type": "image/tiff", "pages": 2 * len(pages), "text": ""}])
    c = login(client_for(settings, store), "sam")
    page = c.get(f"/requests/{rid}").text
    n = 2 * len(pages)
    thumbs = re.findall(r'<a href="#page-0-(\d+)" class="thumb"><img src="([^"]+)"', page)
    assert [int(t[0]) for t in thumbs] == list(range(1, n + 1))
    assert all(f'id="page-0-{i}"' in page for i in range(1, n + 1))
    assert c.get(thumbs[-1][1]).content.startswith(b"\x89PNG")


Pixels = tuple[int, int, int, int]


def _value_runs(data: dict[str, list[object]], value: str) -> list[list[Pixels]]:
    """The pixel boxes of each run of Tesseract's words on a page that spells `value` (case, spaces
    and punctuation aside: Tesseract may cut `hr@northwind.example.com` in three)."""
    def norm(t: object) -> str:
        return re.sub(r"[^0-9a-z@]", "", str(t).lower())

    want = norm(value)
    words = [(norm(t), (int(str(data["left"][i])), int(str(data["top"][i])),
                        int(str(data["left"][i])) + int(str(data["width"][i])),
                        int(str(data["top"][i])) + int(str(data["height"][i]))))
             for i, t in enumerate(data["text"]) if norm(t)]
    runs = []
    for i in range(len(words)):
        text, j = "", i
        while j < len(words) and len(text) < len(want):
            text += words[j][0]
            j += 1
        if text == want:
            runs.append([b for _, b in words[i:j]])
    return runs


def _covers(box: tuple[float, float, float, float], words: list[Pixels]) -> bool:
    """Every word's middle inside the box (pixels)."""
    x0, y0, x1, y1 = box
    return all(x0 <= (a + c) / 2 <= x1 and y0 <= (b + d) / 2 <= y1 for a, b, c, d in words)


def test_a_box_on_a_faxed_letter_lies_over_the_words_of_its_value(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    """The box the page outlines for a field, placed on the page image the page serves, covers the
    words Tesseract finds for that value on that very image, and no other line."""
    import io
    import random

    import pytesseract
    from PIL import Image

    from tests import faxgen
    from tests.browser import read_fax

    settings, store = web_store
    req = valid_request(seed=41, ssn=BAD_SSN)
    tiff = faxgen.tiff_bytes(faxgen.fax_request(req, random.Random(5), "fine"))  # a letter, not our form
    rid = read_fax(store, settings, tiff, "+12085550142")
    c = login(client_for(settings, store), "sam")
    page = c.get(f"/requests/{rid}").text
    boxes = {m["path"]: tuple(float(m[k]) for k in ("x0", "y0", "x1", "y1")) for m in re.finditer(
        r'<div class="box" id="box-[^"]+" data-path="(?P<path>[^"]+)" data-x0="(?P<x0>[^"]+)" '
        r'data-y0="(?P<y0>[^"]+)" data-x1="(?P<x1>[^"]+)" data-y1="(?P<y1>[^"]+)"', page)}
    src = re.search(r'<img[^>]+src="(/requests/\d+/parts/0/pages/1\.png)"', page)
    assert src and boxes
    image = Image.open(io.BytesIO(c.get(src.group(1)).content))
    w, h = image.size
    data = pytesseract.image_to_data(image, output_type=pytesseract.Output.DICT)
    rec = store.get_request(rid)
    checked = []
    for path, value in [("employer.contact_email", rec.fields["employer"]["contact_email"]),
                        ("assignment.host_name", rec.fields["assignment"]["host_name"]),
                        ("employer.name", rec.fields["employer"]["name"]),
                        ("worker.ssn", rec.fields["worker"]["ssn"]),
                        ("confirmation_email", rec.fields["confirmation_email"])]:
        runs = _value_runs(data, str(value))
        assert runs, (path, value)
        x0, y0, x1, y1 = boxes[path]
        bx0, by0, bx1, by1 = x0 * w, y0 * h, x1 * w, y1 * h

        # One place the value is written (a letterhead may repeat the employer's name) is in the box,
        [words] = [r for r in runs if _covers((bx0, by0, bx1, by1), r)] or [[]]
        assert words, (path, runs, boxes[path])
        # and the box is no taller than about its line: it does not reach the lines above or below.
        line = max(b[3] - b[1] for b in words)
        assert by1 - by0 < 2.2 * line, (path, by1 - by0, line)
        checked.append(path)
    assert len(checked) == 5


def test_a_value_written_twice_is_marked_where_it_was_read(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    """The mail names the employer, the worker and "the contact email" in its first sentence and
    again with labels below: each mark stands at the offsets the reader recorded, on the labelled
    line, not at the first place a search for the value (or its label) finds."""
    from tests.browser import read_stored

    settings, store = web_store
    body = ("Dear team,\r\n\r\nAcme Widgets Inc is sending Jane Roe to Germany; please answer at the contact "
            "email below.\r\n\r\nWorker name: Jane Roe\r\nSSN: 123 45 6789\r\nDate of birth: 03/04/1985\r\n"
            "Citizenship: United States\r\nEmployer name: Acme Widgets Inc\r\nEIN: 12-3456789\r\n"
            "Employer address: 1 Main St, Dayton, OH 45402\r\nContact email: hr@acme.example.com\r\n"
            "Country of assignment: Germany\r\nStart date: 05/01/2027\r\nEnd date: 04/30/2029\r\n\r\n"
            "Thanks,\r\nPat Lee\r\nAcme Widgets Inc\r\n")
    raw = ("From: hr@acme.example.com\r\nTo: certificate@localhost\r\nSubject: Certificate request\r\n"
           "Message-ID: <twice@acme.example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body).encode()
    rid = read_stored(store, settings, raw, channel="smtp", sender="hr@acme.example.com")
    rec = store.get_request(rid)
    assert rec.fields["employer"]["name"] == "Acme Widgets Inc" and rec.fields["worker"]["last_name"] == "Roe"
    assert rec.provenance["employer.name"].get("span"), rec.provenance["employer.name"]
    for who, ssn in (("rita", "***-**-6789"), ("sam", "123 45 6789")):
        page = login(client_for(settings, store), who).get(f"/requests/{rid}").text
        marks = dict(re.findall(r'<mark class="span" id="span-([^"]+)"[^>]*>([^<]*)</mark>', page))
        assert marks["employer.name"] == "Employer name: Acme Widgets Inc", marks
        assert marks["employer.contact_email"] == "Contact email: hr@acme.example.com", marks
        assert marks["worker.first_name"] == "Worker name: Jane Roe", marks
        assert marks["assignment.country"] == "Country of assignment: Germany", marks
        assert marks["worker.ssn"] == f"SSN: {ssn}", marks  # widened to the whole number, masked after
        if who == "rita":
            assert "123 45 6789" not in page and "123-45-6789" not in page
    # The offsets are the text's: the stored span cuts the value out of the part's text as stored.
    text = store.get_submission(rec.submission_id).result["parts"][0]["text"]
    start, end = rec.provenance["employer.contact_email"]["span"]
    assert text[start:end] == "hr@acme.example.com"


def test_recorded_spans_cut_each_value_out_of_the_text_shown_a_forwarded_mail_too() -> None:
    """Every span a label reader records cuts what it read out of the part's text as shown: in a
    plain body and in a forwarded one (the forwarder's note above the request shifts its offsets)."""
    from parsers.body import parse_text

    request = ("Worker name: Jane Roe\nSSN: 123-45-6789\nEmployer name: Acme Widgets Inc\n"
               "Country of assignment: Germany\nStart date: 05/01/2027\n")
    forwarded = ("Hi team, please handle the request below.\nOne correction: the assignment now ends on "
                 "1 May 2029.\n\n---------- Forwarded message ---------\nFrom: Pat <pat@acme.example.com>\n"
                 "Date: Mon, Nov 2, 2026\nSubject: certificate\nTo: hr@acme.example.com\n\n" + request)
    for text in (request, forwarded):
        ext = parse_text(text, "body")
        spans_of = [(c.raw, c.provenance.span) for c in ext.records[0] if c.provenance.span]
        assert len(spans_of) >= 5
        assert ext.text is not None
        for raw, (start, end) in spans_of:
            assert raw.strip() in ext.text[start:end] or ext.text[start:end] in raw, (raw, ext.text[start:end])


def test_the_queue_comes_a_page_at_a_time_with_its_filters_kept(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    from html import unescape

    from intake.web.app import QUEUE_PAGE

    settings, store = web_store
    ids = [seed_request(store, valid_request(seed=100 + i, ssn=BAD_SSN)) for i in range(QUEUE_PAGE + 5)]
    c = login(client_for(settings, store), "rita")
    first = c.get("/", params={"state": "needs_review"}).text
    rows = re.findall(r'<td><a href="/requests/(\d+)">', first)
    assert len(rows) == QUEUE_PAGE and f"Requests 1–{QUEUE_PAGE}" in first
    link = re.search(r'<a href="([^"]+)" rel="next" id="next-page">', first)
    assert link and "state=needs_review" in unescape(link.group(1)) and "page=2" in link.group(1)
    second = c.get(unescape(link.group(1))).text
    more = re.findall(r'<td><a href="/requests/(\d+)">', second)
    assert len(more) == 5 and not set(more) & set(rows) and {int(i) for i in rows + more} == set(ids)
    assert 'rel="prev"' in second and 'rel="next"' not in second
    assert f"Requests {QUEUE_PAGE + 1}–{QUEUE_PAGE + 5}" in second
