"""The employment facts a letter states in sentences: hired in the U.S., kept on the U.S. payroll,
self-employed, whom to contact and where the employer is.

"She was hired here in 2019 and stays on our payroll throughout" answers two questions of the
request form (`assignment.hired_in_us`, `assignment.remains_employee`) without a label, and a
person who writes "I run my own design studio" has told us the request is a self-employed one.
Asking those again is asking what the employer already wrote (issue 14, item 6). Each reader
looks for two kinds of word in one sentence, a verb and what it is about, in any wording: a hire
verb with a U.S. place (or a place abroad), a verb of staying with the payroll or employment,
and a negation turns the answer round. Pure: text in, candidates out, at prose's confidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from parsers.types import Candidate, Method, Provenance

CONFIDENCE = 0.85
NOT_SURE = "read from a sentence; the wording could mean either"

_HIRE = re.compile(r"\b(?:hired|hire|recruited|recruit|engaged|taken\s+on|onboarded|brought\s+on(?:board)?)\b", re.I)
_US = re.compile(
    r"\b(?:here|stateside|domestically|in\s+(?:the\s+)?(?:U\.\s?S\.(?:\s?A\.)?|US|USA|United\s+States|States|America)"
    r"|(?:at|in|by|into)\s+(?:our|the)\s+(?:[A-Z][\w.&'-]*,?\s+){0,3}(?:U\.\s?S\.\s+|US\s+|American\s+)?"
    r"(?:office|headquarters|HQ|head\s+office|home\s+office|plant|facility|site|branch)"
    r"(?:\s+in\s+[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*)?,\s*[A-Z]{2}\b)?"
    r"|in\s+[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*)?,\s*[A-Z]{2}\b)",
)
_ABROAD = re.compile(
    r"\b(?:abroad|overseas|locally|outside\s+(?:of\s+)?(?:the\s+)?(?:U\.\s?S\.|US|USA|United\s+States|country)"
    r"|in\s+the\s+host\s+country|by\s+the\s+host|by\s+(?:our|the)\s+(?:\w+\s+){0,2}(?:affiliate|subsidiary))",
    re.I,
)
_STAY = re.compile(r"\b(?:remain\w*|stay\w*|continu\w*|kept|keep\w*|retain\w*|maintain\w*|still|throughout)\b", re.I)
_PAYROLL = re.compile(
    r"\b(?:payroll|pay\s?roll|on\s+our\s+books"
    r"|(?:our|an?|the)\s+(?:U\.\s?S\.\s+|US\s+|American\s+)?(?:employee|staff\s+member|worker)"
    r"|employ(?:ed|ee|ment)\s+(?:by|with|of|at)\s+(?:us|our|the\s+(?:U\.\s?S\.|US|American))"
    r"|(?:our|the\s+U\.\s?S\.)\s+employ(?:ment)?)\b",
    re.I,
)
# "will be on our payroll", "is on the U.S. payroll": being on it says as much as staying on it
_ON_PAYROLL = re.compile(r"\bon\s+(?:our|the|its)\s+(?:[\w.]+\s+){0,2}pay\s?roll", re.I)
_HOST_PAYROLL = re.compile(r"\b(?:host|local|foreign)\s+(?:\w+\s+){0,2}payroll|payroll\s+of\s+the\s+host\b", re.I)
_NEGATION = re.compile(r"\b(?:not|no\s+longer|never|neither|nor|cease\w*)\b|n't\b", re.I)
_SELF = re.compile(
    r"\b(?:self[- ]?employ\w*|free[- ]?lanc\w*|sole\s+(?:proprietor\w*|trader|owner)|independent\s+"
    r"(?:contractor|consultant|professional)|(?:my|our)\s+own\s+(?:\w+\s+){0,2}(?:business|company|firm|"
    r"practice|consultancy|studio|shop|agency)|work(?:ing)?\s+for\s+myself|I\s+(?:run|own|operate)\s+"
    r"(?:a|an|my)\b)",
    re.I,
)
_FIRST_PERSON = re.compile(r"\b(?:I|my|me|myself|I'm)\b")
_OTHER_PERSON = re.compile(r"\b(?:our\s+(?:employee|staff|worker|colleague)|employee\s+of\s+ours)\b", re.I)


# "Questions may be directed to Dana Roe at dana@x", "please contact Mr Lee on (312) 555-0142",
# "you can reach me at ...": a contact person, and how to reach them, said in a sentence.
_CONTACT_VERB = re.compile(r"\b(?:questions?|quer(?:y|ies)|contact|reach|direct\w*|address\w*|speak|talk|write|"
                           r"call|phone|e-?mail|get\s+in\s+touch|responsible|handl\w+|coordinat\w+)\b", re.I)
_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,24}\b")
_PHONE = re.compile(r"(?<![\w+])\+?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]\d{4}(?:\s*(?:x|ext\.?)\s*\d{1,6})?(?!\w)")
_ME = re.compile(r"\b(?:me|my|I)\b")
_LOCATED = re.compile(
    r"\b(?:located|based|headquartered|situated|offices?|address(?:\s+is)?)\s+(?:at|in|is)\s+"
    r"(?P<addr>[^.;()\n]{5,120}?\b[A-Z]{2}\.?\s+\d{5}(?:-\d{4})?)\b")


_SENTENCE_END = re.compile(r"(?<![A-Z])[.!?](?=\s+[A-Z\"'(]|\s*$)|\n\s*\n|\n(?=[A-Z][^\n]{0,40}\n)")


@dataclass
class _Sentence:
    text: str
    start: int


def _sentences(text: str) -> list[_Sentence]:
    """Sentences, roughly: a full stop, "!" or "?" and a space, a blank line, a line of its own."""
    flat = re.sub(r"[ \t]+", " ", text.replace("\r\n", "\n"))
    out: list[_Sentence] = []
    pos = 0
    for m in _SENTENCE_END.finditer(flat):
        out.append(_Sentence(flat[pos:m.end()], pos))
        pos = m.end()
    if flat[pos:].strip():
        out.append(_Sentence(flat[pos:], pos))
    return out


def _cand(path: str, value: str, raw: str, part: str, method: Method, why: str | None) -> Candidate:
    return Candidate(field=path, value=value, raw=raw.strip(), confidence=CONFIDENCE if why is None else 0.5,
                     provenance=Provenance(part=part, method=method, label=None), uncertain=why)


def _negated(before: str) -> bool:
    return bool(_NEGATION.search(before))


def _hired(s: _Sentence, part: str, method: Method) -> Candidate | None:
    for m in _HIRE.finditer(s.text):
        after = s.text[m.end(): m.end() + 90]
        before = s.text[max(0, m.start() - 30): m.start()]
        us, abroad = _US.search(after), _ABROAD.search(after)
        if not us and not abroad:
            continue
        first = min((x for x in (us, abroad) if x), key=lambda x: x.start())
        value = first is us
        if _negated(before):
            value = not value
        return _cand("assignment.hired_in_us", "true" if value else "false", s.text, part, method, None)
    return None


def _remains(s: _Sentence, part: str, method: Method) -> Candidate | None:
    stay = _STAY.search(s.text) or _ON_PAYROLL.search(s.text)
    if not stay:
        return None
    host = _HOST_PAYROLL.search(s.text)
    pay = _PAYROLL.search(s.text)
    if pay is None and host is None:
        return None
    if host is not None and (pay is None or host.start() <= pay.start() <= host.end()):
        # "stays on the host company's payroll": paid abroad, not by the U.S. employer
        return _cand("assignment.remains_employee", "false", s.text, part, method, None)
    assert pay is not None
    lo = min(stay.start(), pay.start())
    value = not _negated(s.text[max(0, lo - 30): max(stay.end(), pay.end())])
    return _cand("assignment.remains_employee", "true" if value else "false", s.text, part, method, None)


def _contact(s: _Sentence, part: str, method: Method) -> list[Candidate]:
    """The employer's contact person and their email or phone, when a sentence says whom to ask.
    "reach me at ..." gives the writer's own phone or email (`parsers.unlabelled` makes them the
    person's own in a self-employed request)."""
    from parsers.signature import NAME  # noqa: PLC0415 - one grammar of a person's name

    verb = _CONTACT_VERB.search(s.text)
    if verb is None:
        return []
    out: list[Candidate] = []
    after = s.text[verb.end():]
    m = re.search(rf"\b(?:to|with|contact|call|reach|ask)\s+(?P<name>{NAME})(?![\w'-])", after)
    if m and not re.fullmatch(r"(?:The|Our|This|Please)\b.*", m.group("name")):
        name = m.group("name")
        if len(first := name.split("\n", 1)[0].split()) >= 2:  # "Jo Roe" over "Contact's mailbox": not "Roe Contact's"
            name = " ".join(first)
        out.append(_cand("employer.contact_name", name, m.group(0), part, method, None))
    elif not _ME.search(after):
        return []
    if (e := _EMAIL.search(after)) is not None:
        out.append(_cand("employer.contact_email", e.group(0).rstrip("."), e.group(0), part, method, None))
    if (p := _PHONE.search(_EMAIL.sub(" ", after))) is not None:
        out.append(_cand("employer.contact_phone", p.group(0), p.group(0), part, method, None))
    return out


def _located(s: _Sentence, part: str, method: Method) -> list[Candidate]:
    """"located at 12 Main St, Springfield, IL 62701": the writer's (the employer's) U.S. address."""
    from parsers.values import parse_address  # noqa: PLC0415

    m = _LOCATED.search(s.text)
    if m is None:
        return []
    addr = parse_address(m.group("addr"), "US")
    if not (addr.get("city") and addr.get("state") and addr.get("street")):
        return []
    return [_cand(f"employer.address.{k}", v, m.group("addr"), part, method, None) for k, v in addr.items() if v]


_WORK_VERB = re.compile(r"\b(?:work\w*|based|posted|assigned|stationed|seconded|located|placed|site|office)\b", re.I)
_AT_ADDRESS = re.compile(r"\b(?:at|address(?:\s+is)?:?)\s+(?P<addr>\S[^;()\n]{4,140}?)\s*(?:\.(?=\s|$)|;|$)")


def _work_address(s: _Sentence, part: str, method: Method) -> list[Candidate]:
    """"... will be working for Nordlicht GmbH in Germany, at Leopoldstrasse 12, 80802 Munich,
    Germany.": the place of work abroad, when a sentence about the work gives a whole address
    (a street with its number and a country other than the United States)."""
    from parsers.values import parse_address  # noqa: PLC0415

    if _WORK_VERB.search(s.text) is None:
        return []
    for m in _AT_ADDRESS.finditer(s.text):
        text = re.split(r"\bat\s+", m.group("addr"))[-1]
        text = re.sub(r"\s+(?:from|until|till|starting|beginning|through|for|on|as\s+of|between)\b.*$", "", text)
        addr = parse_address(text)
        street, country = addr.get("street") or "", addr.get("country")
        if country and country != "US" and addr.get("city") and re.search(r"\d", street + " " + m.group("addr")) \
                and re.search(r"[A-Za-z]{3}", street):
            return [_cand(f"assignment.work_address.{k}", v, text, part, method, None)
                    for k, v in addr.items() if v]
    return []


# "I am a freelance photographer", "I'm an independent software consultant": a person's trade.
_TRADE = re.compile(r"\bI(?:'m|\s+am|\s+work\s+as)\s+an?\s+(?P<trade>[a-z][a-z-]*(?:\s+[a-z][a-z-]*){0,3})")
_TRADE_STOP = re.compile(r"\s+(?:and|based|with|who|in|at|from|for|working|living|currently)\b.*$")
_TRADE_NOT = re.compile(r"^(?:(?:freelance|self[- ]employed|independent|sole|small|busy|full[- ]time|"
                        r"part[- ]time)\s+)+")


def _trade(s: _Sentence, part: str, method: Method) -> list[Candidate]:
    """The nature of a self-employed person's business as they name their trade, for them to
    confirm (`parsers.unlabelled` keeps it only in a self-employed request)."""
    m = _TRADE.search(s.text)
    if m is None:
        return []
    trade = _TRADE_NOT.sub("", _TRADE_STOP.sub("", m.group("trade"))).strip()
    if not trade or trade in ("citizen", "resident", "national", "person", "employee"):
        return []
    return [Candidate(field="worker.business", value=trade, raw=m.group(0), confidence=0.6,
                      provenance=Provenance(part=part, method=method, label=None),
                      uncertain="read from a sentence: the trade the person names")]


def find_employment(text: str, *, part: str, method: Method = "text") -> list[Candidate]:  # noqa: C901  (one case per yes/no fact and the self-employed sentence)
    """`assignment.hired_in_us` and `assignment.remains_employee` from sentences, and `request_type`
    self-employed when a writer speaks of their own business in the first person. A field read
    twice with different answers is returned once, uncertain."""
    found: dict[str, list[Candidate]] = {}
    sentences = _sentences(text)
    for s in sentences:
        if "?" in s.text:
            continue  # a question (a form's label: "Still employed by us?") states nothing
        for reader in (_hired, _remains):
            c = reader(s, part, method)
            if c is not None:
                found.setdefault(c.field, []).append(c)
        for c in [*_contact(s, part, method), *_located(s, part, method), *_work_address(s, part, method),
                  *_trade(s, part, method)]:
            found.setdefault(c.field, []).append(c)
    for s in sentences:
        m = _SELF.search(s.text)
        if m and _FIRST_PERSON.search(s.text) and not _OTHER_PERSON.search(text):
            found.setdefault("request_type", []).append(
                _cand("request_type", "self_employed", m.group(0), part, method, None))
            break
    out: list[Candidate] = []
    for path, cands in found.items():
        if ".address." in path or path.startswith("employer.contact") or path == "worker.business":
            out.append(cands[0])  # the first sentence that says it (an address's pieces stay together)
        elif len({c.value for c in cands}) > 1:
            c = cands[0]
            out.append(c.model_copy(update={"uncertain": NOT_SURE, "confidence": 0.5}))
        else:
            out.append(cands[0])
    return out
