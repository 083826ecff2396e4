"""The Ray engine on a local Ray instance (2 CPUs) with the tiny models.

One module-wide Ray instance; one full scoring run shared by the tests that
only read its output, and one resumed run (with a worker killed mid-run).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("ray")

from analysis.schema import MODEL_COLUMN  # noqa: E402
from backend.corpus.readers import read_corpus  # noqa: E402
from backend.store.corpus_output import CorpusRunError, import_corpus_run, open_corpus_run  # noqa: E402
from backend.corpus.inputs import InputError, read_texts  # noqa: E402
from backend.scoring.score import ScoreSettings  # noqa: E402
from tiny_models import CORPUS  # noqa: E402

SETTINGS = ScoreSettings(top_k=3)


@pytest.fixture(scope="module")
def ray_local():
    import ray

    from backend.corpus.ray_engine import connect

    started = connect(num_cpus=2)
    yield
    if started:
        ray.shutdown()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """Every format, a subfolder, a text repeated across files, and files that are skipped."""
    root = tmp_path_factory.mktemp("corpus")
    (root / "a.txt").write_text("\n\n".join(CORPUS[:4]) + "\n")
    pd.DataFrame({"id": [1, 2, 3], "text": [CORPUS[4], CORPUS[0], "  "]}).to_csv(root / "b.csv", index=False)
    (root / "sub").mkdir()
    (root / "sub" / "c.jsonl").write_text("\n".join(json.dumps({"text": t, "n": i}) for i, t in enumerate(CORPUS[3:])))
    pd.DataFrame({"text": [CORPUS[5] + " again", None, "Short one."]}).to_parquet(root / "sub" / "d.parquet")
    (root / ".DS_Store").write_bytes(b"\x00\x01")
    (root / "sub" / "_SUCCESS").write_bytes(b"")
    return root


def _score(corpus: Path, out: Path, tiny_a: Path, tiny_b: Path, **options):
    from backend.corpus.ray_engine import RayOptions, score_corpus

    return score_corpus(corpus, out, str(tiny_a), str(tiny_b), SETTINGS, split="paragraph", options=RayOptions(**options), say=lambda m: None)


@pytest.fixture(scope="module")
def scored(ray_local, corpus, tiny_a, tiny_b, tmp_path_factory):
    out = tmp_path_factory.mktemp("scored") / "out"
    meta = _score(corpus, out, tiny_a, tiny_b, workers=2)
    return out, meta


def test_corpus_texts_are_read_texts_of_each_file_in_path_order(corpus):
    texts, files = read_corpus(corpus, split="paragraph")
    expected = (
        read_texts((corpus / "a.txt").read_bytes(), "a.txt", "paragraph")
        + read_texts((corpus / "b.csv").read_bytes(), "b.csv")
        + read_texts((corpus / "sub" / "c.jsonl").read_bytes(), "c.jsonl")
        + [CORPUS[5] + " again", "Short one."]
    )
    assert texts == expected
    assert files == ["a.txt"] * 4 + ["b.csv"] * 2 + ["sub/c.jsonl"] * 3 + ["sub/d.parquet"] * 2


def test_ray_dataset_reads_the_same_texts_in_the_same_order(ray_local, corpus):
    from backend.corpus.ray_engine import read_corpus_table

    table = read_corpus_table(corpus, split="paragraph")
    texts, files = read_corpus(corpus, split="paragraph")
    assert table["text"].tolist() == texts
    assert table["file"].tolist() == files
    assert table["text_id"].tolist() == list(range(len(texts)))
    one = read_corpus_table(corpus / "b.csv")  # one file: exactly what the local engine reads
    assert one["text"].tolist() == read_texts((corpus / "b.csv").read_bytes(), "b.csv")


def test_plan_units_covers_each_missing_text_once():
    from backend.corpus.ray_engine import plan_units
    from backend.store.score_cache import text_hash

    texts = ["a" * 400, "b" * 400, "a" * 400, "c" * 40, "d" * 4000]
    table = pd.DataFrame({"text_id": range(5), "text": texts, "text_hash": [text_hash(t) for t in texts]})
    units = plan_units(table, done={text_hash("b" * 400)}, unit_tokens=150, workers=1)
    assert [u["texts"] for u in units] == [["a" * 400, "c" * 40], ["d" * 4000]]  # 100 + 10 estimated tokens, then 1000
    assert units[0]["text_ids"] == [[0, 2], [3]]  # a repeated text: scored once, written under both ids


def _compare(ray_table: pd.DataFrame, local_table: pd.DataFrame, rtol: float = 0.0):
    """Same columns and rows; floats within 1e-5 (batches padded differently differ in float32 rounding)."""
    assert list(ray_table.columns) == list(local_table.columns)
    assert len(ray_table) == len(local_table)
    for column in local_table.columns:
        a, b = ray_table[column], local_table[column]
        if pd.api.types.is_float_dtype(b):
            np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=rtol, atol=1e-5, err_msg=column)
        elif b.dtype == object and len(b) and isinstance(b.iloc[0], list) and any(isinstance(x, float) for v in b for x in v):
            for x, y in zip(a, b):
                np.testing.assert_allclose(np.asarray(x, float), np.asarray(y, float), rtol=0, atol=1e-5, err_msg=column)
        else:
            assert [v if not isinstance(v, np.ndarray) else list(v) for v in a] == list(b), column


def test_tables_equal_the_local_engine(scored, corpus, tiny_a, tiny_b, isolated_cache):
    from backend.models.loading import load_model
    from backend.scoring.pair import score_pair
    from backend.models.specs import ModelSpec

    out, meta = scored
    result, opened_meta = open_corpus_run(out)
    texts, _ = read_corpus(corpus, split="paragraph")
    local = score_pair(load_model(ModelSpec(str(tiny_a))), load_model(ModelSpec(str(tiny_b))), texts, SETTINGS)
    assert result.texts == local.texts
    order = {"tokens": ["text_id", MODEL_COLUMN, "position"], "words": ["text_id", "word_index"], "summary": ["text_id", "model"]}
    for name, keys in order.items():
        expected = getattr(local, name).sort_values(keys, kind="stable").reset_index(drop=True)
        _compare(getattr(result, name), expected, rtol=1e-5 if name == "summary" else 0.0)  # perplexity is exp(...)
    assert opened_meta["complete"] and meta["n_texts"] == len(texts) == 11
    assert meta["n_tokens_rows"] == len(local.tokens)
    assert meta["last_run"]["texts_scored"] == len(set(texts)) == 8  # a text in two files is scored once
    assert pd.read_parquet(out / "tokens").shape[0] == len(local.tokens)  # the folder reads as one table


def test_resume_scores_only_the_missing_texts_and_survives_a_worker_crash(scored, corpus, tiny_a, tiny_b, tmp_path, monkeypatch):
    from backend.__main__ import main

    first, _ = scored
    out = tmp_path / "out"
    shutil.copytree(first, out)
    markers = sorted((out / "done").glob("part-*.json"))
    assert len(markers) >= 3
    lost = 0
    # An interrupted run: one part lost its token file, one its marker (died before committing).
    for marker, table in ((markers[0], "tokens"), (markers[1], None)):
        lost += len(json.loads(marker.read_text())["hashes"])
        if table:
            (out / table / f"{marker.stem}.parquet").unlink()
        else:
            marker.unlink()
    (out / "words" / ".part-x.parquet.1234.tmp").write_bytes(b"half a file")
    crash = tmp_path / "crash"
    crash.mkdir()
    monkeypatch.setenv("DUET_RAY_CRASH_ONCE", str(crash))  # the first unit's worker dies once; Ray retries it
    argv = ["score", "--engine", "ray", "--model-a", str(tiny_a), "--model-b", str(tiny_b), "--input", str(corpus),
            "--split", "paragraph", "--top-k", "3", "--out", str(out), "--workers", "1"]
    assert main(argv) == 0
    assert (crash / "crashed").is_file()
    meta = json.loads((out / "meta.json").read_text())
    assert meta["complete"] and meta["last_run"]["texts_scored"] == lost
    again, _ = open_corpus_run(out)
    before, _ = open_corpus_run(first)
    for name in ("tokens", "words", "summary"):
        _compare(getattr(again, name), getattr(before, name), rtol=1e-5 if name == "summary" else 0.0)
    assert not list((out / "words").glob(".*"))


def test_a_grown_corpus_renumbers_kept_parts(scored, corpus, tiny_a, tiny_b, tmp_path):
    """A file sorted before the others shifts every text_id; kept parts are renumbered, not rescored."""
    first, _ = scored
    grown = tmp_path / "corpus"
    shutil.copytree(corpus, grown)
    (grown / "0.txt").write_text(CORPUS[1])  # already scored: nothing new to score
    out = tmp_path / "out"
    shutil.copytree(first, out)
    meta = _score(grown, out, tiny_a, tiny_b, workers=1)
    assert meta["last_run"]["texts_scored"] == 0 and meta["n_texts"] == 12
    result, _ = open_corpus_run(out)
    before, _ = open_corpus_run(first)
    assert result.texts == [before.texts[1]] + before.texts
    shifted = before.words.assign(text_id=before.words["text_id"] + 1)
    _compare(result.words[result.words["text_id"] > 0].reset_index(drop=True), shifted)
    _compare(result.words[result.words["text_id"] == 0].drop(columns="text_id").reset_index(drop=True),
             before.words[before.words["text_id"] == 1].drop(columns="text_id").reset_index(drop=True))


@pytest.mark.parametrize(
    "name, content, says",
    [
        ("notes.txt", b"caf\xe9 au lait", "notes.txt is not valid UTF-8"),
        ("table.csv", b"id,body\n1,hello\n", "table.csv has no column 'text'"),
        ("broken.parquet", b"PAR1 not really", "broken.parquet could not be parsed as parquet"),
        ("data.xlsx", b"PK", "data.xlsx: unsupported file type"),
    ],
)
def test_bad_input_names_the_file(ray_local, corpus, tiny_a, tiny_b, tmp_path, capsys, name, content, says):
    from backend.__main__ import main

    folder = tmp_path / "corpus"
    shutil.copytree(corpus, folder)
    (folder / "sub" / name).write_bytes(content)
    argv = ["score", "--engine", "ray", "--model-a", str(tiny_a), "--model-b", str(tiny_b), "--input", str(folder), "--out", str(tmp_path / "out")]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and says in err[-1], err


def test_an_output_of_other_models_is_refused(scored, corpus, tiny_a, tmp_path):
    first, _ = scored
    out = tmp_path / "out"
    shutil.copytree(first, out)
    with pytest.raises(CorpusRunError, match="other model_b"):
        _score(corpus, out, tiny_a, tiny_a)


def test_import_into_the_run_store(scored, tmp_path):
    from backend.store.runs import RunStore

    out, meta = scored
    store = RunStore(tmp_path / "runs")
    run_id = import_corpus_run(out, name="corpus", store=store)
    loaded, run_meta = store.load(run_id)
    result, _ = open_corpus_run(out)
    assert loaded.texts == result.texts and len(loaded.tokens) == len(result.tokens)
    assert run_meta["model_a"] == meta["model_a"] and run_meta["settings"]["engine"] == "ray"
    assert store.list()["id"].tolist() == [run_id]


def test_an_unfinished_output_does_not_open(tmp_path):
    (tmp_path / "meta.json").write_text(json.dumps({"complete": False}))
    with pytest.raises(CorpusRunError, match="not complete"):
        open_corpus_run(tmp_path)
    with pytest.raises(InputError, match="no meta.json"):
        open_corpus_run(tmp_path / "nowhere")


def test_a_pair_sharing_a_vocabulary_gets_the_divergences_saved_and_imported(ray_local, corpus, tiny_a, tmp_path,
                                                                            isolated_cache):
    """Same tokenizer, other weights: the parts hold same_vocab/, as the CLI's score_models computes it, and
    import-run carries it into the run store. A pair of two vocabularies (the shared run) has none."""
    from backend.models.loading import load_model
    from backend.models.specs import ModelSpec
    from backend.scoring.same_vocab import compare_same_vocab
    from backend.store.corpus_output import open_same_vocab
    from backend.store.runs import RunStore
    from tiny_models import build_tiny_model

    twin = build_tiny_model(tmp_path / "twin", kind="gpt_neox", tokenizer="bytelevel", seed=3)
    only = tmp_path / "corpus"
    only.mkdir()
    shutil.copy(corpus / "a.txt", only / "a.txt")
    (only / "b.txt").write_text(CORPUS[0] + "\n")  # a text in two files: scored once, its rows under both ids
    out = tmp_path / "out"
    meta = _score(only, out, tiny_a, twin, workers=1, batch_tokens=16)  # several parts
    assert meta["same_vocab"] and len(list((out / "done").glob("part-*.json"))) >= 2
    same = open_same_vocab(out)
    texts, _ = read_corpus(only, split="paragraph")
    local = compare_same_vocab(load_model(ModelSpec(str(tiny_a))), load_model(ModelSpec(str(twin))), texts, SETTINGS)
    _compare(same, local)
    assert meta["n_same_vocab_rows"] == len(local)
    store = RunStore(tmp_path / "runs")
    run_id = import_corpus_run(out, store=store)
    pd.testing.assert_frame_equal(store.load_same_vocab(run_id), same)


def test_a_pair_of_two_vocabularies_has_no_divergences(scored):
    from backend.store.corpus_output import open_same_vocab

    out, meta = scored
    assert meta["same_vocab"] is False and "n_same_vocab_rows" not in meta
    assert open_same_vocab(out) is None and not list((out / "same_vocab").iterdir())
