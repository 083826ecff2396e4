"""The one HTML renderer: exact text, escaping, colours and legends with units, tooltips, standalone export."""

from __future__ import annotations

import math
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from analysis import colourings, heatmap, metrics, scales
from analysis.schema import BITS_PER_NAT

HOSTILE = "Hi <script>alert(1)</script> & <img src=x onerror=alert(1)> \"q\" 'end'\n  next"


class Reader(HTMLParser):
    """Visible text (glyphs and styles left out), the cells' tooltips (data-tip), and every tag seen."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.text, self.tips, self.tags = [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag in ("hr", "br"):  # void elements: no end tag comes
            return
        attrs = dict(attrs)
        cls = attrs.get("class") or ""
        if "data-tip" in attrs:
            self.tips.append(attrs["data-tip"])  # HTMLParser unescapes attribute values
        hidden = tag == "style" or "duet-nl" in cls or "duet-note" in cls
        self.stack.append(hidden or (bool(self.stack) and self.stack[-1]))

    def handle_endtag(self, tag):
        if self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]):
            self.text.append(data)


def read(body: str) -> Reader:
    reader = Reader()
    reader.feed(body)
    return reader


def token_table(text: str, spans, logprobs, entropy=None, rank=None, topk=None) -> pd.DataFrame:
    n = len(spans)
    return pd.DataFrame({
        "text_id": 0, "position": np.arange(n), "token_id": np.arange(n),
        "token": [text[s:e] for s, e in spans],
        "char_start": [s for s, _ in spans], "char_end": [e for _, e in spans],
        "logprob": logprobs, "entropy": entropy if entropy is not None else np.full(n, 2.0),
        "rank": rank if rank is not None else np.arange(1, n + 1, dtype=float),
        "context_tokens": np.arange(1, n + 1),
        "topk_token_ids": [[1, 2]] * n,
        "topk_tokens": topk if topk is not None else [["<b>x", "\n y"]] * n,
        "topk_logprobs": [[-0.5, -1.5]] * n,
    })


def char_tokens(text: str) -> pd.DataFrame:
    spans = [(i, i + 1) for i in range(len(text))]
    return token_table(text, spans, -np.linspace(0.1, 9, len(text)))


def test_token_map_shows_the_text_exactly_and_escapes_everything():
    tokens = char_tokens(HOSTILE)
    scale = heatmap.scale_for("surprisal", "nats", -tokens["logprob"].to_numpy())
    body = heatmap.render(HOSTILE, heatmap.token_cells(HOSTILE, tokens, "surprisal", "nats", "<i>model</i>"), scale)
    reader = read(body)
    assert "".join(reader.text) == HOSTILE
    assert set(reader.tags) <= {"div", "span", "b", "table", "tr", "td", "hr"}
    assert "<script" not in body and "<img" not in body and "<i>" not in body
    assert "&lt;i&gt;model&lt;/i&gt;" in body and "&lt;b&gt;x" in body


def test_word_map_escapes_and_keeps_text():
    words = pd.DataFrame({
        "text_id": 0, "word_index": [0, 1], "word": ["<script>", "x"], "char_start": [0, 9], "char_end": [8, 10],
        "logprob_a": [-1.0, -2.0], "logprob_b": [-3.0, np.nan], "entropy_a": [1.0, 1.0], "entropy_b": [2.0, 2.0],
        "n_tokens_a": [3, 1], "n_tokens_b": [2, 1], "delta": [2.0, np.nan],
    })
    text = "<script> x"
    scale = heatmap.scale_for("delta", "nats", words["delta"].to_numpy())
    body = heatmap.render(text, heatmap.word_cells(text, words, "delta", "nats", None, ("<A>", "B")), scale)
    reader = read(body)
    assert "".join(reader.text) == text and "<script" not in body
    tip = reader.tips[0]
    assert "<A>" in tip and "B:" in tip and "A predicted it better" in tip  # both models' values in difference mode
    assert "not scored by both" in reader.tips[1]
    assert f'background:{heatmap.MISSING_COLOUR}' in body  # NaN is "no score", never a real colour


def test_tooltip_has_piece_probability_logprob_entropy_rank_and_topk_in_units():
    text = "ab"
    tokens = token_table(text, [(0, 1), (1, 2)], [math.log(0.25), math.log(0.5)], entropy=[1.0, 2.0], rank=[3.0, 1.0])
    cells = heatmap.token_cells(text, tokens, "surprisal", "bits", "A")
    body = heatmap.render(text, cells, heatmap.scale_for("surprisal", "bits"))
    tip = read(body).tips[0]
    assert tip.startswith("A · token 1 “a”")  # counted from 1 for the reader (position 0 in the table)
    assert "probability 0.250" in tip and "logprob -2 bits" in tip and "surprisal 2 bits" in tip
    assert f"entropy {BITS_PER_NAT:.3g} bits" in tip and "rank 3" in tip
    assert "top-2 predictions" in tip and "“<b>x”" in tip and "“↵␣y”" in tip and "0.607" in tip  # exp(-0.5)
    assert body.count("<") == body.count(">")  # the tooltip text is all escaped into its attribute
    assert "&lt;b&gt;x" in body
    assert cells[0].value == pytest.approx(2.0)  # surprisal in bits


def test_first_token_without_context_is_no_score():
    text = "ab"
    tokens = token_table(text, [(0, 1), (1, 2)], [np.nan, -1.0], entropy=[np.nan, 1.0], rank=[np.nan, 1.0])
    cells = heatmap.token_cells(text, tokens, "rank", "nats", "B")
    assert math.isnan(cells[0].value)
    body = heatmap.render(text, cells, heatmap.scale_for("rank", "nats"))
    assert "no score: the first token" in body and heatmap.MISSING_COLOUR in body


def test_byte_fallback_pieces_join_one_cell_and_add_up():
    text = "é!"  # a byte-fallback tokenizer emits two tokens for "é": the second with an empty span
    tokens = token_table(text, [(0, 1), (1, 1), (1, 2)], [-1.0, -0.5, -2.0], entropy=[3.0, 0.1, 1.0], rank=[4.0, 1.0, 2.0])
    cells = heatmap.token_cells(text, tokens, "surprisal", "nats", "A")
    assert [(c.start, c.end) for c in cells] == [(0, 1), (1, 2)]
    assert cells[0].value == pytest.approx(1.5)  # the cost of the visible "é"
    assert "2 tokens cover this text" in cells[0].tooltip
    assert heatmap.token_cells(text, tokens, "entropy", "nats", "A")[0].value == 3.0  # the first token's
    assert heatmap.token_cells(text, tokens, "rank", "nats", "A")[0].value == 4.0
    assert "".join(read(heatmap.render(text, cells, heatmap.scale_for("surprisal", "nats"))).text) == text


def test_overlapping_and_uncovered_spans_keep_the_text():
    text = "  hello world  "
    tokens = token_table(text, [(2, 7), (5, 8), (8, 13)], [-1.0, -2.0, -3.0])
    body = heatmap.render(text, heatmap.token_cells(text, tokens, "surprisal", "nats", "A"), heatmap.scale_for("surprisal", "nats"))
    assert "".join(read(body).text) == text


def test_newline_cell_is_visible_and_hoverable():
    text = "a\n\nb"
    tokens = token_table(text, [(0, 1), (1, 3), (3, 4)], [-1.0, -1.0, -1.0])
    body = heatmap.render(text, heatmap.token_cells(text, tokens, "surprisal", "nats", "A"), heatmap.scale_for("surprisal", "nats"))
    assert '<span class="duet-nl">↵</span>\n\n' in body


def test_colours_scales_and_legends():
    bits = heatmap.scale_for("surprisal", "bits", np.array([0.0, 1.0, 2.0]))
    nats = heatmap.scale_for("surprisal", "nats", np.array([0.0, 1.0, 2.0]))
    assert bits.vmax == pytest.approx(nats.vmax * BITS_PER_NAT)
    assert "(bits" in bits.title and "(nats" in nats.title
    assert bits.colour(0.0) == scales.PALETTES["surprisal"][0] and bits.colour(1e9) == scales.PALETTES["surprisal"][-1]
    assert heatmap.legend_html(bits).count("bits") >= 1
    rank = heatmap.scale_for("rank", "nats")
    assert [rank.colour(r) for r in (1, 2, 10, 11, 100, 101, 50_000)] == [
        heatmap.RANK_BUCKETS[0][2], heatmap.RANK_BUCKETS[1][2], heatmap.RANK_BUCKETS[1][2],
        heatmap.RANK_BUCKETS[2][2], heatmap.RANK_BUCKETS[2][2], heatmap.RANK_BUCKETS[3][2], heatmap.RANK_BUCKETS[3][2],
    ]
    assert all(name in heatmap.legend_html(rank) for _, name, _ in heatmap.RANK_BUCKETS)
    delta = heatmap.scale_for("delta", "nats", np.array([-3.0, 1.0]))
    assert delta.vmin == -delta.vmax and delta.colour(0.0) == scales.DIVERGING[4]
    assert delta.colour(delta.vmax) == scales.DIVERGING[-1]  # A better: the blue end
    legend = heatmap.legend_html(delta)
    assert "B predicted better" in legend and "A predicted better" in legend and "(nats)" in legend
    assert heatmap.text_colour("#b10026") == "#ffffff" and heatmap.text_colour("#ffffcc") == "#000000"


def test_one_outlier_does_not_wash_out_the_scale():
    values = np.concatenate([np.full(99, 2.0), [500.0]])
    assert heatmap.scale_for("surprisal", "nats", values).vmax < 10


def test_long_texts_are_cut_with_a_note():
    text = "x" * 50
    body = heatmap.render(text, heatmap.token_cells(text, char_tokens(text), "surprisal", "nats", "A"),
                          heatmap.scale_for("surprisal", "nats"), max_cells=10)
    assert "Showing the first 10 of 50 pieces" in body and body.count('class="duet-cell"') == 10


def pair_tables(text: str):
    tokens_a = char_tokens(text).assign(model="a")
    tokens_b = token_table(text, [(0, 3), (3, len(text))], [-1.0, -2.0]).assign(model="b")
    words = pd.DataFrame({
        "text_id": 0, "word_index": [0, 1], "word": [text[:3], text[4:]], "char_start": [0, 4],
        "char_end": [3, len(text)], "logprob_a": [-1.0, -2.0], "logprob_b": [-2.0, -1.0], "entropy_a": [1.0, 1.0],
        "entropy_b": [1.0, 1.0], "n_tokens_a": [3, 3], "n_tokens_b": [1, 1], "delta": [1.0, -1.0],
    })
    return pd.concat([tokens_a, tokens_b], ignore_index=True), words


@pytest.mark.parametrize("colouring,level,expected", [
    ("surprisal", "tokens", {"a", "b"}), ("entropy", "words", {"a", "b"}), ("rank", "words", {"a", "b"}),
    ("delta", "tokens", {"delta"}),
])
def test_pair_heatmaps(colouring, level, expected):
    text = "one two"
    tokens, words = pair_tables(text)
    maps = heatmap.pair_heatmaps(text, 0, tokens, words, colouring, level, "bits", ("A", "B"))
    assert set(maps.maps) == expected and "duet-legend" in maps.legend
    for body in maps.maps.values():
        assert "".join(read(body).text) == text
    if colouring == "rank":  # rank is per token whatever the level asked
        assert maps.maps["a"].count('class="duet-cell"') == len(text)


def same_vocab_table(text: str) -> pd.DataFrame:
    return pd.DataFrame({"text_id": 0, "position": np.arange(len(text)), "kl_a_b": 0.1, "kl_b_a": 0.2, "js": 0.05,
                         "topk_overlap": np.linspace(0, 1, len(text))})


@pytest.mark.parametrize("colouring,level", [
    (name, f"{level}s") for name in heatmap.offered_colourings(both_models=True, same_vocab=True)
    for level in metrics.levels(name)
])
def test_every_colouring_draws_at_each_of_its_levels(colouring, level):
    """Whatever the registry offers draws at each level it declares: exact text, legend, tooltips, a coloured cell."""
    text = "one two"
    tokens, words = pair_tables(text)
    maps = heatmap.pair_heatmaps(text, 0, tokens, words, colouring, level, "bits", ("A", "B"), same_vocab_table(text))
    assert heatmap.drawn_level(colouring, level) == level
    m = metrics.get(colouring)
    assert set(maps.maps) == ({colouring} if m.pair and level == "words" else {"a", "b"})
    assert html_title(maps.legend) == maps.scale.title == metrics.title(colouring, "bits", level[:-1])
    for body in maps.maps.values():
        reader = read(body)
        assert "".join(reader.text) == text and all(reader.tips)
        assert any(heatmap.MISSING_COLOUR not in c for c in body.split('class="duet-cell"')[1:])


def html_title(legend: str) -> str:
    import html as html_module

    return html_module.unescape(legend.split("<b>", 1)[1].split("</b>", 1)[0])


@pytest.mark.parametrize("level", ["tokens", "words"])
def test_surprisal_legend_names_the_piece_it_colours(level):
    text = "one two"
    tokens, words = pair_tables(text)
    legend = heatmap.pair_heatmaps(text, 0, tokens, words, "surprisal", level, "bits", ("A", "B")).legend
    assert f"surprisal (bits per {level[:-1]})" in legend


def test_pair_heatmaps_with_a_missing_model_and_same_vocab():
    text = "one two"
    tokens, words = pair_tables(text)
    only_b = tokens[tokens["model"] == "b"]
    assert set(heatmap.pair_heatmaps(text, 0, only_b, words, "surprisal", "tokens", "nats", ("A", "B")).maps) == {"b"}
    maps = heatmap.pair_heatmaps(text, 0, tokens, words, "topk_overlap", "words", "nats", ("A", "B"),
                                 same_vocab_table(text))
    assert "top-k overlap" in maps.legend and "KL(A‖B) 0.1 nats" in maps.maps["a"]


def test_standalone_html_works_without_a_server():
    text = "hi <b>"
    body = heatmap.render(text, heatmap.token_cells(text, char_tokens(text), "surprisal", "nats", "A"),
                          heatmap.scale_for("surprisal", "nats"))
    page = heatmap.standalone_html("T <x>", [("A & B", body)], note="n <y>")
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert ".duet-cell[data-tip]:hover::after" in page  # the tooltip is CSS: no script, no server
    assert "<script" not in page and "http" not in page
    assert "T &lt;x&gt;" in page and "A &amp; B" in page and "n &lt;y&gt;" in page


# --- direction, hidden characters, the focused word, tooltips at the edge ------------------------


def test_the_map_takes_its_direction_from_its_text_and_cells_leave_the_order_to_the_bidi_algorithm():
    """Arabic reads right to left across cells: the map is dir="auto" and no cell is an isolate of its own
    (an isolated cell is a neutral in its line, so a word cut into two tokens would show its halves swapped)."""
    text = "قال الرجل hello"
    tokens = token_table(text, [(0, 2), (2, 3), (3, 9), (9, 15)], [-1.0, -2.0, -3.0, -4.0])
    body = heatmap.render(text, heatmap.token_cells(text, tokens, "surprisal", "nats", "A"),
                          heatmap.scale_for("surprisal", "nats"))
    assert body.startswith('<div class="duet-heatmap" dir="auto">')
    assert body.count('dir="auto"') == 1 and body.count('class="duet-cell"') == 4
    assert "".join(read(body).text) == text
    assert "unicode-bidi" not in heatmap.CSS.split(".duet-cell{", 1)[1].split("}", 1)[0]


def test_every_bidi_control_is_drawn_as_a_mark():
    """With no control left in the page, no cell can reorder its neighbours (the spoof isolation guarded against)."""
    controls = "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    text = "a" + controls + "b"
    tokens = token_table(text, [(0, 1), (1, len(text) - 1), (len(text) - 1, len(text))], [-1.0, -2.0, -3.0])
    body = heatmap.render(text, heatmap.token_cells(text, tokens, "surprisal", "nats", "A"),
                          heatmap.scale_for("surprisal", "nats"))
    assert not any(c in body for c in controls)
    assert body.count('class="duet-ctl"') == len(controls)


def test_hidden_characters_show_as_code_points_and_keep_the_real_scores():
    plain, tricky = "adminXgnp.exe", "admin\u202egnp.exe\ufeff\u200b"
    spans = [(0, 5), (5, 13)]
    scores = [-1.0, -4.0]
    shown = {}
    for text in (plain, tricky):
        extra = [(13, 15)] if text == tricky else []
        tokens = token_table(text, spans + extra, scores + [-2.0] * len(extra))
        cells = heatmap.token_cells(text, tokens, "surprisal", "nats", "A")
        shown[text] = (cells, heatmap.render(text, cells, heatmap.scale_for("surprisal", "nats", [1, 4])))
    cells, body = shown[tricky]
    assert [c.value for c in cells[:2]] == [c.value for c in shown[plain][0]]  # same offsets, same scores
    for char in ("\u202e", "\ufeff", "\u200b"):
        assert char not in body  # neither in the text nor in any tooltip: nothing reorders or hides
    reader = read(body)
    assert "".join(reader.text) == "adminU+202Egnp.exeU+FEFFU+200B"
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in reader.tips[1]
    assert "U+FEFF ZERO WIDTH NO-BREAK SPACE" in reader.tips[2] and "U+200B ZERO WIDTH SPACE" in reader.tips[2]
    assert "⟨U+202E⟩" in reader.tips[1]  # the piece itself in the tooltip, with its mark
    assert heatmap.visible_piece("a\tb\n c") == "a⇥b↵␣c"  # layout characters keep their glyphs


def test_the_focused_word_is_marked_in_every_map_with_one_anchor_each():
    text = "one two three"
    tokens = pd.concat([token_table(text, [(0, 3), (3, 7), (7, 13)], [-1.0, -2.0, -3.0]).assign(model=m)
                        for m in ("a", "b")])
    words = pd.DataFrame({
        "text_id": 0, "word_index": [0, 1, 2], "word": ["one", " two", " three"],
        "char_start": [0, 3, 7], "char_end": [3, 7, 13], "logprob_a": [-1.0, -2.0, -3.0],
        "logprob_b": [-2.0, -1.0, -3.0], "entropy_a": 1.0, "entropy_b": 1.0, "n_tokens_a": 1, "n_tokens_b": 1,
        "delta": [1.0, -1.0, 0.0],
    })
    for colouring, level in (("surprisal", "tokens"), ("delta", "words")):
        maps = heatmap.pair_heatmaps(text, 0, tokens, words, colouring, level, "nats", ("A", "B"), focus=(4, 7))
        for key, body in maps.maps.items():
            assert body.count("duet-focus") == 1
            assert f'id="duet-map-{key}-0-focus"' in body
            marked = body.split("duet-focus", 1)[1].split("</span>", 1)[0]
            assert marked.endswith(" two")
    plain = heatmap.pair_heatmaps(text, 0, tokens, words, "surprisal", "tokens", "nats", ("A", "B"))
    assert "duet-focus" not in plain.maps["a"]


def test_tooltips_flip_inside_the_viewport_where_anchor_positioning_exists():
    css = heatmap.CSS
    assert "position-try-fallbacks:flip-inline" in css and "@supports (anchor-name:--a)" in css
    assert "max-width:min(380px,calc(100vw - 16px))" in css


def test_an_example_in_context_and_a_feature_heading_escape_user_text():
    """The Differences tab's snippets: context, word and model name come from users; all of it is escaped."""
    bad = "<script>alert(1)</script>"
    snippet = heatmap.example_in_context(f"{bad}\nleft ", f"{bad}&", f" right {bad}", "#1f77b4")
    assert "<script>" not in snippet and snippet.count("&lt;script&gt;") == 3 and "&amp;" in snippet
    assert snippet.startswith("<span style='color:#555'>&lt;script&gt;alert(1)&lt;/script&gt; ↵ left </span>")
    assert "<mark style='background:#1f77b433;border-bottom:2px solid #1f77b4;padding:0 2px'>" in snippet
    heading = heatmap.feature_heading(7, f"{bad} 'x'", "#d62728")
    assert heading == ("#### Feature 7 · <span style='color:#d62728'>&lt;script&gt;alert(1)&lt;/script&gt; "
                       "&#x27;x&#x27; wins</span>")


def test_rank_difference_compares_first_tokens_per_word_across_tokenizers():
    """Two tokenizers: per word, each model's first token of the word (the space before "two" is A's own token);
    no token level, since their positions are not the same pieces."""
    text = "one two"
    tokens, words = pair_tables(text)  # A: one token per character, ranks 1..7; B: "one", " two", ranks 1, 2
    assert heatmap.levels_for("rank_diff", same_vocab=False) == ("word",)
    assert heatmap.levels_for("rank_diff", same_vocab=True) == ("token", "word")
    assert heatmap.drawn_level("rank_diff", "tokens", same_vocab=False) == "words"
    joined, _ = colourings.with_rank_pair(text, 0, tokens, words, None)
    assert joined["rank_a"].tolist() == [1.0, 4.0] and joined["rank_b"].tolist() == [1.0, 2.0]
    maps = heatmap.pair_heatmaps(text, 0, tokens, words, "rank_diff", "tokens", "nats", ("A", "B"))
    assert set(maps.maps) == {"rank_diff"} and "B ranked it higher" in maps.legend
    tips = read(maps.maps["rank_diff"]).tips
    assert "rank of the first token: A 4 · B 2" in tips[1]
    expected = np.log2(2 + 1) - np.log2(4 + 1)  # positive would mean A ranked it higher
    colours = [c.split("background:", 1)[1].split(";", 1)[0] for c in maps.maps["rank_diff"].split('class="duet-cell')[1:]]
    assert colours == [maps.scale.colour(0.0), maps.scale.colour(expected)] and maps.scale.vmin < 0


def test_rank_difference_per_token_when_the_vocabulary_is_shared():
    text = "one two"
    tokens_a = char_tokens(text).assign(model="a")
    tokens_b = char_tokens(text).assign(model="b", rank=np.arange(len(text), 0, -1, dtype=float))
    tokens = pd.concat([tokens_a, tokens_b], ignore_index=True)
    _, words = pair_tables(text)
    maps = heatmap.pair_heatmaps(text, 0, tokens, words, "rank_diff", "tokens", "nats", ("A", "B"),
                                 same_vocab_table(text))
    assert set(maps.maps) == {"a", "b"}
    cells = maps.maps["a"].split('class="duet-cell')[1:]
    assert len(cells) == len(text)
    expected = np.log2(np.arange(len(text), 0, -1) + 1.0) - np.log2(np.arange(1, len(text) + 1) + 1.0)
    colours = [c.split("background:", 1)[1].split(";", 1)[0] for c in cells]
    assert colours == [maps.scale.colour(v) for v in expected]
    assert "Rank in A 1 · Rank in B 7" in read(maps.maps["a"]).tips[0]


def test_the_printable_shortcut_finds_every_hidden_character():
    """has_hidden skips the per-character look for printable text: it must agree with hidden() on every character."""
    for code in range(0x30000):
        char = chr(code)
        if 0xD800 <= code <= 0xDFFF:
            continue  # surrogates are not characters of a str read from text
        assert heatmap.has_hidden(f"a{char}b\n") == heatmap.hidden(char), hex(code)
    assert not heatmap.has_hidden("plain words,\n\ttabs and line breaks\r\n")
    assert heatmap.show_hidden("x\u202ey") == "x⟨U+202E⟩y"
