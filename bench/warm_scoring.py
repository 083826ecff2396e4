"""Warm scoring: Score to both heatmaps against the bare forward of both models, in one process, per stage.

  DUET_MODEL_CACHE=.cache/models .venv/bin/python -m bench.warm_scoring [--words 300] [--repeats 3] [--threads N]

Both embedded models are loaded once (backend/models/loading.py, as the app's resource cache does), and
warmed up. Then, alternating A B A B (--repeats times each, medians reported):

  (a) bare forward  model(**inputs) of both models under torch.inference_mode on the ids the scorer
                    feeds (BOS + the text's tokens): logits over the whole vocabulary, no statistics
  (b) Score to maps what ui/scoring_work.py and the token view do: backend/scoring/pair.score_models with a
                    fresh cache directory (cache lookup and write included), combine (word alignment,
                    summary), the run save, then the default heatmaps of ui/views.py (pair_heatmaps,
                    fragment, the two standalone HTML exports)

The stages of (b) are timed by wrapping the functions that do them (wall and CPU seconds each); "other"
is what the stages leave of (b)'s total. Goal (bench/README.md): (b) / (a) <= 1.5 and everything that
is not the forward under 1 s. Prints markdown tables; writes bench/results/warm_scoring-<time>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.ui_latency import make_text

STAGES = ["tokenize", "checks", "forward", "head stats", "table assembly", "score cache", "same-vocab verdict",
          "word alignment", "summary", "run save", "heatmap render"]


class Clock:
    """Wall and CPU seconds per stage, from wrapped functions (an outer stage does not count an inner one)."""

    def __init__(self):
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._depth = 0

    def reset(self) -> None:
        self.wall, self.cpu = {s: 0.0 for s in STAGES}, {s: 0.0 for s in STAGES}

    def wrap(self, owner, name: str, stage: str) -> None:
        inner = getattr(owner, name)

        @functools.wraps(inner)
        def timed(*args, **kwargs):
            if self._depth:  # inside another timed stage: counted there
                return inner(*args, **kwargs)
            self._depth += 1
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return inner(*args, **kwargs)
            finally:
                self._depth -= 1
                self.wall[stage] += time.perf_counter() - wall
                self.cpu[stage] += time.process_time() - cpu

        setattr(owner, name, timed)


def instrument(clock: Clock) -> None:
    import analysis.pair
    import backend.scoring.pair
    import backend.scoring.score as score
    import backend.store.score_cache as score_cache
    from analysis import heatmap
    from backend.scoring import word_start
    from backend.store.runs import RunStore

    clock.wrap(score, "tokenize_with_offsets", "tokenize")
    clock.wrap(score, "packing_allowed", "checks")
    clock.wrap(word_start, "of", "checks")
    clock.wrap(score, "forward_packed", "forward")
    clock.wrap(score, "forward_hidden", "forward")
    clock.wrap(score, "position_stats", "head stats")
    clock.wrap(score, "word_start_only", "head stats")
    clock.wrap(score._Scored, "arrays", "head stats")  # the host copy of the statistics
    clock.wrap(score, "_assemble", "table assembly")
    clock.wrap(backend.scoring.pair, "lookup", "score cache")
    clock.wrap(score_cache, "store", "score cache")
    clock.wrap(backend.scoring.pair, "_shared_vocabulary", "same-vocab verdict")
    clock.wrap(analysis.pair, "align_words", "word alignment")
    clock.wrap(analysis.pair, "summarize", "summary")
    clock.wrap(RunStore, "save", "run save")
    clock.wrap(heatmap, "pair_heatmaps", "heatmap render")
    clock.wrap(heatmap, "fragment", "heatmap render")
    clock.wrap(heatmap, "standalone_html", "heatmap render")


def bare_forward(models: dict, inputs: dict) -> None:
    import torch

    with torch.inference_mode():
        for side, loaded in models.items():
            loaded.model(**inputs[side])


def score_to_maps(models: dict, text: str) -> object:
    """ui/scoring_work.score_job's scoring and save, then ui/views._maps' default heatmaps and exports."""
    from analysis import heatmap
    from backend.scoring.pair import score_models
    from backend.scoring.score import ScoreSettings
    from backend.store.runs import RunStore

    settings = ScoreSettings(top_k=5)
    outcome = score_models(models, [text], settings, lambda *_: None, {})
    pair = outcome.pair
    RunStore().save(pair, str(models["a"].spec), str(models["b"].spec), settings.to_dict(), same_vocab=outcome.same_vocab)
    labels = (models["a"].spec.label, models["b"].spec.label)
    colouring = heatmap.offered_colourings(True, outcome.same_vocab is not None)[0]
    maps = heatmap.pair_heatmaps(text, 0, pair.tokens, pair.words, colouring, "tokens", "nats", labels,
                                 outcome.same_vocab)
    html = [heatmap.fragment(maps.legend)]
    for side, body in maps.maps.items():
        html.append(heatmap.fragment(body))
        html.append(heatmap.standalone_html(f"Duet · {side}", [("Legend", maps.legend), (side, body)], note="."))
    return pair, "".join(html)


@contextlib.contextmanager
def fresh_cache():
    before = os.environ.get("DUET_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="duet-warm-") as folder:
        os.environ["DUET_CACHE_DIR"] = folder
        try:
            yield folder
        finally:
            if before is None:
                os.environ.pop("DUET_CACHE_DIR", None)
            else:
                os.environ["DUET_CACHE_DIR"] = before


def timed(work) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = work()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--words", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--label", default="", help="a name for this run in the JSON (e.g. before, after)")
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from backend.models.loading import load_model
    from backend.models.specs import DEFAULT_PAIR, ModelSpec
    from backend.scoring.tokens import tokenize_with_offsets

    text = make_text(args.words, 1)
    models = {side: load_model(ModelSpec.parse(alias)) for side, alias in zip("ab", DEFAULT_PAIR)}
    inputs, n_tokens = {}, {}
    for side, loaded in models.items():
        ids = list(tokenize_with_offsets(loaded.tokenizer, [text])[0].ids)
        ids = ([loaded.bos_id] if loaded.bos_id is not None else []) + ids
        n_tokens[side] = len(ids)
        inputs[side] = {"input_ids": torch.tensor([ids]), "attention_mask": torch.ones(1, len(ids), dtype=torch.long)}
    clock = Clock()
    instrument(clock)
    with fresh_cache():  # warm-up: first calls, the packing check and word-start ids (kept with the models)
        bare_forward(models, inputs)
        clock.reset()
        score_to_maps(models, text)
    runs = {"bare": [], "pipeline": []}
    stages = []
    for _ in range(args.repeats):
        wall, cpu, _ = timed(lambda: bare_forward(models, inputs))
        runs["bare"].append((wall, cpu))
        with fresh_cache():
            clock.reset()
            wall, cpu, _ = timed(lambda: score_to_maps(models, text))
        runs["pipeline"].append((wall, cpu))
        stages.append((dict(clock.wall), dict(clock.cpu), wall, cpu))

    med = lambda xs: statistics.median(xs)  # noqa: E731
    bare_wall, bare_cpu = med([w for w, _ in runs["bare"]]), med([c for _, c in runs["bare"]])
    pipe_wall, pipe_cpu = med([w for w, _ in runs["pipeline"]]), med([c for _, c in runs["pipeline"]])
    rows = []
    for stage in STAGES:
        rows.append((stage, med([s[0][stage] for s in stages]), med([s[1][stage] for s in stages])))
    rows.append(("other", med([s[2] - sum(s[0].values()) for s in stages]),
                 med([s[3] - sum(s[1].values()) for s in stages])))
    not_forward = [(s[2] - s[0]["forward"] - s[0]["head stats"], s[3] - s[1]["forward"] - s[1]["head stats"])
                   for s in stages]
    print(f"{args.words}-word text; tokens A {n_tokens['a']}, B {n_tokens['b']}; torch threads "
          f"{torch.get_num_threads()}; {args.repeats} repeats alternating, medians\n")
    print("| stage of (b) | wall s | CPU s |\n| --- | ---: | ---: |")
    for stage, wall, cpu in rows:
        print(f"| {stage} | {wall:.3f} | {cpu:.3f} |")
    print(f"| **(b) Score to both heatmaps** | **{pipe_wall:.2f}** | **{pipe_cpu:.2f}** |")
    print(f"| (a) bare forward, both models | {bare_wall:.2f} | {bare_cpu:.2f} |")
    print(f"| (b) / (a) | {pipe_wall / bare_wall:.2f}× | {pipe_cpu / bare_cpu:.2f}× |")
    print(f"| (b) minus forward and head stats | {med([w for w, _ in not_forward]):.3f} | "
          f"{med([c for _, c in not_forward]):.3f} |")
    out = {
        "label": args.label, "words": args.words, "tokens": n_tokens, "threads": torch.get_num_threads(),
        "repeats": args.repeats, "bare": runs["bare"], "pipeline": runs["pipeline"],
        "stages": [{"wall": s[0], "cpu": s[1], "total_wall": s[2], "total_cpu": s[3]} for s in stages],
        "load_average": os.getloadavg(),
    }
    results = Path(__file__).resolve().parent / "results"
    results.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (results / f"warm_scoring-{stamp}.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
