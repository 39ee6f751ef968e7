"""An HTML mail as staff should see it: its structure (paragraphs, lists, tables, emphasis), never
its scripts, styles, forms, frames or remote content.

The sanitiser is a whitelist over the standard library's HTML parser: only the tags below come out,
with no attribute at all but a table cell's `colspan`/`rowspan` (numbers), and every text escaped.
So nothing of the sender's can load (no `src`, no `href`, no `style`, no `url()`), run or fetch,
whatever the page's Content-Security-Policy would also stop. Links show their text and, after it,
the address they point to as text; images show their alt text.
"""

from __future__ import annotations

import html
from email import message_from_bytes
from email.message import Message
from email.policy import default as default_policy
from html.parser import HTMLParser

_SPAN_LIMIT = 100  # a colspan or rowspan this big is a hostile mail's, not a table's

ALLOWED = frozenset("p br div span b strong i em u s small sub sup ul ol li dl dt dd table thead tbody tfoot tr "
                    "td th caption h1 h2 h3 h4 h5 h6 blockquote pre code hr".split())
VOID = frozenset({"br", "hr"})
DROPPED = frozenset({"script", "style", "head", "title", "template", "noscript", "iframe", "object", "embed",
                     "svg", "math", "select", "textarea", "button"})
HEADINGS = {"h1": "h3", "h2": "h4", "h3": "h5"}  # the sender's headings under the page's own
MAX_HTML = 2_000_000


class _Sanitiser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.skipping = 0
        self.links: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROPPED:
            self.skipping += 1
            return
        if self.skipping:
            return
        a = dict(attrs)
        if tag == "img":
            alt = (a.get("alt") or "").strip()
            self.out.append(f"[image{': ' + html.escape(alt) if alt else ''}]")
        elif tag == "a":
            href = (a.get("href") or "").strip()
            self.links.append(href if href and not href.lower().startswith(("javascript:", "data:")) else None)
        elif tag in ALLOWED:
            tag = HEADINGS.get(tag, tag)
            span = "".join(f' {k}="{int(v)}"' for k, v in attrs
                           if k in ("colspan", "rowspan") and v and v.isdigit() and int(v) < _SPAN_LIMIT)
            self.out.append(f"<{tag}{span if tag in ('td', 'th') else ''}>")
            if tag not in VOID:
                self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if (tag in ALLOWED and tag not in VOID) or tag == "a":
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in DROPPED:
            self.skipping = max(0, self.skipping - 1)
            return
        if self.skipping:
            return
        if tag == "a":
            href = self.links.pop() if self.links else None
            if href:
                self.out.append(f" &lt;{html.escape(href)}&gt;")
            return
        tag = HEADINGS.get(tag, tag)
        if tag in self.open:
            while self.open:
                top = self.open.pop()
                self.out.append(f"</{top}>")
                if top == tag:
                    break

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.out.append(html.escape(data))

    def result(self) -> str:
        return "".join(self.out) + "".join(f"</{t}>" for t in reversed(self.open))


def sanitise(source: str) -> str:
    """The HTML with nothing but whitelisted, attribute-free markup and escaped text."""
    parser = _Sanitiser()
    parser.feed(source[:MAX_HTML])
    parser.close()
    return parser.result()


def html_body(raw: bytes) -> str | None:
    """The sanitised HTML alternative of a mail's own body (not of an attachment or a forwarded
    message), or None for a mail without one."""
    try:
        msg = message_from_bytes(raw, policy=default_policy)
        part = msg.get_body(preferencelist=("html",))
    except Exception:  # noqa: BLE001 - a malformed mail simply has no HTML view
        return None
    if not isinstance(part, Message) or part.get_content_type() != "text/html":
        return None
    try:
        source = part.get_content()
    except (LookupError, ValueError):
        payload = part.get_payload(decode=True)
        source = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    text = sanitise(str(source))
    return text if text.strip() else None
