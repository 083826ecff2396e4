"""Writes tests/data/old_run/ with the code of the commit it is run on."""
import shutil, sys
from pathlib import Path
sys.path.insert(0, "tests")
import numpy as np, pandas as pd
from tiny_models import build_tiny_model
from backend.models.loading import load_model
from backend.models.specs import ModelSpec
from backend.scoring.pair import score_pair
from backend.store.runs import RunStore
from backend.store.samples import SampleStore, cached_sample_prompts
from backend.sampling.sampler import SampleSettings
from backend.behaviorbox import run as R

out = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/data/old_run"); shutil.rmtree(out, ignore_errors=True)
tmp = Path("/tmp/store-old-models"); shutil.rmtree(tmp, ignore_errors=True)
a = load_model(ModelSpec(str(build_tiny_model(tmp / "a", kind="llama", tokenizer="bytelevel", seed=0))))
b = load_model(ModelSpec(str(build_tiny_model(tmp / "b", kind="gpt_neox", tokenizer="metaspace", seed=1, bos=False))))
result = score_pair(a, b, ["The quick brown fox.", "1 + 2 = 3"])
runs = RunStore(out / "runs")
run_id = runs.save(result, "tiny-a", "tiny-b", {"top_k": 5}, name="old run")
from analysis import behaviorbox as B
words = R.usable_words(result.words)
top = pd.DataFrame({"feature": [0, 0, 0, 1, 1, 1], "rank": [0, 1, 2, 0, 1, 2], "row": [0, 1, 2, 3, 4, 5],
                    "activation": [3.0, 2.0, 1.5, 1.0, 0.9, 0.8]})
examples = B.feature_examples(top, words, 50, 25.0, 0.25)
examples.insert(3, "word_row", words.index.to_numpy()[examples["row"].to_numpy()])
stats = B.stats_from_examples(examples)
stats = stats.merge(B.context_check(examples, stats), on="feature", how="left")
bb = R.BehaviorBoxResult(
    settings=R.resolve(R.BehaviorBoxSettings(), len(words)), n_words=len(words), stats=stats, examples=examples,
    history={"loss": [1.0, 0.5]}, timings={"embedding": 0.1}, encoder="fake", model_descriptions={0: {"text": "digits", "model": "m"}},
)
R.save_behaviorbox(bb, runs.root / run_id, vectors=np.ones((len(words), 4), np.float32), words_key="k")
samples = SampleStore(out / "sample_runs")
spec = a.spec
cached_sample_prompts(spec, lambda: a, ["The quick"], SampleSettings(n_samples=1, max_new_tokens=3), model="a", store=samples)
print(run_id)
