"""The whole gateway against real servers: Dovecot in, aiosmtpd out, SMTP listener, fax folder.

The daemon runs as its own process (`coc-intake run`), so the crash test can SIGKILL it.
"""

from __future__ import annotations

import csv
import io
import os
import random
import re
import signal
import smtplib
import subprocess
import sys
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest

from tests import docgen, faxgen, mailgen, make_samples
from tests.dnsstub import dns_env
from tests.gateway import Feeder, GatewayProcess, marked_mails, outcome, wait_for, write_config
from tests.servers import (  # noqa: F401
    DovecotServer,
    SmtpSink,
    dovecot,
    free_port,
    imap_append,
    imap_count,
    smtp_sink,
    wait_for_port,
)
from tests.synth import flat, labelled_lines, make_request


def _text_mail(req: dict, rng: random.Random, *, message_id: str | None = None, client=mailgen.thunderbird) -> bytes:
    body = "Hello,\n\nplease issue a certificate of coverage:\n\n" + "\n".join(labelled_lines(req, rng)) + "\n"
    sender = req["employer"]["contact_email"] if req["employer"] else req["worker"]["email"]
    return client(sender=sender, to="certificate@localhost", subject="Certificate of coverage request",
                  text=body, html=None, attachments=[], message_id=message_id)


def _replies_to(sink: SmtpSink, address: str) -> list[bytes]:
    return [m.content for m in sink.received() if address in m.rcpt_tos]


@pytest.fixture
def gateway(tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink):  # noqa: F811
    config = write_config(tmp_path, dovecot=dovecot, sink=smtp_sink)
    gw = GatewayProcess(tmp_path, config)
    gw.start()
    try:
        yield gw
    finally:
        gw.stop()


def test_every_channel_end_to_end(gateway: GatewayProcess, dovecot: DovecotServer,  # noqa: PLR0915, F811  (one end-to-end scenario: its steps in the order the user takes them)
                                  smtp_sink: SmtpSink) -> None:  # noqa: F811
    rng = random.Random(31)
    expected: dict[str, str] = {}  # recipient of the reply -> kind

    # 1. a text mail over IMAP
    text_req = make_request(rng, kind="employee")
    text_req["employer"]["contact_email"] = "text@acme.example.com"
    text_raw = _text_mail(text_req, rng)
    imap_append(dovecot, "INBOX", text_raw)
    expected["text@acme.example.com"] = "received"

    # 1b. a text mail without the EIN: an *incomplete* reply with the current form attached
    missing_req = make_request(rng, kind="employee")
    missing_req["employer"]["contact_email"] = "missing@acme.example.com"
    body = "\n".join(line for line in labelled_lines(missing_req, rng) if not line.startswith("EIN"))
    imap_append(dovecot, "INBOX", mailgen.thunderbird(sender="missing@acme.example.com", to="certificate@localhost",
                                                      subject="COC request", text=body + "\n"))
    expected["missing@acme.example.com"] = "incomplete"

    # 2. a mail with a fillable PDF form (Gmail)
    form_req = make_request(rng, kind="employee")
    pdf = docgen.acroform_pdf(form_req, "model")
    imap_append(dovecot, "INBOX", mailgen.gmail(sender="forms@northwind.example.com", to="certificate@localhost",
                                                subject="Request form", text="Our form is attached.\n",
                                                attachments=[("coc.pdf", pdf, "application/pdf")]))
    expected["forms@northwind.example.com"] = "received"

    # 3. a mail with a faxed scan as TIFF (Outlook)
    scan_req = make_request(rng, kind="employee")
    tiff = faxgen.tiff_bytes(faxgen.fax_request(scan_req, rng, "fine"))
    imap_append(dovecot, "INBOX", mailgen.outlook(sender="scan@bluehar.example.com", to="certificate@localhost",
                                                  subject="Scanned request", text="See the scan.\n",
                                                  attachments=[("scan.tif", tiff, "image/tiff")]))
    expected["scan@bluehar.example.com"] = "any"

    # 4. a CSV batch of three workers
    rows = [make_request(rng, kind="employee") for _ in range(3)]
    buf = io.StringIO()
    writer = csv.writer(buf)
    from tests.corpus import SHEET_COLUMNS, _cell

    writer.writerow([h for h, _ in SHEET_COLUMNS])
    for req in rows:
        values = flat(req)
        writer.writerow([_cell(values.get(p, "")) for _, p in SHEET_COLUMNS])
    imap_append(dovecot, "INBOX", mailgen.thunderbird(
        sender="batch@summit.example.com", to="certificate@localhost", subject="Three workers", text="Batch.\n",
        attachments=[("workers.csv", buf.getvalue().encode(), "text/csv")]))
    expected["batch@summit.example.com"] = "received"

    # 5. RFC 3834: an auto-reply and a list post get nothing
    imap_append(dovecot, "INBOX", mailgen.auto_reply(sender="away@acme.example.com", to="certificate@localhost",
                                                     text="I am out of the office."))
    imap_append(dovecot, "INBOX", mailgen.list_mail(sender="news@lists.example.org", to="certificate@localhost",
                                                    subject="News", text="Newsletter"))

    # 6. a fax file in the folder, from a sender with no email address in the request
    fax_req = make_request(rng, kind="employee")
    fax_req["employer"]["contact_email"] = None
    fax_req["confirmation_email"] = None
    inbox = gateway.settings.fax_inbox
    tmp = inbox / "fax_+12085550142_20261125T101400.tif.part"
    tmp.write_bytes(faxgen.tiff_bytes(faxgen.fax_request(fax_req, rng, "fine")))
    tmp.rename(inbox / "fax_+12085550142_20261125T101400.tif")

    # 7. a mail over the SMTP listener, twice (the second is a duplicate)
    smtp_req = make_request(rng, kind="self_employed")
    smtp_req["worker"]["email"] = "solo@mail.example.org"
    raw = _text_mail(smtp_req, rng, message_id="<smtp-1@mail.example.org>")
    for _ in range(2):
        with smtplib.SMTP("127.0.0.1", gateway.smtp_port) as s:
            s.sendmail("solo@mail.example.org", ["certificate@localhost"], raw)
    expected["solo@mail.example.org"] = "received"

    got = wait_for(lambda: len(smtp_sink.received()) >= len(expected), timeout=240)
    assert got, gateway.tail()
    fax_pdf = wait_for(lambda: list(gateway.settings.fax_outbox.glob("+12085550142_*.pdf")), timeout=120)
    assert len(fax_pdf) == 1 and fax_pdf[0].read_bytes().startswith(b"%PDF")

    for address, kind in expected.items():
        replies = _replies_to(smtp_sink, address)
        assert len(replies) == 1, (address, gateway.tail())
        msg = message_from_bytes(replies[0], policy=default_policy)
        assert msg["Auto-Submitted"] == "auto-replied" and msg["In-Reply-To"]
        assert msg["Subject"].startswith("Re: ")
        attachments = [a.get_filename() for a in msg.iter_attachments()]
        if kind == "received":
            assert "COC-" in msg["Subject"], msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            assert "Information needed" not in msg["Subject"] and not attachments
        if kind == "incomplete":
            text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            assert "Employer's EIN" in text and "NN-NNNNNNN" in text
            assert attachments and attachments[0].startswith("coc-request-form-")
    for sender in ("away@acme.example.com", "news@lists.example.org", "news@lists.example.org"):
        assert not _replies_to(smtp_sink, sender)
    all_bytes = b"".join(m.content for m in smtp_sink.received())
    for req in (text_req, form_req, rows[0], smtp_req):
        ssn = req["worker"]["ssn"]
        assert ssn.encode() not in all_bytes and f"***-**-{ssn[-4:]}".encode() in all_bytes

    store = gateway.store()
    counts = store.counts_by_state()
    # text, incomplete, form, scan, csv, auto-reply, list, fax, smtp (the duplicate makes no submission)
    assert sum(counts["submissions"].values()) == 9
    assert sum(counts["requests"].values()) == 3 + 1 + 1 + 1 + 1 + 1 + 1  # csv rows + one per request document
    assert imap_count(dovecot, "Processed") == 7 and imap_count(dovecot, "INBOX") == 0
    # The stored fax is removed from the fax folders ([fax] done_files = "remove": it holds the full
    # SSN in clear); its submission keeps the bytes, encrypted.
    assert not list(gateway.settings.fax_inbox.glob("*.tif")) and not list(gateway.settings.fax_done.glob("*.tif"))
    assert any(store.get_submission(i).channel == "fax" and store.get_submission(i).raw.startswith((b"II*", b"MM\x00*"))
               for i in store.submission_ids())

    # A second delivery of a message already processed makes nothing new.
    before = len(smtp_sink.received())
    imap_append(dovecot, "INBOX", text_raw)
    wait_for(lambda: imap_count(dovecot, "INBOX") == 0, timeout=30)
    assert sum(store.counts_by_state()["submissions"].values()) == 9
    assert len(smtp_sink.received()) == before
    store.dispose()


def test_sigkill_in_the_middle_of_a_batch(tmp_path: Path, dovecot: DovecotServer,  # noqa: F811
                                          smtp_sink: SmtpSink) -> None:  # noqa: F811
    """200 messages, the daemon killed with SIGKILL twice mid-batch (each time right as a reply reaches
    the relay): every message stored once, read once, answered once (tests/test_faults.py has the
    random moments, cut connections, relay and database outages)."""
    total = 200
    mails = marked_mails(total, tag="crash")
    Feeder(dovecot, [(m.message_id, m.raw) for m in mails]).start().join()
    config = write_config(tmp_path, dovecot=dovecot, sink=smtp_sink)
    gw = GatewayProcess(tmp_path, config)
    try:
        for kill_after in (40, 120):
            gw.start()
            wait_for(lambda n=kill_after: len(smtp_sink.received()) >= n, timeout=300)  # type: ignore[misc]
            gw.kill()
        gw.start()
        wait_for(lambda: len(smtp_sink.received()) >= total, timeout=600)
        wait_for(lambda: False, timeout=5)  # anything extra would arrive now
    finally:
        gw.stop()
    store = gw.store()
    result = outcome(store, smtp_sink.received(), mails)
    assert result.clean and result.submissions == result.requests == result.replies == total, result.line()
    assert store.counts_by_state()["replies"]["sent"] == total
    store.dispose()
    assert imap_count(dovecot, "Processed") == total


def test_try_it_as_the_readme_says(tmp_path: Path) -> None:
    """README *Try it*: `coc-intake run --demo` on the embedded defaults (only its ports moved off the
    shared 2525 and 8080), the samples sent by `tests.make_samples`: the replies appear as .eml files
    in ./var/mail/sent and as a PDF in ./var/fax/outbox, and `coc-intake status` counts them."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("COC_INTAKE_")}
    port = free_port()
    env.update(OMP_THREAD_LIMIT="1", PYTHONUNBUFFERED="1", COC_INTAKE_SMTP_LISTENER__PORT=str(port),
               COC_INTAKE_WEB__PORT=str(free_port()), **dns_env())
    samples = make_samples.write_samples(tmp_path / "var" / "samples")
    var = tmp_path / "var"
    with open(tmp_path / "run.log", "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "intake.cli", "run", "--demo"], cwd=tmp_path, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port("127.0.0.1", port, timeout=120)
        make_samples.send(samples, host="127.0.0.1", port=port, fax_inbox=var / "fax" / "inbox")
        done = wait_for(lambda: len(list((var / "mail" / "sent").glob("*.eml"))) >= 2
                        and list((var / "fax" / "outbox").glob("+12085550142_*.pdf")), timeout=240)
        assert done, (tmp_path / "run.log").read_text(errors="replace")[-3000:]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    log = (tmp_path / "run.log").read_text(errors="replace")
    assert "demo: unverified senders are answered" in log
    # Logs: one line per event naming its submission (or reply), and never a full SSN.
    events = [line for line in log.splitlines() if " intake.pipeline: " in line or " intake.sources." in line]
    assert len(events) >= 9 and all(re.search(r"\b(submission|reply) \d+", line) for line in events
                                    if "listener on" not in line), log
    assert not re.search(r"\b\d{3}-?\d{2}-?\d{4}\b", log), "a full SSN in the log"
    replies = [message_from_bytes(p.read_bytes(), policy=default_policy)
               for p in sorted((var / "mail" / "sent").glob("*.eml"))]
    assert len(replies) == 2
    texts = [m.get_body(("plain",)).get_content() for m in replies]  # type: ignore[union-attr]
    incomplete = ["information is missing" in " ".join(t.split()) for t in texts]
    assert sorted(incomplete) == [False, True], texts  # request-mail.eml and incomplete-mail.eml
    assert all(m["Auto-Submitted"] == "auto-replied" and m["In-Reply-To"] and "[COC-" in str(m["Subject"])
               for m in replies)
    assert b"***-**-" in b"".join(p.read_bytes() for p in (var / "mail" / "sent").glob("*.eml"))
    status = subprocess.run([sys.executable, "-m", "intake.cli", "status"], cwd=tmp_path, env=env,
                            capture_output=True, check=False, text=True, timeout=120)
    assert status.returncode == 0 and "sent 3" in status.stdout, status.stdout + status.stderr


def test_demo_is_refused_where_replies_could_leave_the_machine(tmp_path: Path) -> None:
    """Without --demo unverified senders stay held for staff; --demo refuses a relay, IMAP or an open listener."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("COC_INTAKE_")}
    for name, value in (("RELAY__HOST", "relay.example.org"), ("SMTP_LISTENER__HOST", "0.0.0.0"),
                        ("IMAP__ENABLED", "true")):
        extra = {f"COC_INTAKE_{name}": value}
        if name == "IMAP__ENABLED":
            extra["COC_INTAKE_IMAP__HOST"] = "imap.example.org"
        proc = subprocess.run([sys.executable, "-m", "intake.cli", "run", "--demo"], cwd=tmp_path,
                              env={**env, **extra}, capture_output=True, check=False, text=True, timeout=120)
        assert proc.returncode == 2 and "--demo is for trying the gateway on this machine only" in proc.stderr, name
    assert not (tmp_path / "var").exists(), "nothing was started"


def test_files_under_var_are_private_whatever_the_umask(tmp_path: Path) -> None:
    """Started from a shell with umask 022 (outside the systemd unit), the gateway still makes var/,
    the database with its WAL and shared memory, sent mail and fax PDFs for its own user only."""
    config = write_config(tmp_path, dovecot=None, sink=None)  # no relay: replies become .eml files
    gw = GatewayProcess(tmp_path, config)
    before = os.umask(0o022)
    try:
        gw.start()
    finally:
        os.umask(before)
    try:
        rng = random.Random(47)
        req = make_request(rng, kind="employee")
        sender = req["employer"]["contact_email"] if req["employer"] else req["worker"]["email"]
        with smtplib.SMTP("127.0.0.1", gw.smtp_port) as s:
            s.sendmail(sender, ["certificate@localhost"], _text_mail(req, rng))
        inbox = gw.settings.fax_inbox
        (inbox / "fax_+12085550142_20261125T101400.pdf.part").write_bytes(docgen.simple_pdf())
        (inbox / "fax_+12085550142_20261125T101400.pdf.part").rename(inbox / "fax_+12085550142_20261125T101400.pdf")
        wait_for(lambda: list(gw.settings.mail_sent.glob("*.eml")) and list(gw.settings.fax_outbox.glob("*.pdf")),
                 timeout=120)
        var = gw.settings.paths.var
        made = [var, *sorted(var.rglob("*"))]
        names = {p.name for p in made}
        assert {"coc-intake.db", "coc-intake.db-wal", "coc-intake.db-shm", "keys.json"} <= names, names
        loose = {str(p.relative_to(tmp_path)): oct(p.lstat().st_mode & 0o777) for p in made
                 if p.lstat().st_mode & 0o077}
        assert loose == {}, f"readable by others: {loose}\n{gw.tail()}"
    finally:
        gw.stop()


def test_files_we_create_have_explicit_modes_without_the_umask(tmp_path: Path) -> None:
    """The second layer: a caller that never set the umask (a test, another entry point) still gets
    private folders and files from the store, the outbox and the key file."""
    from intake.crypto import add_key
    from intake.outbox import write_eml, write_fax
    from intake.store import Store

    before = os.umask(0o022)
    try:
        store = Store(f"sqlite:///{tmp_path}/a/b/coc.db")
        store.upgrade()
        store.dispose()
        write_eml(tmp_path / "mail" / "sent", 1, "x@example.com", b"Subject: x\r\n\r\nbody\r\n")
        write_fax(tmp_path / "fax" / "outbox", 2, "+12085550142", b"%PDF-1.4\n%%EOF\n")
        add_key(tmp_path / "keys" / "keys.json")
    finally:
        os.umask(before)
    made = sorted(tmp_path.rglob("*"))
    assert len(made) >= 10
    loose = {str(p.relative_to(tmp_path)): oct(p.stat().st_mode & 0o777) for p in made if p.stat().st_mode & 0o077}
    assert loose == {}
