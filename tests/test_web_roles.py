"""No SSN in clear where the README's role policy says none may be, whatever the role: every page a
reviewer can reach by following links (HTML, and the page images read back with Tesseract) shows
none; supervisors and administrators see SSNs in the fields they correct, but never in the audit
trail or the conversation (issue 16, item 2)."""

from __future__ import annotations

import io
import random
import re
from html import unescape
from urllib.parse import urldefrag, urlparse

import pytesseract
from PIL import Image

from intake.settings import Settings
from intake.store import Store
from parsers.ssn_grammar import find_ssns
from tests import faxgen
from tests.browser import read_fax, read_stored, web_store  # noqa: F401
from tests.test_web import client_for, csrf_of, login
from tests.test_web_form import _sheet_batch

pytest_plugins = ["tests.store_fixtures"]

FAX_SSN = "666-12-3456"
MAIL_SSN = "123-45-6789"
NOT_FOLLOWED = ("/logout", "/requests/999999", "/metrics", "/form.pdf")


def _seed(settings: Settings, store: Store) -> tuple[int, int]:
    """A faxed letter and a mail, both read by the pipeline, and a 3-row sheet; the fax corrected
    by a supervisor (so its trail holds an SSN change)."""
    from tests.browser import valid_request

    tiff = faxgen.tiff_bytes(faxgen.fax_request(valid_request(seed=41, ssn=FAX_SSN), random.Random(5), "fine"))
    fax = read_fax(store, settings, tiff, "+12085550142")
    body = (f"Worker name: Jane Roe\r\nSSN: {MAIL_SSN}\r\nEmployer name: Acme Widgets Inc\r\n"
            f"Country of assignment: Germany\r\nStart date: 05/01/2027\r\nEnd date: 04/30/2029\r\n")
    raw = ("From: hr@acme.example.com\r\nTo: certificate@localhost\r\nSubject: Jane Roe SSN " + MAIL_SSN +
           "\r\nMessage-ID: <roles@acme.example.com>\r\n\r\n" + body).encode()
    mail = read_stored(store, settings, raw, channel="smtp", sender="hr@acme.example.com")
    _sheet_batch(store)
    sam = login(client_for(settings, store), "sam")
    page = sam.get(f"/requests/{fax}").text
    r = sam.post(f"/requests/{fax}/save", data={"csrf_token": csrf_of(page), "f:worker.ssn": "123-45-6780"})
    assert r.status_code == 303
    assert store.get_request(fax).fields["worker"]["ssn"] == "123-45-6780"
    return fax, mail


def _crawl(client: object, start: str = "/", limit: int = 120) -> dict[str, tuple[str, bytes]]:
    """Every same-site page reachable from `start` by GET links and images: path -> (type, body)."""
    seen: dict[str, tuple[str, bytes]] = {}
    todo = [start]
    while todo and len(seen) < limit:
        path = todo.pop(0)
        if path in seen or path.startswith(NOT_FOLLOWED):
            continue
        r = client.get(path)  # type: ignore[attr-defined]
        kind = r.headers.get("content-type", "")
        seen[path] = (kind, r.content)
        if "html" in kind:
            for ref in re.findall(r'(?:href|src)="([^"]+)"', r.text):
                url = urldefrag(unescape(ref))[0]
                if url.startswith("/") and not urlparse(url).netloc and url not in seen:
                    todo.append(url)
    return seen


def test_a_reviewer_meets_no_ssn_in_clear_on_any_page_or_page_image(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    fax, mail = _seed(settings, store)
    pages = _crawl(login(client_for(settings, store), "rita"))
    assert f"/requests/{fax}" in pages and f"/requests/{mail}" in pages and "/help" in pages
    assert any(p.startswith("/submissions/") for p in pages) and any(p.endswith("/batch") for p in pages)
    images = 0
    for path, (kind, body) in pages.items():
        if "html" in kind or "json" in kind or kind.startswith("text/"):
            assert find_ssns(body.decode("utf-8", "replace")) == [], path
        elif kind.startswith("image/") and "/pages/" in path:
            text = pytesseract.image_to_string(Image.open(io.BytesIO(body)))
            assert find_ssns(text) == [], (path, text)
            images += 1
    assert images >= 1


def test_supervisors_and_admins_see_no_ssn_in_the_trail_or_conversation(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    fax, mail = _seed(settings, store)
    for who in ("sam", "ada"):
        c = login(client_for(settings, store), who)
        page = c.get(f"/requests/{fax}").text
        assert FAX_SSN not in page or "123-45-6780" in page  # they see the SSN in the field they correct
        for rid in (fax, mail):
            page = c.get(f"/requests/{rid}").text
            for section in ("trail", "conversation"):
                m = re.search(rf'<table class="{section}">(.*?)</table>', page, re.S)
                assert m, (who, rid, section)
                assert find_ssns(unescape(m.group(1))) == [], (who, rid, section)
        trail = re.search(r'<table class="trail">(.*?)</table>', c.get(f"/requests/{fax}").text, re.S)
        assert trail and "***-**-6780" in unescape(trail.group(1))  # the correction is there, masked
