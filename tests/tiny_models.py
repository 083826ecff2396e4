"""Tiny random-weight causal LMs with real fast tokenizers, saved like a user's folder.

They load through the same path users take (backend.models.loading.load_model on a
folder), in well under a second, so most tests need no pretrained weights.
"""

from __future__ import annotations

from pathlib import Path

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "def add(a, b):\n    return a + b\n",
    "1 + 2 = 3, and 12 * 12 = 144.",
    "Alice: How are you?\nBob: Fine, thanks!",
    "Prices rose by $5.20 (about 3%) in 2024; naïve café résumé — ok…",
    "- apples\n- pears\n- plums",
]


def _byte_level_tokenizer(vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<pad>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(CORPUS * 5, trainer)
    return tok


def _metaspace_tokenizer(vocab_size: int):
    """Sentencepiece-style (▁ for spaces, byte fallback), like Llama 2 and Gemma."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(byte_fallback=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="never")
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()])
    bytes_ = [f"<0x{i:02X}>" for i in range(256)]
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<pad>", "<s>", "</s>"] + bytes_)
    tok.train_from_iterator(CORPUS * 5, trainer)
    return tok


def build_tiny_model(folder: Path, kind: str = "llama", tokenizer: str = "bytelevel", seed: int = 0, bos: bool = True) -> Path:
    """Save a tiny model + tokenizer into folder and return it."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, PreTrainedTokenizerFast

    raw = _byte_level_tokenizer(300) if tokenizer == "bytelevel" else _metaspace_tokenizer(400)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        bos_token="<s>" if bos else None,
        eos_token="</s>",
        pad_token="<pad>",
    )
    vocab = raw.get_vocab_size()
    torch.manual_seed(seed)
    if kind == "llama":
        config = AutoConfig.for_model(
            "llama", vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
            bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id,
            tie_word_embeddings=False,
        )
    elif kind == "gpt_neox":
        config = AutoConfig.for_model(
            "gpt_neox", vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
            num_attention_heads=4, max_position_embeddings=256,
            bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id,
        )
    else:
        raise ValueError(kind)
    model = AutoModelForCausalLM.from_config(config)
    with torch.no_grad():  # random init is near-uniform; sharpen it so ranks and top-k mean something
        model.get_output_embeddings().weight.mul_(20.0)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    fast.save_pretrained(folder)
    return folder
