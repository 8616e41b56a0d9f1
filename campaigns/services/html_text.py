"""The plain-text alternative of an HTML email, when the campaign gives none: paragraphs and line
breaks kept, list items as "- ", links as "text (url)", images as their alt text, styles,
scripts and hidden parts (the preheader) left out.

Written on the standard library's HTMLParser: html2text is GPL-licensed and inscriptis brings
lxml for what is, for an email's simple markup, about sixty lines."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = {
    "p", "div", "section", "article", "header", "footer", "table", "tr", "ul", "ol",
    "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "hr",
}  # fmt: skip
_SKIPPED = {"style", "script", "head", "title"}
_HIDDEN = re.compile(r"display\s*:\s*none", re.IGNORECASE)
_VOID = {"br", "img", "hr", "meta", "link", "input", "area", "base", "col", "source", "wbr"}


def html_to_text(markup: str) -> str:
    parser = _TextParser()
    parser.feed(markup)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.out).split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


class _TextParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping = 0  # depth inside elements whose text is not shown
        self.links: list[tuple[str, int]] = []  # (href, where its text starts in out)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.skipping:
            if tag not in _VOID:
                self.skipping += 1
            return
        if tag in _SKIPPED or _HIDDEN.search(attrs.get("style") or ""):
            if tag not in _VOID:
                self.skipping = 1
            return
        if tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in _BLOCKS or tag in ("td", "th"):
            self.out.append("\n\n" if tag in _BLOCKS else " ")
        elif tag == "img" and attrs.get("alt"):
            self.out.append(f"[{attrs['alt']}]")
        elif tag == "a":
            self.links.append((attrs.get("href") or "", len(self.out)))

    def handle_endtag(self, tag):
        if self.skipping:
            self.skipping -= 1
            return
        if tag in _BLOCKS:
            self.out.append("\n\n")
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            label = " ".join("".join(self.out[start:]).split())
            if href.startswith(("http://", "https://")) and href != label:
                self.out.append(f" ({href})" if label else href)

    def handle_data(self, data):
        if not self.skipping:
            self.out.append(data)
