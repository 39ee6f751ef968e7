"""A postal code read by OCR, put right by its country's pattern of letters and digits.

Tesseract reads a postal code character by character, with no word around it to help: `0` and
`O`, `5` and `S`, `9` and `Q`, `1` and `I` trade places, sure of themselves (`LI8 40W` for
`LI8 4OW`, `RFQ SIG` for `RF9 5IG`). A country's codes have a fixed pattern (Canada `A9A 9A9`, the
United Kingdom's outward and inward codes, the Netherlands `9999 AA`, most countries digits only),
so a character standing where the pattern wants the other kind, and shaped like one of that kind,
is that one. Only a reading that fits exactly one of the country's patterns after such changes is
changed, and the caller flags it: a clerk glances at a value the shape chose.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from parsers.types import Candidate
from parsers.value_places import parse_address


def flagged(c: Candidate) -> bool:
    """A candidate its reader doubted (the default test of what cannot vouch for another value)."""
    return c.uncertain is not None

DOUBT = "a letter read for a digit or a digit for a letter? (the country's postal code pattern)"

# `A` a letter, `9` a digit, `X` either (taken as read); a space or a dash stands as written.
_GB = ("A9 9AA", "A99 9AA", "AA9 9AA", "AA99 9AA", "A9A 9AA", "AA9A 9AA")
PATTERNS: dict[str, tuple[str, ...]] = {
    "GB": _GB, "CA": ("A9A 9A9",), "IE": ("A99 XXXX",), "NL": ("9999 AA",), "US": ("99999", "99999-9999"),
    "PL": ("99-999",), "PT": ("9999-999",), "JP": ("999-9999",), "BR": ("99999-999",),
    "SE": ("999 99",), "CZ": ("999 99",), "SK": ("999 99",), "GR": ("999 99",),
    **{c: ("99999",) for c in ("DE", "FR", "IT", "ES", "FI", "MX", "KR", "HR", "EE", "LT", "MY", "TH",
                               "UA", "RS", "EG", "SA", "ID", "TR", "MA", "UY")},
    **{c: ("9999",) for c in ("AT", "BE", "CH", "DK", "NO", "AU", "HU", "LU", "SI", "BG", "CY", "NZ",
                              "PH", "ZA", "IS", "LV")},
    **{c: ("999999",) for c in ("IN", "CN", "RO", "SG", "RU", "CO", "KZ")},
}

# Shapes Tesseract takes for one another, each way round.
_AS_DIGIT = {"O": "0", "D": "0", "Q": "9", "G": "6", "I": "1", "L": "1", "T": "7", "Z": "2", "S": "5",
             "B": "8"}
_AS_LETTER = {"0": "O", "1": "I", "5": "S", "8": "B", "2": "Z", "6": "G", "4": "A", "7": "T"}


def _bare(code: str) -> str:
    """A code or pattern without its separators (a space, a dash)."""
    return code.replace(" ", "").replace("-", "")


def _fit(chars: str, pattern: str) -> str | None:
    """`chars` (no separators) made to fit `pattern` by look-alike changes, or None."""
    slots = _bare(pattern)
    if len(chars) != len(slots):
        return None
    out = []
    for read, slot in zip(chars, slots, strict=True):
        kind_ok = read.isalnum() if slot == "X" else read.isdigit() if slot == "9" else read.isalpha()
        c = read if kind_ok else (_AS_DIGIT if slot == "9" else _AS_LETTER).get(read, "")
        if not c:
            return None
        out.append(c)
    return chars_in(pattern, "".join(out))  # the pattern's own separators put back


def put_right(code: str, country: str | None) -> str | None:
    """The postal code `code` of `country` put right by its pattern; None when it fits as read,
    the country has no pattern here, or no single pattern fits after look-alike changes."""
    patterns = PATTERNS.get((country or "").upper())
    if not patterns or not code:
        return None
    read = re.sub(r"[\s-]", "", code.strip().upper())
    chars = "0" + read[1:] if read.startswith("(") and ")" not in read else read  # a 0 open on its right
    if not chars.isalnum():
        return None
    costs: dict[str, int] = {}
    for p in patterns:
        fitted = _fit(chars, p)
        if fitted is not None:
            changed = sum(a != b for a, b in zip(_bare(fitted), read, strict=True))
            costs[fitted] = min(changed, costs.get(fitted, changed))
    if not costs:
        return None  # no pattern fits
    if min(costs.values()) == 0:  # one fits as read: put right only when OCR read a capital small (`C3L 4s5`)
        written = re.sub(r"[\s-]", "", code.strip())
        same = [f for f, n in costs.items() if n == 0]
        return same[0] if len(same) == 1 and _bare(same[0]) != written and not written.islower() else None
    least = min(costs.values())
    if least > len(chars) // 2:
        return None  # mostly the other kind: a word (`Bliss`), not a code misread
    best = [f for f, n in costs.items() if n == least]  # the fewest characters changed
    return best[0] if len(best) == 1 else None


def chars_in(pattern: str, chars: str) -> str | None:
    """`chars` laid out with `pattern`'s separators, when their count is the pattern's."""
    slots = _bare(pattern)
    if len(chars) != len(slots):
        return None
    out, k = [], 0
    for p in pattern:
        if p in " -":
            out.append(p)
        else:
            out.append(chars[k])
            k += 1
    return "".join(out)


def settle(found: list[Candidate], doubted: Callable[[Candidate], bool] = flagged) -> list[Candidate]:
    """The postal codes among one page's candidates put right by the country read beside them
    (`employer.address.country` for `employer.address.postal_code`), each change flagged."""
    countries = {c.field.rpartition(".")[0]: c.value for c in found
                 if c.field.endswith(".country") and not doubted(c)}
    out = []
    for c in found:
        prefix, _dot, leaf = c.field.rpartition(".")
        fixed = put_right(c.value, countries.get(prefix)) if leaf == "postal_code" else None
        out.append(c if fixed is None else c.model_copy(update={"value": fixed, "uncertain": c.uncertain or DOUBT}))
    return out


def fix_in_text(text: str, country: str | None) -> str | None:
    """An address's text with the one postal code OCR misread put right (`put_right`), found as the
    last or first one or two words of a comma-separated part; None when there is none to fix."""
    parts = text.split(",")
    for k, part in enumerate(parts):
        words = part.split()
        for n in (2, 1):
            for start in (len(words) - n, 0):
                if start < 0:
                    continue
                fixed = put_right(" ".join(words[start:start + n]), country)
                if fixed is not None:
                    new = " ".join([*words[:start], fixed, *words[start + n:]])
                    return ",".join([*parts[:k], (" " if k else "") + new, *parts[k + 1:]])
    return None


def postal_slip(address: str) -> str | None:
    """An address read by OCR whose postal code is read only once put right (`LI8 40W` in a U.K.
    address): the text with the code put right, or None when the address reads as it is."""
    read = parse_address(address)
    if "postal_code" in read or not (fixed := fix_in_text(address, read.get("country"))):
        return None
    return fixed if "postal_code" in parse_address(fixed) else None
