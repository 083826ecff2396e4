"""Runs belong to the user who saved them: the store itself refuses another user's delete, trash or write,
and the trash moves a run aside in one rename, restores it, and purges it trash_days later."""

from __future__ import annotations

import json
import os
import sqlite3
import time

import pandas as pd
import pytest

from backend.behaviorbox.store import run_folder_of
from backend.models.loading import load_model
from backend.models.specs import ModelSpec
from backend.sampling.sampler import SampleResult, SampleSettings
from backend.scoring.pair import score_pair
from backend.store import runs as runs_module
from backend.store.catalog import CATALOG, LOCAL, TRASH, NotOwner
from backend.store.runs import RunNotFound, RunStore, purge_trash
from backend.store.samples import SampleStore

ALICE, BOB = "alice@lab.example", "bob@lab.example"
TEXTS = ["The quick brown fox.", "1 + 2 = 3"]


@pytest.fixture(scope="module")
def result(tiny_a, tiny_b):
    return score_pair(load_model(ModelSpec(str(tiny_a))), load_model(ModelSpec(str(tiny_b))), TEXTS)


@pytest.fixture
def two_runs(result, tmp_path, isolated_cache):
    """(root, alice's run id, bob's run id)."""
    root = tmp_path / "runs"
    a = RunStore(root, user=ALICE).save(result, "a", "b", {}, name="alice's")
    b = RunStore(root, user=BOB).save(result, "a", "b", {}, name="bob's")
    return root, a, b


def test_each_user_lists_and_opens_only_their_own_runs(two_runs):
    root, a, b = two_runs
    alice, bob = RunStore(root, user=ALICE), RunStore(root, user=BOB)
    assert alice.list()["id"].tolist() == [a] and bob.list()["id"].tolist() == [b]
    assert alice.list()["owner"].tolist() == [ALICE]
    alice.load(a)
    with pytest.raises(NotOwner, match="another user") as refused:
        alice.load(b)
    assert BOB not in str(refused.value)  # the refusal does not tell one user another's address
    with pytest.raises(NotOwner):
        alice.ranking(b)
    assert RunStore(root, user=LOCAL).list().empty  # no login: the one local user owns neither


def test_the_store_refuses_a_non_owner_delete_trash_and_write_even_when_runs_are_shared(two_runs):
    root, a, b = two_runs
    alice = RunStore(root, user=ALICE, share=True)
    assert set(alice.list()["id"]) == {a, b}  # shared: everyone's runs are listed and readable
    alice.load(b)
    with pytest.raises(NotOwner, match="only its owner can have it deleted"):
        alice.delete(b)
    with pytest.raises(NotOwner, match="moved to the trash"):
        alice.trash(b)
    with pytest.raises(NotOwner, match="changed"):
        alice.writable_folder(b)
    with pytest.raises(NotOwner):  # a BehaviorBox result is never written into a colleague's run
        run_folder_of(b, alice, write=True)
    assert run_folder_of(b, alice) == root / b  # reading it is fine
    bob = RunStore(root, user=BOB)
    assert bob.list()["id"].tolist() == [b]  # all of that left bob's run as it was
    bob.load(b)
    assert run_folder_of(a, alice, write=True) == root / a
    alice.delete(a)  # the owner may
    assert alice.list()["id"].tolist() == [b]


def test_runs_saved_before_owners_belong_to_local(result, tmp_path, isolated_cache):
    """A catalog without the owner column, and meta.json without an owner: the run is "local"'s."""
    root = tmp_path / "runs"
    run_id = RunStore(root).save(result, "a", "b", {}, name="old")
    meta_path = root / run_id / "meta.json"
    meta = json.loads(meta_path.read_text())
    del meta["catalog"]["owner"]
    meta_path.write_text(json.dumps(meta))
    with sqlite3.connect(root / CATALOG) as db:  # the catalog as it was: no owner column
        row = db.execute("SELECT id, name, created, model_a, model_b, settings, n_texts, n_tokens, size_bytes "
                         "FROM runs").fetchone()
        db.execute("DROP TABLE runs")
        db.execute("CREATE TABLE runs (id TEXT PRIMARY KEY, name TEXT, created TEXT, model_a TEXT, model_b TEXT,"
                   " settings TEXT, n_texts INTEGER, n_tokens INTEGER, size_bytes INTEGER)")
        db.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
    local = RunStore(root)
    assert local.list()["id"].tolist() == [run_id] and local.list()["owner"].tolist() == [LOCAL]
    assert RunStore(root, user=ALICE).list().empty  # a signed-in user sees it only when runs are shared
    assert RunStore(root, user=ALICE, share=True).list()["id"].tolist() == [run_id]
    with pytest.raises(NotOwner):
        RunStore(root, user=ALICE, share=True).trash(run_id)
    local.trash(run_id)
    local.restore(run_id)
    assert local.list()["id"].tolist() == [run_id]


def test_a_rebuilt_catalog_keeps_the_owners(two_runs):
    root, a, b = two_runs
    (root / CATALOG).write_bytes(b"not a database at all" * 100)
    alice = RunStore(root, user=ALICE)
    assert alice.notes  # rebuilt
    assert alice.list()["id"].tolist() == [a]
    with pytest.raises(NotOwner):
        alice.trash(b)


def test_trash_undo_restore(two_runs):
    root, a, b = two_runs
    alice, bob = RunStore(root, user=ALICE), RunStore(root, user=BOB)
    alice.trash(a)
    assert alice.list().empty and (root / TRASH / a).is_dir() and not (root / a).exists()
    with pytest.raises(RunNotFound):  # a trashed run opens through no id (links, pickers)
        alice.load(a)
    trashed = alice.trashed()
    assert trashed["id"].tolist() == [a] and trashed["name"].tolist() == ["alice's"]
    assert bob.trashed().empty  # nobody else sees it in their trash
    with pytest.raises(NotOwner):
        bob.restore(a)
    with pytest.raises(RunNotFound):
        alice.restore(b)  # not in the trash
    alice.restore(a)
    assert alice.list()["id"].tolist() == [a] and alice.trashed().empty
    assert alice.list()["owner"].tolist() == [ALICE]
    alice.load(a)
    assert bob.list()["id"].tolist() == [b]


def test_purge_deletes_only_runs_trashed_over_trash_days_ago(two_runs):
    root, a, b = two_runs
    RunStore(root, user=ALICE).trash(a)
    RunStore(root, user=BOB).trash(b)
    eight_days = time.time() - 8 * 86400
    os.utime(root / TRASH / a, (eight_days, eight_days))  # trashed a week and a day ago
    store = RunStore(root)
    assert store.purge_trash(7) == [a]
    assert not (root / TRASH / a).exists() and (root / TRASH / b).is_dir()
    assert RunStore(root, user=BOB).trashed()["id"].tolist() == [b]
    assert store.purge_trash(7, now=time.time() + 6 * 86400) == []  # a fake clock: six days on, still kept
    assert store.purge_trash(7, now=time.time() + 8 * 86400) == [b]
    assert not [p for p in (root / TRASH).iterdir()]


def test_the_app_start_purge_runs_at_most_hourly(two_runs, monkeypatch):
    root, a, _ = two_runs
    monkeypatch.setattr(runs_module, "_purged", {})
    RunStore(root, user=ALICE).trash(a)
    now = time.time()
    assert purge_trash(7, root, now=now) == []  # trashed just now
    assert purge_trash(7, root, now=now + 8 * 86400) == [a]
    RunStore(root, user=BOB).trash(RunStore(root, user=BOB).list()["id"].item())
    assert purge_trash(7, root, now=now + 8 * 86400 + 60) == []  # a minute later: not again
    assert len(purge_trash(7, root, now=now + 9 * 86400)) == 1


def test_samples_answer_only_the_user_who_sampled(tmp_path):
    settings = SampleSettings(n_samples=1, max_new_tokens=2)
    frame = pd.DataFrame({"x": [1]})
    result = SampleResult(prompts=frame, samples=frame, tokens=frame)
    SampleStore(tmp_path, user=ALICE).save(result, "spec", ["p"], settings)
    assert SampleStore(tmp_path, user=ALICE).find("spec", ["p"], settings) is not None
    assert SampleStore(tmp_path, user=BOB).find("spec", ["p"], settings) is None
    assert SampleStore(tmp_path, user=BOB, share=True).find("spec", ["p"], settings) is not None
