"""Generated conversations: a request missing fields, and answers to our reply as mail clients write them.

Each client quotes our *information needed* reply its own way (Thunderbird `>` with "On ... wrote:",
Outlook's "-----Original Message-----" header block or `divRplyFwdMsg`, Gmail's `gmail_quote`,
Apple Mail's `blockquote type="cite"`), top-posted or below the quote, plain or HTML-only. All
names and numbers come from `tests.synth` (made up).
"""

from __future__ import annotations

import html as html_lib
import random
import re
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from tests import mailgen
from tests.synth import labelled_lines, make_request

# The fields a generated request leaves out, by the label `labelled_lines` writes, and their paths.
DROPPED = {"Date of birth": "worker.date_of_birth", "EIN": "employer.ein", "End date": "assignment.end_date"}
STYLES = ["thunderbird", "thunderbird_top", "outlook", "outlook_html", "gmail", "gmail_html", "apple_mail",
          "apple_html"]


def incomplete_request(rng: random.Random, sender: str, *, client: Any = mailgen.thunderbird,
                       drop: dict[str, str] = DROPPED) -> tuple[dict[str, Any], bytes, list[str]]:
    """(the request, a mail of it lacking the `drop` fields, the answer lines that give them)."""
    req = make_request(rng, kind="employee")
    req["employer"]["contact_email"] = sender
    # The request's other addresses in the sender's own domain: the generated employer's domain
    # (`acme.example.com`) beside a sender at `acme2.example.com` is a one-character difference that
    # validation rightly flags for staff, and these conversations are meant to complete without them.
    domain = sender.split("@", 1)[1]
    if req.get("confirmation_email"):
        req["confirmation_email"] = req["confirmation_email"].split("@", 1)[0] + "@" + domain
    if (req.get("worker") or {}).get("email"):
        req["worker"]["email"] = req["worker"]["email"].split("@", 1)[0] + "@" + domain
    lines = labelled_lines(req, rng)
    kept = [line for line in lines if line.split(":")[0] not in drop]
    answer = [line for line in lines if line.split(":")[0] in drop]
    body = "Hello,\n\nplease issue a certificate of coverage for our employee:\n\n" + "\n".join(kept) + "\n"
    raw = client(sender=sender, to="certificate@localhost", subject="Certificate of coverage request", text=body)
    return req, raw, answer


def _read(raw: bytes) -> EmailMessage:
    msg = message_from_bytes(raw, policy=default_policy)
    assert isinstance(msg, EmailMessage)
    return msg


def _plain(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain",))
    return str(body.get_content()) if body is not None else ""


def _h(text: str) -> str:
    """Text as a mail client's HTML writes it: lines end in <br>; a typed tab or a run of spaces
    (the gap between a label and its value) becomes non-breaking spaces, "&nbsp; &nbsp;", since
    HTML would collapse it otherwise."""
    def gaps(line: str) -> str:
        line = html_lib.escape(line).replace("\t", "    ")
        return re.sub(r" {2,}", lambda m: "&nbsp; " * (len(m.group(0)) // 2) + "&nbsp;" * (len(m.group(0)) % 2),
                      line)
    return "<br>\n".join(gaps(line) for line in text.split("\n"))


def answer(ours: bytes, new_lines: list[str], *, style: str, sender: str,
           attachments: list[tuple[str, bytes, str]] | None = None) -> bytes:
    """An answer to our reply `ours`, written in `style` (see STYLES), giving `new_lines`."""
    msg = _read(ours)
    quoted_text = _plain(msg)
    subject = str(msg["Subject"])
    subject = subject if subject.lower().startswith("re:") else f"Re: {subject}"
    our_from = str(msg["From"])
    mid = str(msg["Message-ID"])
    refs = " ".join(x for x in (str(msg.get("References") or "").strip(), mid) if x)
    headers = [("In-Reply-To", mid), ("References", refs)]
    new = "Hello,\n\nhere is what was missing:\n\n" + "\n".join(new_lines) + "\n\nBest regards,\nNora"
    gt = "\n".join(f"> {line}" if line else ">" for line in quoted_text.split("\n"))
    text: str | None
    html: str | None = None
    client = style.split("_", maxsplit=1)[0]
    if style == "thunderbird":  # below the quote
        text = f"On 12/1/26 10:00 AM, {our_from} wrote:\n{gt}\n\n{new}\n"
    elif style == "thunderbird_top":
        text = f"{new}\n\nOn 12/1/26 10:00 AM, {our_from} wrote:\n{gt}\n"
    elif style == "outlook":
        text = (f"{new}\n\n-----Original Message-----\nFrom: {our_from}\nSent: Tuesday, December 1, 2026 10:00 AM\n"
                f"To: {sender}\nSubject: {msg['Subject']}\n\n{quoted_text}\n")
    elif style == "outlook_html":
        text = None
        html = (f'<html><body><div class="WordSection1"><p class="MsoNormal">{_h(new)}</p>'
                '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0in 0in 0in">'
                f'<div id="divRplyFwdMsg"><p class="MsoNormal"><b>From:</b> {html_lib.escape(our_from)}<br>'
                f'<b>Sent:</b> Tuesday, December 1, 2026 10:00 AM<br><b>To:</b> {html_lib.escape(sender)}<br>'
                f'<b>Subject:</b> {html_lib.escape(str(msg["Subject"]))}</p></div></div>'
                f'<p class="MsoNormal">{_h(quoted_text)}</p></div></body></html>')
    elif style in ("gmail", "gmail_html"):
        attribution = f"On Tue, Dec 1, 2026 at 10:00 AM {our_from} wrote:"
        text = None if style == "gmail_html" else f"{new}\n\n{attribution}\n\n{gt}\n"
        html = (f'<div dir="ltr">{_h(new)}</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
                f'{html_lib.escape(attribution)}<br></div><blockquote class="gmail_quote" style="margin:0px 0px 0px '
                f'0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">{_h(quoted_text)}</blockquote></div>')
    elif style in ("apple_mail", "apple_html"):
        client = "apple_mail"
        attribution = f"On Dec 1, 2026, at 10:00, {our_from} wrote:"
        text = None if style == "apple_html" else f"{new}\n\n> {attribution}\n>\n{gt}\n"
        html = (f'<html><body dir="auto"><div>{_h(new)}</div><div><br><blockquote type="cite">'
                f'<div>{html_lib.escape(attribution)}</div><br><div>{_h(quoted_text)}</div></blockquote></div>'
                '</body></html>')
    else:
        raise ValueError(style)
    builder = mailgen.CLIENTS[client]
    return builder(sender=sender, to="certificate@localhost", subject=subject, text=text, html=html,
                   attachments=list(attachments or []), extra_headers=headers)


def fresh_mail(reference: str, new_lines: list[str], *, sender: str) -> bytes:
    """A new mail (no threading headers, a subject of its own) that names the reference in its body."""
    text = (f"Hello,\n\nabout our request {reference}: here is the missing information.\n\n"
            + "\n".join(new_lines) + "\n\nThanks,\nNora\n")
    return mailgen.thunderbird(sender=sender, to="certificate@localhost", subject="Missing information", text=text)
