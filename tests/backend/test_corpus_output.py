"""A corpus output folder is resumed only by the same models, settings and scorer version."""

from __future__ import annotations

import pytest

from backend.store.corpus_output import CorpusOutput, CorpusRunError
from backend.scoring.score import SCORER_VERSION

IDENTITY = {"model_a": "a", "model_b": "b", "settings": {"top_k": 5, "window": None, "stride": None}}


def test_a_folder_from_an_older_scorer_is_not_resumed(tmp_path):
    CorpusOutput(tmp_path / "out").prepare({**IDENTITY, "scorer_version": SCORER_VERSION - 1})
    with pytest.raises(CorpusRunError, match="scorer_version"):
        CorpusOutput(tmp_path / "out").prepare({**IDENTITY, "scorer_version": SCORER_VERSION})


def test_the_same_identity_resumes(tmp_path):
    CorpusOutput(tmp_path / "out").prepare({**IDENTITY, "scorer_version": SCORER_VERSION})
    CorpusOutput(tmp_path / "out").prepare({**IDENTITY, "scorer_version": SCORER_VERSION})  # no error
