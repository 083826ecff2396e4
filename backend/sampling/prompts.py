"""What the model reads and where an answer stops: prompt format and chat template, EOS ids, single-line ends."""

from __future__ import annotations

import dataclasses

from backend.models.loading import LoadedModel
from backend.sampling.settings import SampleSettings


@dataclasses.dataclass
class ModelInput:
    text: str
    ids: list[int]
    chat_template: bool


def has_chat_template(tokenizer) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def model_input(tokenizer, prompt: str, settings: SampleSettings, bos_id: int | None | str = "declared") -> ModelInput:
    """The prompt as the model sees it.

    With a chat template (asked for, and the tokenizer has one): the prompt is
    the user's message and the template's own tokens follow (it places any
    BOS). Otherwise: [BOS] + the tokens of prompt_format with the prompt in
    it, as the scoring engine does (texts are data: special-token strings in
    them stay ordinary text). The format is for base models, which need a cue
    such as "Answer:" to answer rather than continue the question.
    """
    if settings.chat_template and has_chat_template(tokenizer):
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        return ModelInput(text, list(ids), True)
    content = settings.prompt_format.replace("{prompt}", prompt)
    ids = tokenizer(content, add_special_tokens=False, split_special_tokens=True)["input_ids"]
    bos = tokenizer.bos_token_id if bos_id == "declared" else bos_id  # the spec's bos= option, when given
    return ModelInput(content, ([] if bos is None else [bos]) + list(ids), False)


def stop_token_ids(loaded: LoadedModel) -> list[int]:
    """EOS ids from the generation config and the tokenizer (chat models often have several)."""
    ids: set[int] = set()
    config_eos = getattr(loaded.model.generation_config, "eos_token_id", None)
    for value in config_eos if isinstance(config_eos, (list, tuple)) else [config_eos]:
        if value is not None:
            ids.add(int(value))
    if loaded.tokenizer.eos_token_id is not None:
        ids.add(int(loaded.tokenizer.eos_token_id))
    return sorted(ids)


# --- single-line answers --------------------------------------------------------


class LineWatch:
    """Finds the token holding the first newline that follows non-blank text.

    Leading blank lines do not end an answer (a base model often starts with
    "\\n"); the token with the newline is dropped, so a piece such as "?\\n"
    loses its "?" too: text stays exactly the decoded kept tokens.
    """

    def __init__(self):
        self.seen_text = False

    def ends_line(self, piece: str) -> bool:
        for char in piece:
            if char == "\n" and self.seen_text:
                return True
            if not char.isspace():
                self.seen_text = True
        return False


def first_line_end(pieces: list[str]) -> int | None:
    """Index of the token that ends the first line, or None if no line ends."""
    watch = LineWatch()
    for i, piece in enumerate(pieces):
        if watch.ends_line(piece):
            return i
    return None
