"""A doubted e-mail address read by OCR, put right by the names it is made of on the same page.

An address is mostly made of the names beside it: the domain of the company's name
(`b.breamson@remfelcera.com` of *Remfel Ceramics LLC*), the mailbox of the person's
(`b.breamson` of *Bairko Breamson*). Read off a fax, the address is one long word no dictionary
holds, and a thin stroke or an open bowl in it is read as another letter (`remfeicera`,
`brumeli`); the names, set in words of their own, are often read right. When the address was
read with doubt, the name without, and a piece of the address is the name's letters with one or
two letters swapped (same length, nothing added or dropped), the name's letters are taken. The
address stays flagged: the reading was doubted, and the rule chose.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from parsers.postcodes import flagged
from parsers.types import Candidate

# Each address and the names it is made of: the employer's contact writes from the employer's domain.
_MADE_OF: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "employer.contact_email": (("employer.name",), ("employer.contact_name",)),
    "confirmation_email": (("employer.name",), ("employer.contact_name",)),
    "worker.email": ((), ("worker.first_name", "worker.last_name")),
}
_THIN = set("iIl1j|")  # a mailbox's initial read as another thin stroke
MIN_PIECE = 5  # letters a piece must have before its swaps mean anything
PER_SWAP = 6  # one swapped letter allowed per this many


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.casefold())


def _swapped(piece: str, target: str) -> bool:
    """`piece` is `target` with a few letters read as others (at most one in `PER_SWAP`)."""
    if len(piece) != len(target) or piece == target:
        return False
    diff = sum(a != b for a, b in zip(piece, target, strict=True))
    return 1 <= diff <= max(1, len(piece) // PER_SWAP)


def _domain(label: str, companies: list[str]) -> str | None:
    """The domain's first label put right by a company name it begins (`remfelcera`)."""
    if len(label) < MIN_PIECE:
        return None
    fits = {name[:len(label)] for name in companies if len(name) >= len(label) and _swapped(label, name[:len(label)])}
    return fits.pop() if len(fits) == 1 else None


def _mailbox_piece(piece: str, words: list[str], initials: set[str]) -> str | None:
    """One dot-separated piece of the mailbox put right by a name word or a run of them."""
    if len(piece) == 1:
        return initials.copy().pop() if piece in _THIN and len(initials) == 1 and initials <= _THIN else None
    if len(piece) < MIN_PIECE:
        return None
    runs = {"".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)}
    fits = {r for r in runs if _swapped(piece.casefold(), r)}
    return fits.pop() if len(fits) == 1 else None


def put_right(address: str, companies: list[str], people: list[str]) -> str | None:
    """`address` with its pieces put right by the names (see the module); None when nothing changed."""
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain:
        return None
    label, dot, rest = domain.partition(".")
    new_label = _domain(label.casefold(), [_squash(c) for c in companies]) or label
    words = [w for p in people for w in (_squash(x) for x in p.split()) if w]
    initials = {p.strip()[:1].casefold() for p in people if p.strip()[:1].isalpha()}
    pieces = re.split(r"([._-])", local)
    fixed = [p if p in "._-" else (_mailbox_piece(p, words, initials) or p) for p in pieces]
    runs = {"".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)}
    for k in range(len(fixed) - 2, 0, -2):  # "vanderbot.on": a speck read as a dot inside one name
        a, b = fixed[k - 1], fixed[k + 1]
        if fixed[k] == "." and len(a) >= 2 and len(b) >= 2 and a.casefold() + b.casefold() in runs and \
                a.casefold() not in runs and b.casefold() not in runs:
            fixed[k - 1:k + 2] = [a + b]
    out = f"{''.join(fixed)}@{new_label}{dot}{rest}"
    return out if out != address else None


def settle(found: list[Candidate], doubted: Callable[[Candidate], bool] = flagged,
           vouches: Callable[[Candidate], bool] | None = None) -> list[Candidate]:
    """One page's doubted addresses put right by the names on it read without doubt (a person's name
    also when `vouches` for it: a faxed letter's short name words, though OCR was unsure of them; a
    company's name is one long word like the domain, as likely misread)."""
    sure = {c.field: c.value for c in found if not doubted(c)}
    named = {c.field: c.value for c in found if vouches(c)} if vouches is not None else sure
    out = []
    for c in found:
        fixed = None
        if c.field in _MADE_OF and doubted(c):
            made_of = _MADE_OF[c.field]
            companies = [sure[f] for f in made_of[0] if f in sure]
            people = [named[f] for f in made_of[1] if f in named]
            fixed = put_right(c.value, companies, people) if companies or people else None
        out.append(c if fixed is None else c.model_copy(update={"value": fixed}))
    return out
