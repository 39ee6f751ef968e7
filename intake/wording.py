"""How a reply speaks to an employer: fields in words, values as written, never our internals.

A problem's own `message` is for staff: it names parts ("attachment 1: scan.tif, page 1 (ocr)"),
confidences ("read with 41% confidence"), field paths (`worker.ssn`) and codes. A reply to the
sender says the same thing in the sender's terms (issue 14, item 6): the field as the form names
it, what we read when we read something doubtful ("we read 'Kevin A' as the worker's first name:
please confirm"), the SSN never beyond its last four digits. `scrub` is the last guard over any
message that reaches a reply, and `tests/test_reply_wording.py` scans rendered replies for what it
must remove.
"""

from __future__ import annotations

import re
from datetime import date

from parsers.pii import mask_ssn, mask_ssns

# The fields as our form and help texts name them; a path not listed is spelled out piece by piece.
FIELD_WORDS: dict[str, str] = {
    "request_type": "type of request (employee or self-employed)",
    "worker.ssn": "worker's Social Security number",
    "worker.business": "nature of the self-employed person's business",
    "worker.email": "self-employed person's email address",
    "worker.phone": "self-employed person's phone number",
    "worker.address": "self-employed person's U.S. address",
    "worker.foreign_id": "worker's identification number in the other country",
    "worker.residence_country": "country where the worker lives",
    "employer.name": "employer's name",
    "employer.ein": "employer's EIN (Employer Identification Number)",
    "employer.contact_name": "employer's contact person",
    "employer.contact_phone": "contact person's phone number or email address",
    "employer.contact_email": "contact person's email address",
    "employer.irs_3121l_date": "date of the employer's section 3121(l) agreement",
    "assignment.country": "country of assignment",
    "assignment.start_date": "start date of the assignment",
    "assignment.end_date": "end date of the assignment",
    "assignment.host_name": "company abroad where the work is done",
    "assignment.work_address": "address of the place of work abroad",
    "assignment.hired_in_us": "whether the employee was hired in the U.S.",
    "assignment.hire_date": "date the employee was hired",
    "assignment.remains_employee": "whether the worker stays an employee of the U.S. employer",
    "confirmation_email": "email address for the confirmation of approval",
}
_PIECES = {"street": "street", "city": "city", "state": "state", "postal_code": "ZIP or postal code",
           "country": "country"}
_WORDS = {"ein": "EIN", "ssn": "Social Security number", "us": "U.S.", "dob": "date of birth"}
_PATH = re.compile(r"\b(?:worker|employer|assignment|dependents\[\d+\])(?:\.[a-z_0-9]+(?:\[\d+\])?)+\b"
                   r"|\b(?:request_type|confirmation_email)\b")


def field_words(path: str | None) -> str:  # noqa: PLR0911  (one return per kind of field path)
    """A field path in words: `worker.date_of_birth` -> "worker's date of birth",
    `employer.address.city` -> "city of the employer's address", `dependents[1].name` ->
    "family member 2's name"."""
    if not path:
        return "request"
    if path in FIELD_WORDS:
        return FIELD_WORDS[path]
    head, _, leaf = path.rpartition(".")
    if head.endswith("address") and leaf in _PIECES:
        return f"{_PIECES[leaf]} of the {field_words(head)}"
    pieces = []
    for piece in path.split("."):
        m = re.fullmatch(r"([a-z_0-9]+)(?:\[(\d+)\])?", piece)
        if not m:
            return "value"
        word = " ".join(_WORDS.get(w, w) for w in m.group(1).split("_"))
        if m.group(1) == "dependents":
            word = "family member"
        if m.group(2) is not None:
            word += f" {int(m.group(2)) + 1}"
        pieces.append(word)
    if len(pieces) == 1:
        return pieces[0]
    if pieces[0] in ("worker", "employer") or pieces[0].startswith("family member"):
        return "'s ".join(pieces[:-1]) + "'s " + pieces[-1]
    return " ".join(pieces)


def title(path: str | None) -> str:
    """The field as a reply's bullet names it ("Worker's first name")."""
    words = field_words(path)
    return words[:1].upper() + words[1:]


def shown(path: str, value: str) -> str:
    """A value as the sender wrote it, in words: yes/no, dates spelt out, the type in words; an
    SSN as its last four digits only."""
    if path.endswith("ssn") or path == "worker.ssn":
        return mask_ssn(value) or "***-**-****"
    if value in ("true", "false", "True", "False"):
        return "'yes'" if value.lower() == "true" else "'no'"
    if path == "request_type":
        return {"employee": "'employee'", "self_employed": "'self-employed'"}.get(value, f"'{value}'")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value).strftime("%B %-d, %Y")
        except ValueError:
            pass
    if path.endswith("country") and re.fullmatch(r"[A-Z]{2}(?:-[A-Z]{2})?", value):
        from intake.reference import agreements  # noqa: PLC0415 - the country table is loaded once

        table = agreements().agreements
        if value in table:
            return table[value].name
    return "'" + mask_ssns(value) + "'"


# A part's name as the MIME and fax readers give it, a reading method, a confidence: staff words.
_PART = re.compile(r"(?:forwarded \d+: )?attachment \d+: [^,;()]+?(?=, page|\s\(|[,;]|$)"
                   r"|\bpage \d+ \((?:form|text|ocr|table)\)|\s*\((?:form|text|ocr|table)\)"
                   r"|\b[\w+.-]+\.(?:tiff?|pdf|png|jpe?g|eml|txt|csv|xlsx?)\b", re.I)
_CONFIDENCE = re.compile(r"\s*(?:read\s+)?with\s+\d{1,3}(?:\.\d+)?\s*%\s+confidence|\b\d{1,3}(?:\.\d+)?\s*%", re.I)
_CODE = re.compile(r"(?<![\w@.+-])[a-z]+(?:_[a-z]+)+(?![\w@.-])")


def scrub(message: str) -> str:
    """The last guard on any text bound for a reply: field paths in words, no part or file names,
    reading methods, confidences or problem codes, no full SSN."""
    text = _PATH.sub(lambda m: "the " + field_words(m.group(0)), message)
    text = _PART.sub("", text)
    text = _CONFIDENCE.sub("", text)
    text = _CODE.sub(lambda m: m.group(0).replace("_", " "), text)
    text = re.sub(r"^\s*(?:body|message)\s*:\s*", "", text)
    text = re.sub(r"\s{2,}", " ", re.sub(r"\s+([,.;:])", r"\1", text)).strip(" :;,")
    text = re.sub(r"^[,:;]\s*", "", text)
    return mask_ssns(text[:1].upper() + text[1:]) if text else text


# What a problem with a whole file or message means to its sender, by the problem's code.
_FILE_WORDS = {
    "empty": "{what} is empty.",
    "too_large": "{what} is too large for us to read; please send it in smaller files or pages.",
    "too_many_parts": "Your message has more parts than we can read; please send fewer attachments at once.",
    "too_many_attachments": "Your message has more attachments than we can read; please send fewer at once.",
    "too_deep": "Your message holds messages inside messages too deep for us to read; please send the "
                "documents as attachments of one message.",
    "unsupported_type": "{what} is of a type we cannot read; please send a PDF, TIFF, PNG, JPEG, CSV, XLSX or text.",
    "unsupported": "{what} is of a type we cannot read; please send a PDF, TIFF, PNG, JPEG, CSV, XLSX or text.",
    "no_text": "{what} holds no text we could read.",
    "no_request": "We found no certificate of coverage request in {what_lower}.",
    "ocr_timeout": "{what} could not be read in time; a specialist will look at it.",
    "ocr_unavailable": "{what} is an image we could not read automatically; a specialist will look at it.",
}
_DEFAULT_FILE_WORDS = "We could not read {what_lower} automatically; a specialist will look at it."


def file_problem(code: str, part: str, *, mail: bool) -> str:
    """A part or message problem as its sender reads it. A mail's attachment is named by the name
    its sender gave it; a fax or a file we stored is "your fax" or "your document", never our name."""
    m = re.match(r"^(?:forwarded \d+: )?attachment \d+: (.+)$", part or "")
    if mail and m:
        what = f"Your attachment '{mask_ssns(m.group(1).strip())[:80]}'"
    else:
        what = "Your message" if mail else "Your fax"
    words = _FILE_WORDS.get(code, _DEFAULT_FILE_WORDS)
    return words.format(what=what, what_lower=what[:1].lower() + what[1:])
