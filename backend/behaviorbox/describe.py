"""Model-written descriptions of BehaviorBox features: the prompt, and an instruct model's answer."""

from __future__ import annotations

import pandas as pd

DESCRIBE_EXAMPLES = 20  # enough to show a pattern, short enough for a 135M model's context
DESCRIBE_PROMPT = (
    "Here are {n} short text snippets. In each one, a single word is marked like [[this]].\n\n{snippets}\n\n"
    "What do the marked words have in common, taking their context into account "
    "(the kind of word, what comes before it, the kind of text)? "
    "Answer with one short sentence."
)


def _snippet(left: str, word: str, right: str, width: int = 60) -> str:
    left = " ".join(left.split())[-width:]
    right = " ".join(right.split())[:width]
    word = word.replace("\n", "\\n").replace("\t", "\\t") if word.isspace() else word
    return f"…{left} [[{word}]] {right}…"


def describe_prompt(examples: pd.DataFrame, n: int = DESCRIBE_EXAMPLES) -> str:
    """The user message asking for a description: the n strongest examples
    (rows of examples_in_context for one feature) with the word marked."""
    ex = examples.sort_values("activation", ascending=False).head(n)
    snippets = "\n".join(
        f"{i + 1}. {_snippet(l, w, r)}" for i, (l, w, r) in enumerate(zip(ex["left"], ex["word_text"], ex["right"]))
    )
    return DESCRIBE_PROMPT.format(n=len(ex), snippets=snippets)


def describe_with_model(loaded, examples: pd.DataFrame, n: int = DESCRIBE_EXAMPLES, max_new_tokens: int = 60) -> str:
    """A description written by an instruct model (backend.models.loading.LoadedModel,
    e.g. smollm2-135m) from the feature's n strongest examples in context.
    Greedy decoding, under the model's lock. The caller must show it as
    model-written: a small model's guess, not a measurement."""
    import torch

    tok = loaded.tokenizer
    if not getattr(tok, "chat_template", None):
        raise ValueError(f"{loaded.spec.label} has no chat template: pick an instruct model to write descriptions")
    messages = [{"role": "user", "content": describe_prompt(examples, n)}]
    prompt = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    ids = tok(prompt, return_tensors="pt", add_special_tokens=False)
    device = next(loaded.model.parameters()).device
    with loaded.lock, torch.inference_mode():
        out = loaded.model.generate(
            input_ids=ids["input_ids"].to(device), attention_mask=ids["attention_mask"].to(device),
            max_new_tokens=max_new_tokens, do_sample=False,
            pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
        )
    text = tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)
    return " ".join(text.split()) or "(the model wrote nothing)"
