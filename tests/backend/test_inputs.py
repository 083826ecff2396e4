import pytest

from backend.corpus.inputs import InputError, check_texts, read_texts


def test_txt_splits():
    data = "One.\nTwo.\n\nThree.\n".encode()
    assert read_texts(data, "a.txt") == ["One.\nTwo.\n\nThree.\n"]
    assert read_texts(data, "a.txt", split="line") == ["One.", "Two.", "Three."]
    assert read_texts(data, "a.txt", split="paragraph") == ["One.\nTwo.", "Three."]


def test_csv_and_jsonl_columns():
    assert read_texts(b"id,body\n1,hello\n2,world\n", "t.csv", text_column="body") == ["hello", "world"]
    assert read_texts(b'{"text": "a b"}\n{"text": "c"}\n', "t.jsonl") == ["a b", "c"]
    with pytest.raises(InputError, match="no column 'text'.*columns: id, body"):
        read_texts(b"id,body\n1,hello\n", "t.csv")
    with pytest.raises(InputError, match="not text"):
        read_texts(b'{"text": 3}\n', "t.jsonl")


@pytest.mark.parametrize(
    "data, name, message",
    [
        (b"", "e.txt", "is empty"),
        (b"   \n\t ", "w.txt", "contains no text"),
        (b"\xff\xfe\xfa bad", "b.txt", "not valid UTF-8"),
        (b"\x00\x01\x02binary", "x.txt", "binary"),
        (b"{not json", "j.jsonl", "could not be parsed"),
        (b"[1, 2]\n", "j.jsonl", "JSON object"),
        (b"hello", "x.pdf", "unsupported file type"),
    ],
)
def test_bad_input_gets_one_clear_line(data, name, message):
    with pytest.raises(InputError, match=message) as error:
        read_texts(data, name)
    assert "\n" not in str(error.value)


def test_check_texts():
    with pytest.raises(InputError, match="no text"):
        check_texts([])
    with pytest.raises(InputError, match="text 2 is empty"):
        check_texts(["ok", "  "])


def test_megabyte_text_is_accepted():
    text = ("All work and no play makes Jack a dull boy. " * 25000)[:1_000_000]
    assert read_texts(text.encode(), "big.txt") == [text]
