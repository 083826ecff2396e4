"""Load a ModelSpec into a model + tokenizer, through the same path for every source.

GGUF files are dequantised by transformers at load time, which is slow (about
40 s for SmolLM2 and 120 s for Gemma on 2 cores). The first load saves the
result as safetensors under the cache folder; later loads, in any process,
read that and take seconds.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import threading
from pathlib import Path
from typing import Callable

from backend.errors import ModelLoadError, first_line
from backend.store import atomic
from backend.store.paths import model_cache_dir
from backend.models.specs import ModelSpec

Progress = Callable[[str], None]

# transformers imports torchao (variant=int8) on every load once it is installed, and torchao logs a
# warning for each optional CUDA kernel it cannot find; none is used here, and a user would read them
# as errors.
logging.getLogger("torchao").setLevel(logging.ERROR)
logging.getLogger("torch.utils._pytree").setLevel(logging.ERROR)  # torchao's enums, registered the old way

TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "tokenizer_config.json")
SAFE_WEIGHTS = (".safetensors", ".gguf")
PICKLE_WEIGHTS = (".bin", ".pt", ".pth", ".ckpt")


def bos_token_id(tokenizer, bos: str) -> int | None:
    """The id spec.bos names: auto = the tokenizer's declared BOS, none = None, else that token."""
    if bos == "auto":
        return tokenizer.bos_token_id
    if bos == "none":
        return None
    token_id = tokenizer.convert_tokens_to_ids(bos)
    # An unknown token maps to the unknown-token id; asking back which token that id is tells the
    # two apart (SmolLM2's unknown token is <|endoftext|> itself, a valid choice).
    if token_id is None or tokenizer.convert_ids_to_tokens(token_id) != bos:
        raise ModelLoadError(f"bos={bos!r} is not a token of this model's vocabulary; use auto, none or a token such as "
                             f"{tokenizer.eos_token or tokenizer.bos_token!r}")
    return int(token_id)


@dataclasses.dataclass
class LoadedModel:
    spec: ModelSpec  # resolved: concrete device and dtype
    model: object
    tokenizer: object
    # One lock around model calls: two browser sessions may share this object.
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)
    # Whether several texts may share one input (backend/scoring/packing.py); checked at first scoring.
    packing: bool | None = dataclasses.field(default=None, repr=False, compare=False)
    # Ids of the word-starting tokens (backend/scoring/word_start.py), built on first use.
    word_start: object = dataclasses.field(default=None, repr=False, compare=False)
    # The local folder the weights and tokenizer came from (None: the hub cache), for checks kept on disk.
    folder: str | None = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def device(self) -> str:
        return self.spec.device

    @property
    def bos_id(self) -> int | None:
        """The token put before every text (spec.bos; checked against the vocabulary at load)."""
        return bos_token_id(self.tokenizer, self.spec.bos)

    @property
    def max_context(self) -> int:
        config = self.model.config
        for name in ("max_position_embeddings", "n_positions", "max_sequence_length"):
            value = getattr(config, name, None)
            if isinstance(value, int) and value > 0:
                return value
        return 2048

    @property
    def vocab_size(self) -> int:
        from backend.scoring.head import head_vocab_size

        return head_vocab_size(self.model.get_output_embeddings())


def _say(progress: Progress | None, message: str) -> None:
    if progress is not None:
        progress(message)


def load_model(spec: ModelSpec, progress: Progress | None = None) -> LoadedModel:
    """Load and prepare a model. Raises ModelLoadError with a one-line reason."""
    import torch

    resolved = spec.resolved(torch.cuda.is_available())
    if resolved.device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelLoadError(f"{spec.label}: device {resolved.device} asked for, but no CUDA GPU is available")
    folder, revision = _materialise(resolved, progress)
    _say(progress, f"Loading {spec.label} ({resolved.dtype}, {resolved.device})")
    model, tokenizer = _from_pretrained(folder, resolved, revision)
    if resolved.variant == "int8":
        from backend.models.variants import quantize_int8

        _say(progress, f"Quantising {spec.label} to int8 (weight-only, per channel)")
        model = quantize_int8(model)
    elif resolved.variant == "int8-dynamic":
        from backend.models.variants import quantize_int8_dynamic

        _say(progress, f"Quantising {spec.label} to dynamic int8")
        model = quantize_int8_dynamic(model)
    elif resolved.variant == "prune":
        from backend.models.variants import prune_magnitude

        _say(progress, f"Pruning {spec.label} to {resolved.sparsity:.0%} sparsity")
        prune_magnitude(model, resolved.sparsity)
    model.eval()
    loaded = LoadedModel(spec=resolved, model=model, tokenizer=tokenizer,
                         folder=folder if resolved.kind != "hub" else None)
    loaded.bos_id  # a bos= option the vocabulary lacks fails here, at load, in one line
    if resolved.kind in ("embedded", "gguf"):
        from backend.scoring.packing import remembered_verdict

        # A converted model's folder pins its weights, so the packing check's verdict is kept beside
        # it (keyed by spec and library versions) and the check runs once per machine, not per load.
        loaded.packing = remembered_verdict(loaded)
    return loaded


def _materialise(spec: ModelSpec, progress: Progress | None) -> tuple[str, str | None]:
    """A folder from_pretrained can read (or a hub id), and the revision to ask for."""
    if spec.kind == "embedded":
        from backend.models.embedded import locate_gguf

        _say(progress, f"Locating embedded model {spec.source}")
        return _gguf_to_safetensors(locate_gguf(spec.source), progress), None
    if spec.kind == "gguf":
        path = Path(spec.source).expanduser()
        if not path.is_file():
            raise ModelLoadError(f"no GGUF file at {spec.source}")
        return _gguf_to_safetensors(path, progress), None
    if spec.kind == "folder":
        return _check_folder(Path(spec.source).expanduser(), spec), None
    _check_hub_reachable(spec)
    return spec.source, spec.revision


def _check_hub_reachable(spec: ModelSpec) -> None:
    """Fail in seconds, not after a minute of retries, when the hub cannot be reached.

    A model already in the local hub cache loads offline, so only probe when it is not.
    """
    import socket

    from huggingface_hub import constants, try_to_load_from_cache

    cached = try_to_load_from_cache(spec.source, "config.json", revision=spec.revision)
    if isinstance(cached, str):
        return
    unreachable = ModelLoadError(
        f"could not load {spec.source!r} from the Hugging Face hub: the hub is unreachable from this "
        "machine and the model is not in the local cache"
    )
    if constants.HF_HUB_OFFLINE:
        raise unreachable
    host = constants.ENDPOINT.split("://", 1)[-1].split("/", 1)[0]
    try:
        socket.create_connection((host, 443), timeout=3).close()
    except OSError:
        raise unreachable from None


def _check_folder(folder: Path, spec: ModelSpec) -> str:
    if not folder.is_dir():
        raise ModelLoadError(f"no model folder at {folder}")
    names = {p.name for p in folder.iterdir()}
    if not any(n.endswith(SAFE_WEIGHTS + PICKLE_WEIGHTS) for n in names):
        raise ModelLoadError(f"{folder} holds no model weights (.safetensors, or .bin with allow_pickle)")
    if not any(n.endswith(SAFE_WEIGHTS) for n in names) and not spec.allow_pickle:
        raise ModelLoadError(
            f"{folder} has only pickle weights (.bin/.pt), which can run code when loaded; "
            "turn on allow_pickle if you trust them"
        )
    if not names.intersection(TOKENIZER_FILES):
        raise ModelLoadError(f"{folder} has weights but no tokenizer (tokenizer.json or tokenizer_config.json)")
    return str(folder)


def _converted_folder(gguf: Path) -> Path:
    """The cache folder a GGUF file is converted into, keyed by its path, size and modification time."""
    stat = gguf.stat()
    key = hashlib.sha256(f"{gguf.resolve()}|{stat.st_size}|{int(stat.st_mtime)}".encode()).hexdigest()[:16]
    return model_cache_dir() / f"{gguf.stem}-{key}"


def needs_conversion(spec: ModelSpec) -> bool:
    """Whether loading spec first converts a GGUF file (minutes), i.e. this machine has not done it yet.
    False for folders and hub ids, and when the file is missing (the load then says why)."""
    if spec.kind not in ("embedded", "gguf"):
        return False
    if spec.kind == "gguf":
        gguf = Path(spec.source).expanduser()
    else:
        from backend.models.embedded import locate_gguf

        try:
            gguf = locate_gguf(spec.source)
        except ModelLoadError:
            return False
    if not gguf.is_file():
        return False
    return not (_converted_folder(gguf) / "config.json").is_file()


def _gguf_to_safetensors(gguf: Path, progress: Progress | None) -> str:
    """Dequantise a GGUF file once into a safetensors folder under the cache; return that folder."""
    target = _converted_folder(gguf)
    if (target / "config.json").is_file():
        return str(target)
    _check_gguf_header(gguf)
    _say(progress, f"First load of {gguf.name}: dequantising GGUF (a minute or two; cached afterwards)")
    from transformers import AutoModelForCausalLM, AutoTokenizer
    import torch

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    except Exception as error:  # gguf raises many kinds on a damaged file
        raise ModelLoadError(f"could not read GGUF file {gguf}: {first_line(error)[:300]}") from error
    _say(progress, f"Saving {gguf.name} as safetensors in {target.parent}")
    # The weights are plain float32 tensors now; drop the GGUF "quantizer" marker,
    # which would otherwise make save_pretrained refuse.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    # Whole or absent (a crash leaves no half-written cache entry); a concurrent
    # conversion that finished first is kept.
    with atomic.folder(target, replace=False) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
    return str(target)


def _check_gguf_header(path: Path) -> None:
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic != b"GGUF":
        raise ModelLoadError(f"{path} is not a GGUF file (bad magic bytes {magic!r})")


SPECIAL_TOKEN_KEYS = ("bos_token", "eos_token", "unk_token", "pad_token", "mask_token", "sep_token", "cls_token",
                      "additional_special_tokens")


def fast_tokenizer(folder: str | Path):
    """The tokenizer of a converted model folder, straight from its tokenizer.json and the special tokens
    its tokenizer_config.json (or special_tokens_map.json) names: well under a second, where
    AutoTokenizer takes about 3 s for Gemma here resolving its class and files
    (bench/tokenizer_load.py checks that both tokenise alike)."""
    from transformers import PreTrainedTokenizerFast

    folder = Path(folder)
    config: dict = {}
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        if (folder / name).is_file():
            config.update(json.loads((folder / name).read_text()))
    specials = {k: _token_text(config[k]) for k in SPECIAL_TOKEN_KEYS if config.get(k) is not None}
    extra = {k: config[k] for k in ("model_max_length", "padding_side", "clean_up_tokenization_spaces") if k in config}
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(folder / "tokenizer.json"), **specials, **extra)
    # The chat template too (save_pretrained writes it to chat_template.jinja): without it an instruct model
    # is prompted like a base model, and SmolLM2-Instruct then answers with <|im_end|> at once.
    template = folder / "chat_template.jinja"
    if template.is_file():
        tokenizer.chat_template = template.read_text()
    elif config.get("chat_template"):
        tokenizer.chat_template = config["chat_template"]
    return tokenizer


def _token_text(value):
    """A special token as saved: a string, a serialised AddedToken ({"content": ...}), or a list of them."""
    if isinstance(value, list):
        return [_token_text(v) for v in value]
    return value["content"] if isinstance(value, dict) else value


def _from_pretrained(source: str, spec: ModelSpec, revision: str | None):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = getattr(torch, spec.dtype)
    kwargs = dict(revision=revision, trust_remote_code=spec.trust_remote_code)
    try:
        if spec.kind in ("embedded", "gguf") and (Path(source) / "tokenizer.json").is_file():
            tokenizer = fast_tokenizer(source)  # a converted folder this module wrote: its tokenizer.json is whole
        else:
            tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(
            source,
            dtype=dtype,
            use_safetensors=None if spec.allow_pickle else True,
            **kwargs,
        )
    except ModelLoadError:
        raise
    except Exception as error:
        raise ModelLoadError(_explain_load_error(source, spec, error)) from error
    if not getattr(tokenizer, "is_fast", False):
        raise ModelLoadError(f"{spec.label}: Duet needs a fast tokenizer (for exact character offsets)")
    return model.to(spec.device), tokenizer


def _explain_load_error(source: str, spec: ModelSpec, error: Exception) -> str:
    text = str(error)
    lowered = text.lower()
    if spec.kind == "hub":
        if any(s in lowered for s in ("offline", "connect", "resolve", "network", "cannot find the requested files")):
            return (
                f"could not load {source!r} from the Hugging Face hub: the hub is unreachable from this "
                "machine and the model is not in the local cache"
            )
        if "not a valid model identifier" in lowered or "repository not found" in lowered or "404" in lowered:
            return f"unknown model {source!r}: no such model on the Hugging Face hub (and not a local path)"
        if "trust_remote_code" in lowered:
            return f"{source!r} needs custom code from its repository; turn on trust_remote_code if you trust it"
    if spec.allow_pickle and any(s in lowered for s in ("weights only load failed", "unpickl", "invalid load key", "pickle")):
        return _explain_bad_pickle(source, text)
    if "safetensors" in lowered and not spec.allow_pickle:
        return f"{source}: no safetensors weights; turn on allow_pickle to load pickle checkpoints you trust"
    return f"could not load {spec.label}: {first_line(error)[:300]}"



def _explain_bad_pickle(source: str, text: str) -> str:
    """A pickle checkpoint torch could not read: name the file and torch's own reason, not its advice
    to turn weights_only off (Duet never does)."""
    folder = Path(source)
    files = sorted(p.name for p in folder.iterdir() if p.name.endswith(PICKLE_WEIGHTS)) if folder.is_dir() else []
    where = folder / files[0] if len(files) == 1 else folder
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # torch's message ends with the unpickler's reason ("Unsupported operand 103", "invalid load key")
    reason = next((line for line in reversed(lines) if "unpickler error" not in line.lower()
                   and not line.lower().startswith(("check the documentation", "please file"))), lines[-1] if lines else "")
    if "weights only load failed" in reason.lower():
        reason = "not a checkpoint torch can read"
    return f"{where} is damaged or not a PyTorch checkpoint ({reason[:200]})"
