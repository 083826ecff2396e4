"""Entailment with an NLI cross-encoder, for meaning clusters by bidirectional entailment.

Any sequence-classification model the user names (a folder or a hub id,
e.g. microsoft/deberta-large-mnli) whose config.id2label has an
"entailment" label. `Entailment` is the `entails(premise, hypothesis)`
callable that analysis.uncertainty.cluster_by_entailment takes: True when the
most likely label is entailment (strict: neutral is not entailment; the
clustering asks both directions). It also keeps each pair's entailment
probability, for the graph estimators of analysis/uncertainty_graph.py.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import threading
from collections.abc import Iterable, Sequence

import numpy as np

from backend.errors import ModelLoadError, first_line

DEFAULT_BATCH = 32  # pairs per forward
MAX_PAIR_TOKENS = 512  # NLI encoders are trained on short pairs; answers are short


def entailment_index(id2label: dict) -> int:
    """The class index whose label means entailment ("entailment", "ENTAILMENT", "entails", ...)."""
    labels = {int(i): str(name) for i, name in (id2label or {}).items()}
    for index, name in sorted(labels.items()):
        if name.strip().lower().startswith("entail"):
            return index
    shown = ", ".join(labels[i] for i in sorted(labels)) or "none"
    raise ModelLoadError(f"this classifier has no 'entailment' label (its labels: {shown}); pick an NLI model")


@dataclasses.dataclass
class NLIModel:
    name: str
    model: object  # AutoModelForSequenceClassification
    tokenizer: object
    entailment: int  # class index of entailment
    device: str = "cpu"
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)

    def probabilities(self, pairs: Sequence[tuple[str, str]], batch_size: int = DEFAULT_BATCH) -> np.ndarray:
        """Softmax class probabilities of each (premise, hypothesis) pair, shape [n, n_classes], float64."""
        import torch

        out = None
        limit = min(int(getattr(self.tokenizer, "model_max_length", MAX_PAIR_TOKENS) or MAX_PAIR_TOKENS), MAX_PAIR_TOKENS)
        with self.lock, torch.inference_mode():
            for start in range(0, len(pairs), batch_size):
                chunk = pairs[start : start + batch_size]
                encoded = self.tokenizer(
                    [p for p, _ in chunk], [h for _, h in chunk],
                    padding=True, truncation=True, max_length=limit, return_tensors="pt",
                ).to(self.device)
                # Softmax in float64 on the CPU: probabilities near 0 or 1 keep their digits.
                probs = torch.softmax(self.model(**encoded).logits.double(), dim=-1).cpu().numpy()
                if out is None:
                    out = np.zeros((len(pairs), probs.shape[1]))
                out[start : start + len(chunk)] = probs
        return np.zeros((0, 0)) if out is None else out

    def predict(self, pairs: Sequence[tuple[str, str]], batch_size: int = DEFAULT_BATCH) -> np.ndarray:
        """Most likely class index of each (premise, hypothesis) pair, shape [n]."""
        if not len(pairs):
            return np.zeros(0, dtype=np.int64)
        return self.probabilities(pairs, batch_size).argmax(-1).astype(np.int64)

    def entails_fn(self) -> "Entailment":
        return Entailment(self)


class Entailment:
    """entails(premise, hypothesis) -> bool, memoised; `prefetch` batches many pairs in one go.

    Greedy clustering asks one pair at a time, which is one forward each;
    prefetching every ordered pair of a prompt's distinct answers first turns
    that into a few batched forwards. The entailment PROBABILITY of every pair
    judged is kept too (`probability`): the graph uncertainty estimators build
    their similarity matrix from it.
    """

    def __init__(self, nli: NLIModel):
        self.nli = nli
        self.memo: dict[tuple[str, str], bool] = {}
        self.probabilities: dict[tuple[str, str], float] = {}  # p(entailment) of each judged pair
        self.calls = 0  # forwards asked of the model (pairs), for tests and progress

    def __call__(self, premise: str, hypothesis: str) -> bool:
        key = (premise, hypothesis)
        if key not in self.memo:
            self._run([key])
        return self.memo[key]

    def probability(self, premise: str, hypothesis: str) -> float:
        """p(entailment | premise, hypothesis) under the NLI model, memoised like __call__."""
        key = (premise, hypothesis)
        if key not in self.probabilities:
            self._run([key])
        return self.probabilities[key]

    def prefetch(self, texts: Iterable[str]) -> None:
        """Evaluate every ordered pair of distinct texts not yet known."""
        distinct = list(dict.fromkeys(texts))
        pairs = [p for p in itertools.permutations(distinct, 2) if p not in self.memo]
        if pairs:
            self._run(pairs)

    def _run(self, pairs: list[tuple[str, str]]) -> None:
        probs = self.nli.probabilities(pairs)
        self.calls += len(pairs)
        for pair, row in zip(pairs, probs):
            self.memo[pair] = bool(int(row.argmax()) == self.nli.entailment)
            self.probabilities[pair] = float(row[self.nli.entailment])


def load_nli(source: str, device: str = "cpu", allow_pickle: bool = False, trust_remote_code: bool = False) -> NLIModel:
    """Load an NLI cross-encoder. Raises ModelLoadError with a one-line reason."""
    source = (source or "").strip()
    if not source:
        raise ModelLoadError("no NLI model named")
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    is_local = os.path.isdir(os.path.expanduser(source))
    path = os.path.expanduser(source) if is_local else source
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
        model = AutoModelForSequenceClassification.from_pretrained(
            path, use_safetensors=None if allow_pickle else True, trust_remote_code=trust_remote_code
        )
    except Exception as error:  # noqa: BLE001 - hub, file and format errors all end here
        raise ModelLoadError(_explain(source, is_local, allow_pickle, error)) from error
    index = entailment_index(getattr(model.config, "id2label", None))
    model.to(device).eval()
    return NLIModel(name=source, model=model, tokenizer=tokenizer, entailment=index, device=device)


def _explain(source: str, is_local: bool, allow_pickle: bool, error: Exception) -> str:
    text = str(error)
    lowered = text.lower()
    if not is_local and any(s in lowered for s in ("offline", "connect", "resolve", "network", "cannot find the requested files", "not a valid model identifier", "repository not found", "404")):
        return (
            f"could not load NLI model {source!r}: not a local folder, and the Hugging Face hub is unreachable "
            "from here or has no such model"
        )
    if "safetensors" in lowered and not allow_pickle:
        return f"NLI model {source}: no safetensors weights (pickle checkpoints are refused unless allowed)"
    return f"could not load NLI model {source!r}: {first_line(error)[:300]}"
