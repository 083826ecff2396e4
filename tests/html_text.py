"""The text a reader sees in Duet's HTML (heatmaps, standalone files): tags dropped, entities decoded,
tooltips, newline glyphs, legends and notes left out. Shared by the AppTest and browser tests."""

from __future__ import annotations

from html.parser import HTMLParser

HIDDEN_CLASSES = ("duet-tip", "duet-nl", "duet-legend", "duet-note")
VOID_TAGS = ("hr", "br", "meta")  # no end tag comes


def visible_text(body: str, hidden_tags: tuple[str, ...] = ("style",)) -> str:
    class Reader(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.hidden = []  # stack: is each open element hidden?
            self.out = []

        def handle_starttag(self, tag, attrs):
            if tag in VOID_TAGS:
                return
            cls = dict(attrs).get("class") or ""
            hidden = tag in hidden_tags or any(c in cls for c in HIDDEN_CLASSES)
            self.hidden.append(hidden or (bool(self.hidden) and self.hidden[-1]))

        def handle_endtag(self, tag):
            if self.hidden:
                self.hidden.pop()

        def handle_data(self, data):
            if not (self.hidden and self.hidden[-1]):
                self.out.append(data)

    reader = Reader()
    reader.feed(body)
    return "".join(reader.out)
