"""Issue 11's bar, on the real gateway: `coc-intake run --demo` in a folder of its own, five request
mails with the SSN in the Subject, in an attachment's name, written with ` / `, with en dashes, and
plainly, sent to its SMTP listener. Afterwards no full SSN, with any separators, is in any reply
(headers included), in any file under var/ read as raw bytes (database, WAL, logs, sent mail),
in the daemon's output, or on any page a reviewer can open through the web app (queue, requests,
submissions, the page images' alt texts). The SSNs are generated (`tests.pii_scan.fake_ssns`)."""

from __future__ import annotations

import os
import random
import re
import signal
import smtplib
import subprocess
import sys
from pathlib import Path

import httpx

from tests import docgen, mailgen
from tests.gateway import wait_for
from tests.pii_scan import fake_ssns, found, mail_text
from tests.servers import free_port, wait_for_port
from tests.synth import labelled_lines, make_request

REVIEWER, PASSWORD = "rita", "a reviewer's long passphrase 11"


def _mails(ssns: list[str]) -> list[bytes]:
    """The five request mails, SSN i written the i-th way."""
    rng = random.Random(11)
    out = []
    ways = ["subject", "attachment name", " / ", "\u2013", "-"]
    for digits, way in zip(ssns, ways, strict=True):
        req = make_request(rng, kind="employee", country="DE")
        sep = way if way in (" / ", "\u2013", "-") else "-"
        written = f"{digits[:3]}{sep}{digits[3:5]}{sep}{digits[5:]}"
        req["worker"]["ssn"] = written
        w = req["worker"]
        name = f"{w['first_name']} {w['last_name']}"
        subject = f"COC request for {name}, SSN {written}" if way == "subject" else "COC request"
        sender = req["employer"]["contact_email"]
        if way == "attachment name":
            req["worker"]["ssn"] = f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"
            pdf = docgen.letter_pdf(req, rng, "colon")
            out.append(mailgen.thunderbird(sender=sender, to="certificate@localhost", subject=subject,
                                           text="Hello,\n\nthe request is attached.\n",
                                           attachments=[(f"{name} SSN {written}.pdf", pdf, "application/pdf")]))
        else:
            body = "Hello,\n\nplease issue a certificate of coverage:\n\n" + "\n".join(labelled_lines(req, rng))
            out.append(mailgen.thunderbird(sender=sender, to="certificate@localhost", subject=subject,
                                           text=body + "\n"))
    return out


def _reviewer_pages(web_port: int) -> dict[str, str]:
    """Every page a reviewer reaches from the queue: the queue, each request and submission, and
    for each page image its status (the image itself is checked for being served masked, not read)."""
    base = f"http://127.0.0.1:{web_port}"
    seen: dict[str, str] = {}
    with httpx.Client(base_url=base, follow_redirects=False, timeout=60) as c:
        login = c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
        assert token, login.text
        r = c.post("/login", data={"username": REVIEWER, "password": PASSWORD, "csrf_token": token.group(1),
                                   "next": "/"})
        assert r.status_code == 303, r.text
        # Every submission's own page too (the queue links only those nothing was read from).
        todo = ["/", "/?state=", "/help", *(f"/submissions/{i}" for i in range(1, 6))]
        while todo:
            url = todo.pop()
            if url in seen:
                continue
            resp = c.get(url)
            seen[url] = resp.text if resp.headers.get("content-type", "").startswith("text/") else ""
            assert resp.status_code in (200, 403), (url, resp.status_code)
            todo += [u for u in re.findall(r'(?:href|src)="(/(?:requests|submissions)/[^"]+)"', resp.text)
                     if u not in seen and not u.endswith("/next")]
    return seen


def test_no_full_ssn_anywhere_after_five_mails_through_the_demo_gateway(tmp_path: Path) -> None:
    ssns = fake_ssns(5, seed=1111)
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("COC_INTAKE_")}
    smtp_port, web_port = free_port(), free_port()
    env.update(OMP_THREAD_LIMIT="1", PYTHONUNBUFFERED="1", COC_INTAKE_SMTP_LISTENER__PORT=str(smtp_port),
               COC_INTAKE_WEB__PORT=str(web_port))
    var = tmp_path / "var"
    added = subprocess.run([sys.executable, "-m", "intake.cli", "users", "add", REVIEWER, "--role", "reviewer",
                            "--password-stdin"], cwd=tmp_path, env=env, input=PASSWORD + "\n",
                           capture_output=True, check=False, text=True, timeout=120)
    assert added.returncode == 0, added.stderr
    output = tmp_path / "daemon-output.log"  # outside var/: the daemon's stdout and stderr
    with open(output, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "intake.cli", "run", "--demo"], cwd=tmp_path, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port("127.0.0.1", smtp_port, timeout=120)
        for raw in _mails(ssns):
            with smtplib.SMTP("127.0.0.1", smtp_port) as smtp:
                smtp.sendmail("hr@acme.example.com", ["certificate@localhost"], raw)
        sent = var / "mail" / "sent"
        done = wait_for(lambda: len(list(sent.glob("*.eml"))) >= 5, timeout=300)
        assert done, output.read_text(errors="replace")[-3000:]
        wait_for_port("127.0.0.1", web_port, timeout=60)
        pages = _reviewer_pages(web_port)
        live_files = {p: p.read_bytes() for p in var.rglob("*") if p.is_file()}  # the WAL while it exists
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    files = {**live_files, **{p: p.read_bytes() for p in var.rglob("*") if p.is_file()}}
    assert any(p.name.endswith("-wal") for p in live_files) or any(p.suffix == ".db" for p in files)
    replies = sorted((var / "mail" / "sent").glob("*.eml"))
    assert len(replies) == 5
    requests = [u for u in pages if re.fullmatch(r"/requests/\d+", u)]
    assert len(requests) >= 5 and sum(bool(re.fullmatch(r"/submissions/\d+", u)) for u in pages) == 5, sorted(pages)
    all_replies = "\n".join(mail_text(p.read_bytes()) for p in replies)
    for digits in ssns:
        assert not found(digits, all_replies), ("reply", digits)
        for path, data in files.items():
            assert not found(digits, data), (str(path), digits)
        assert not found(digits, output.read_bytes()), ("daemon output", digits)
        for url, text in pages.items():
            assert not found(digits, text), (url, digits)
    # The masked forms are there: the scan above looked where the SSNs would be.
    subject_reply = next(mail_text(p.read_bytes()) for p in replies
                         if f"SSN ***-**-{ssns[0][5:]}" in mail_text(p.read_bytes()))
    assert "Subject: Re: COC request for" in subject_reply
    assert any(f"SSN ***-**-{ssns[1][5:]}.pdf" in text for text in pages.values())  # an attachment's name
