"""A mail's words for the timeline: HTML rendered as text, quoted history cut off (pure)."""

import re
from html.parser import HTMLParser

# Tags that end a line of text; the rest run inline.
_BLOCKS = frozenset(
    "address article blockquote br dd div dl dt footer h1 h2 h3 h4 h5 h6 header hr li ol p "
    "pre section table tr ul".split()
)
_SKIPPED = frozenset(("script", "style", "head", "title"))


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.quote_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")
        if tag == "blockquote":
            self.quote_depth += 1
        if tag == "li":
            self.parts.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")
        if tag == "blockquote":
            self.quote_depth = max(0, self.quote_depth - 1)

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        text = re.sub(r"\s+", " ", data)
        if self.quote_depth:  # a quoted reply in HTML reads as "> " lines in text
            text = "> " * self.quote_depth + text.strip() if text.strip() else ""
            self.parts.append(f"\n{text}\n" if text else "")
            return
        self.parts.append(text)


def html_to_text(html: str) -> str:
    """A readable plain-text rendition of an HTML body (links and styling dropped)."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# Where quoted history starts, as the common clients write it.
_ATTRIBUTION = re.compile(
    r"^\s*(On\s.+wrote:|Am\s.+schrieb.*:|Le\s.+a écrit\s*:|El\s.+escribió:)\s*$", re.IGNORECASE
)
_ORIGINAL = re.compile(r"^\s*-{2,}\s*(Original Message|Forwarded message)\s*-{2,}\s*$", re.I)
# Outlook's header block: a rule or blank line, then "From: ..." followed by Sent/Date/To/Subject.
_OUTLOOK_FROM = re.compile(r"^\s*\*?(From|Von|De)\s*:\*?\s+\S", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(r"^\s*\*?(Sent|Date|To|Subject|Cc|Gesendet|Envoyé)\s*:", re.I)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
# Gmail wraps a long attribution over two lines: "On Mon, ... <a@b.c>" / "wrote:".
_ATTRIBUTION_HEAD = re.compile(r"^\s*On\s.+", re.IGNORECASE)


def strip_quoted(text: str) -> str:
    """The new part of a reply: everything before the quoted history.

    Cuts at an attribution line ("On <date>, <someone> wrote:"), at Outlook's
    "-----Original Message-----" or its "From:/Sent:/To:/Subject:" block, and drops every
    line quoted with ">". When nothing new is left the text is kept as it is (a reply that
    is all quote still says something).
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if _ATTRIBUTION.match(line) or _ORIGINAL.match(line) or _UNDERSCORES.match(line):
            break
        if _ATTRIBUTION_HEAD.match(line) and following.strip().lower().endswith("wrote:"):
            break
        if _OUTLOOK_FROM.match(line) and _OUTLOOK_NEXT.match(following):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    new = "\n".join(kept).strip()
    new = re.sub(r"\n{3,}", "\n\n", new)
    return new or text.strip()
