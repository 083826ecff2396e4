import pytest

from backend.models.specs import ModelSpec, SpecError


def test_string_form_round_trips_and_is_canonical():
    spec = ModelSpec("org/model", revision="abc", variant="prune", sparsity=0.5, trust_remote_code=True)
    text = str(spec)
    assert text == "org/model?revision=abc&sparsity=0.5&trust_remote_code=1&variant=prune"
    assert ModelSpec.parse(text) == spec
    assert str(ModelSpec("smollm2-135m")) == "smollm2-135m"


def test_kinds(tmp_path):
    assert ModelSpec("gemma3-270m").kind == "embedded"
    assert ModelSpec("/x/model.gguf").kind == "gguf"
    assert ModelSpec(str(tmp_path)).kind == "folder"
    assert ModelSpec("HuggingFaceTB/SmolLM2-135M").kind == "hub"


def test_auto_resolves_by_device():
    assert ModelSpec("m").resolved(cuda_available=False).dtype == "float32"
    on_gpu = ModelSpec("m").resolved(cuda_available=True)
    assert (on_gpu.device, on_gpu.dtype) == ("cuda", "bfloat16")
    assert ModelSpec("m", variant="int8-dynamic").resolved(True).device == "cpu"
    assert ModelSpec("m", variant="int8").resolved(True).device == "cuda"  # weight-only int8 runs on a GPU


@pytest.mark.parametrize(
    "text", ["", "m?dtype=float8", "m?variant=zip", "m?variant=prune", "m?variant=prune&sparsity=1.5", "m?colour=red", "m?sparsity=x"]
)
def test_bad_specs_are_refused_with_a_reason(text):
    with pytest.raises(SpecError):
        ModelSpec.parse(text)


def test_labels_tell_configurations_of_one_model_apart():
    specs = ["smollm2-135m", "smollm2-135m?bos=<|endoftext|>", "smollm2-135m?dtype=bfloat16",
             "smollm2-135m?variant=int8", "smollm2-135m?variant=prune&sparsity=0.5", "org/model?revision=abc123"]
    labels = [ModelSpec.parse(s).label for s in specs]
    assert len(set(labels)) == len(labels)
    assert labels[0] == "smollm2-135m" and labels[1] == "smollm2-135m (bos <|endoftext|>)"
    assert labels[4] == "smollm2-135m (pruned 50%)" and labels[5] == "org/model@abc123"
    # device is not in the label: it changes speed, not the numbers beyond rounding
    assert ModelSpec.parse("smollm2-135m?device=cpu").label == "smollm2-135m"
