"""Faxes that arrive by mail, and where the number to answer a fax comes from.

Most offices receive faxes as mail: their fax server (HylaFAX's `faxrcvd`) or a fax-to-email
service sends the PDF or TIFF with the caller's number in the subject or body. Such a mail is a fax:
it is answered by fax to the caller, never to the gateway's address (a no-reply robot, or a whole
office). `read_fax_mail` recognises one (its From is a configured gateway) and finds the number with
the patterns of `[fax_mail]` and the presets in config/fax_mail.toml.

The number to answer, in order: the gateway's caller ID (here), the fax folder's sidecar file and file
name (`intake.sources.faxdir`), then the TSI in the fax's own header line read by OCR (`tsi_from_text`).
A number written on a cover page (`written_numbers`) is shown to staff, never used unconfirmed: anyone
can write any number on a page, and a reply carries personal data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import getaddresses

from intake import mailheads
from intake.faxsettings import FaxMailSettings, presets
from intake.sources.faxdir import normalise_fax_number

NANP_DIGITS = 10  # a North American number: area code and seven digits
SHORTEST_NUMBER = 7  # fewer digits are no caller's number (a page count, a date)

__all__ = ["FaxMail", "gateway_of", "read_fax_mail", "tsi_from_text", "written_numbers"]

FAX_TYPES = {"application/pdf": ".pdf", "image/tiff": ".tif", "image/tif": ".tif"}
FAX_SUFFIXES = (".pdf", ".tif", ".tiff")
PLACES = ("body", "subject", "filename")


@dataclass(frozen=True)
class FaxMail:
    """A fax that came by mail: the gateway that sent it, the caller's number (None: not found)
    and where it was found, and the fax file (None: the mail carried no PDF or TIFF)."""

    gateway: str
    number: str | None
    number_from: str
    filename: str
    data: bytes | None


def _patterns(settings: FaxMailSettings) -> list[tuple[str, str, re.Pattern[str]]]:
    """(place, label, regex) in the order they are tried: own patterns, then each preset's."""
    own = {"body": settings.body_patterns, "subject": settings.subject_patterns,
           "filename": settings.filename_patterns}
    out = [(place, "fax_mail", re.compile(p)) for place in PLACES for p in own[place]]
    table = presets()
    for name in settings.presets:
        out += [(place, name, re.compile(p)) for place in PLACES for p in table[name][place]]
    return out


def gateway_of(raw: bytes, settings: FaxMailSettings) -> str | None:
    """The From address when it is a configured fax gateway (an address, or one in a gateway domain)."""
    if not settings.gateways:
        return None
    msg = mailheads.headers(raw, modern=True)
    try:
        values = [str(v) for v in msg.get_all("From") or []]
    except Exception:  # noqa: BLE001  (a broken From is not a gateway's)
        return None
    addresses = [a.strip().lower() for _n, a in getaddresses(values) if "@" in a]
    if len(addresses) != 1:
        return None
    address = addresses[0]
    domain = address.rpartition("@")[2]
    for g in settings.gateways:
        if address == g or ("@" not in g and (domain == g or domain.endswith("." + g))):
            return address
    return None


def _attachment(msg: EmailMessage) -> tuple[str, bytes] | None:
    for part in msg.walk():
        if part.is_multipart():
            continue
        name = part.get_filename() or ""
        ctype = part.get_content_type()
        if ctype in FAX_TYPES or name.lower().endswith(FAX_SUFFIXES):
            data = part.get_payload(decode=True)
            if isinstance(data, bytes) and data:
                return name or f"fax{FAX_TYPES.get(ctype, '.pdf')}", data
    return None


def _body_text(msg: EmailMessage) -> str:
    texts = []
    for part in msg.walk():
        if part.get_content_type() == "text/plain" and not part.get_filename():
            try:
                texts.append(str(part.get_content()))
            except (LookupError, ValueError):
                continue
    return "\n".join(texts)


def read_fax_mail(raw: bytes, settings: FaxMailSettings) -> FaxMail | None:
    """The fax in a mail from a fax gateway, or None for any other mail."""
    gateway = gateway_of(raw, settings)
    if gateway is None:
        return None
    msg = message_from_bytes(raw, policy=default_policy)
    assert isinstance(msg, EmailMessage)
    found = _attachment(msg)
    filename, data = found if found else ("", None)
    texts = {"body": _body_text(msg), "subject": str(msg.get("Subject") or ""), "filename": filename}
    for place, label, rx in _patterns(settings):
        m = rx.search(texts[place])
        if m:
            number = normalise_fax_number(m.group("number"))
            if number:
                return FaxMail(gateway, _international(number), f"{place} ({label} pattern)", filename, data)
    return FaxMail(gateway, None, "", filename, data)


def _international(number: str) -> str:
    """A ten-digit North American number, or one with its leading 1, gets its country code: the same
    caller is then one sender whatever the gateway wrote (4105550199, 1-410-555-0199, +1 410...)."""
    digits = number.lstrip("+")
    if number.startswith("+"):
        return number
    if len(digits) == NANP_DIGITS and digits[0] in "23456789":
        return "+1" + digits
    if len(digits) == NANP_DIGITS + 1 and digits[0] == "1":
        return "+" + digits
    return number


# The fax machine's header line: "NOV-25-2026 10:14  FROM: +1 555 576 2927  ACME  P.001/002".
_TSI = re.compile(r"(?i)\b(?:from|fax|tsi)\s*[:#]?\s*(\+?\(?[0-9][0-9 ().-]{5,25}[0-9])")
_WRITTEN = re.compile(r"(?i)\b(?:fax|facsimile|fax number|fax no\.?|reply to fax)\s*[:#]?\s*"
                      r"(\+?\(?[0-9][0-9 ().-]{5,25}[0-9])")


def tsi_from_text(text: str, lines: int = 3) -> str | None:
    """The sending machine's number in the fax header line (the first lines of the first page)."""
    head = "\n".join(text.strip().splitlines()[:lines])
    m = _TSI.search(head)
    if not m:
        return None
    number = normalise_fax_number(m.group(1))
    return _international(number) if number and len(number.lstrip("+")) >= SHORTEST_NUMBER else None


def written_numbers(text: str, lines: int = 1) -> list[str]:
    """Fax numbers written on the pages below the header line (a cover page's "Fax: ..." field)."""
    body = "\n".join(text.strip().splitlines()[lines:])
    out: list[str] = []
    for m in _WRITTEN.finditer(body):
        number = normalise_fax_number(m.group(1))
        if number and len(number.lstrip("+")) >= SHORTEST_NUMBER:
            number = _international(number)
            if number not in out:
                out.append(number)
    return out
