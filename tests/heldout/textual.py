"""Requests as text: plain-mail bodies and `.txt` files in several layouts, HTML mails (one cell or
two per row, with a full or a stub plain part), letters in sentences; each mail a whole `.eml`.
"""

from __future__ import annotations

import html
import random
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from tests.heldout.people import Case
from tests.heldout.writing import Item, sentences

# Between label and value (phrasings.md, "Between label and value").
LAYOUTS = ("colon", "colon_tab", "spaces", "dots", "spaced_dots", "ellipsis", "underscores", "dash",
           "emdash", "equals", "angle", "tab", "above", "next_line")


def labelled_line(item: Item, layout: str, width: int) -> str:  # noqa: C901, PLR0911, PLR0912  (a return per layout a line is written in)
    """One item as a line (or two) of text in `layout`; `width` is the label column's width."""
    lab, val = item.label, item.value
    gap = max(2, width - len(lab))
    if layout == "colon":
        return f"{lab}: {val}"
    if layout == "colon_tab":
        return f"{lab}:\t{val}"
    if layout == "spaces":
        return f"{lab}{' ' * (gap + 2)}{val}"
    if layout == "dots":
        return f"{lab} {'.' * gap} {val}"
    if layout == "spaced_dots":
        return f"{lab} {'. ' * (gap // 2 + 1)}{val}"
    if layout == "ellipsis":
        return f"{lab} \u2026 {val}"
    if layout == "underscores":
        return f"{lab} {'_' * gap} {val}"
    if layout == "dash":
        return f"{lab} - {val}"
    if layout == "emdash":
        return f"{lab} \u2014 {val}"
    if layout == "equals":
        return f"{lab} = {val}"
    if layout == "angle":
        return f"{lab} > {val}"
    if layout == "tab":
        return f"{lab}\t{val}"
    if layout == "above":
        return f"{lab}\n{val}\n"
    return f"{lab}:\n{val}"  # next_line


def block(items: list[Item], layout: str) -> str:
    width = max(len(i.label) for i in items) + 2
    return "\n".join(labelled_line(i, layout, width) for i in items)


def _opening(case: Case, rng: random.Random) -> str:
    return rng.choice([
        "Dear Sir or Madam,\n\nPlease issue a certificate of coverage for the employee below.",
        "Hello,\n\nwe would like to apply for a U.S. certificate of coverage. Details follow.",
        f"Good morning,\n\n{case.employer} requests a certificate of coverage for one of its staff.",
        "To whom it may concern:\n\nKindly process the following certificate of coverage request.",
    ])


def _closing(case: Case, rng: random.Random) -> str:
    return rng.choice(["Kind regards", "Best regards", "Thank you", "Sincerely"]) + \
        f",\n{case.contact}\n{case.employer}\n{case.contact_email}"


def body_text(case: Case, items: list[Item], layout: str, rng: random.Random) -> str:
    return f"{_opening(case, rng)}\n\n{block(items, layout)}\n\n{_closing(case, rng)}\n"


def prose_text(case: Case, rng: random.Random) -> str:
    return (f"{_opening(case, rng).split(chr(10))[0]}\n\n" + "\n\n".join(sentences(case, rng))
            + f"\n\n{_closing(case, rng)}\n")


def html_table(case: Case, items: list[Item], cells: int, rng: random.Random) -> str:
    rows = []
    for it in items:
        lab, val = html.escape(it.label), html.escape(it.value)
        if cells == 2:
            rows.append(f'<tr><td style="font-weight:bold">{lab}</td><td>{val}</td></tr>')
        else:
            rows.append(f"<tr><td><b>{lab}:</b> {val}</td></tr>")
    opening = html.escape(_opening(case, rng)).replace("\n\n", "</p><p>").replace("\n", "<br>")
    closing = html.escape(_closing(case, rng)).replace("\n", "<br>")
    return (f'<html><body style="font-family:Arial"><p>{opening}</p>'
            f'<table border="1" cellpadding="4">{"".join(rows)}</table><p>{closing}</p></body></html>')


_STUBS = ("This message is best viewed in HTML. Please enable HTML display.",
          "[This e-mail contains a table. Open it in an HTML-capable mail program.]",
          "See the table below.")


def mail(case: Case, *, plain: str | None, html_part: str | None, rng: random.Random, n: int,
         sender: tuple[str, str] | None = None) -> bytes:
    msg = EmailMessage()
    name, address = sender or (case.contact, case.contact_email)
    msg["From"] = f"{name} <{address}>"
    msg["To"] = "coverage-requests@intake.example"
    msg["Subject"] = rng.choice(["Certificate of coverage request", "CoC application",
                                 f"Request for certificate - {case.last}", "Posting abroad: coverage certificate"])
    msg["Date"] = format_datetime(datetime(2026, 11, 20, 9, n % 60, tzinfo=UTC))
    msg["Message-ID"] = f"<heldout-{n}@{address.split('@')[1]}>"
    if plain is not None:
        msg.set_content(plain)
    if html_part is not None:
        if plain is None:
            msg.set_content(html_part, subtype="html")
        else:
            msg.add_alternative(html_part, subtype="html")
    if msg.is_multipart():
        msg.set_boundary(f"==heldout-{n}==")  # the same corpus for the same seed
    return bytes(msg)


def stub(rng: random.Random) -> str:
    """A plain part that only points at the HTML one (issue 12, class 7)."""
    return rng.choice(_STUBS)
