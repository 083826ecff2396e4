"""Uploads in AppTest: several files, the column picker, and every kind of bad file as a clear message."""

from __future__ import annotations

from app_helpers import maps, press, score

from ui.markdown import literal


def upload_mode(at):
    at.radio(key="input_mode").set_value("Upload files").run()
    return at


def test_csv_column_picker_and_several_files(app):
    at = upload_mode(app.run())
    at.file_uploader(key="uploads").set_value([
        ("reviews.csv", b"id,body\n1,Great little phone.\n2,The battery died in a day.\n", "text/csv"),
        ("notes.txt", b"First paragraph.\n\nSecond paragraph.", "text/plain"),
    ]).run()
    assert not at.exception
    picker = at.selectbox(key="column_0_reviews.csv")
    assert picker.options == ["id", "body"] and picker.value is None
    assert any(literal("reviews.csv has no column 'text'") in e.value for e in at.error)
    picker.set_value("body").run()
    at.radio(key="split_1_notes.txt").set_value("paragraph").run()
    assert not at.error, [e.value for e in at.error]
    press(at, "score")
    assert not at.exception and not at.error
    assert len(at.session_state["result"].pair.texts) == 4
    assert at.selectbox(key="tv_text").options[1].startswith("2: The battery")
    assert {"duet-map-a-0", "duet-map-b-0"} <= set(maps(at))


def test_bad_uploads_give_messages_and_keep_results(app, monkeypatch):
    at = score(app.run(), "A result that must survive bad uploads.")
    before = maps(at)
    monkeypatch.setattr("ui.inputs.upload_limit_mb", lambda: 1)
    upload_mode(at)
    at.file_uploader(key="uploads").set_value([
        ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "text/plain"),
        ("empty.md", b"", "text/markdown"),
        ("nocolumn.csv", b"id,score\n1,2\n", "text/csv"),
        ("big.txt", b"word " * 300_000, "text/plain"),
        ("broken.jsonl", b'{"text": "ok"}\nnot json\n', "application/json"),
    ]).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any(literal("binary.txt looks like a binary file") in e for e in errors)
    assert any(literal("empty.md is empty") in e for e in errors)
    assert any(literal("nocolumn.csv has no column 'text' (columns: id, score): pick the column") in e for e in errors)
    assert any(literal("big.txt is 1.4 MB; the upload limit is 1 MB") in e for e in errors)
    assert any(literal("broken.jsonl could not be parsed") in e for e in errors)
    press(at, "score")
    assert any("Fix the upload problems" in e.value for e in at.error)
    assert maps(at) == before


def test_csv_whose_column_holds_no_text(app):
    at = upload_mode(app.run())
    at.file_uploader(key="uploads").set_value(("blank.csv", b"text,n\n,1\n   ,2\n", "text/csv")).run()
    assert any(literal("blank.csv contains no text") in e.value for e in at.error)


def test_a_file_added_twice_is_read_once(app):
    """The uploader lists a file added again twice: its texts are read (and scored) once, with a note."""
    from ui.markdown import literal

    at = upload_mode(app.run())
    at.file_uploader(key="uploads").set_value([
        ("notes.txt", b"First note.", "text/plain"),
        ("other.txt", b"Another text.", "text/plain"),
        ("notes.txt", b"First note.", "text/plain"),
        ("copy of notes.txt", b"First note.", "text/plain"),
    ]).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    captions = [c.value for c in at.caption]
    assert f"{literal('notes.txt')}: already added, read once." in captions
    assert f"{literal('copy of notes.txt')}: already added (same content as {literal('notes.txt')}), read once." in captions
    press(at, "score")
    assert not at.exception and not at.error
    assert at.session_state["result"].pair.texts == ["First note.", "Another text."]


MARKDOWN_NAMES = ["[link](https://x)", "**bold**", ":red[x]", "$$x$$"]


def test_file_names_with_markdown_show_literally_in_every_message_and_label(app):
    """A file's name is user text: no message or label may let markdown read a link, bold, colour or LaTeX out of it."""
    at = upload_mode(app.run())
    files = []
    for name in MARKDOWN_NAMES:
        files += [(f"{name}.txt", f"Text of {name}.".encode(), "text/plain"),  # a note and a split picker
                  (f"{name}.md", b"", "text/markdown"),  # an error: empty
                  (f"{name}.csv", b"id,body\n1,x\n", "text/csv")]  # an error and a column picker
    at.file_uploader(key="uploads").set_value(files).run()
    assert not at.exception
    shown = [e.value for kind in ("error", "warning", "info", "success", "caption", "markdown") for e in at.get(kind)]
    shown += [w.label for kind in ("selectbox", "radio") for w in at.get(kind)]
    for name in MARKDOWN_NAMES:
        assert any(literal(name) in line for line in shown), name  # it is said, escaped
        assert not any(name in line for line in shown), (name, [line for line in shown if name in line])
