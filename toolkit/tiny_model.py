"""The tiny test model (`gongmu model tiny`): a byte-level BPE tokenizer trained on a
folder of Korean text, with a ChatML template, and a randomly initialised Llama or Qwen2
of about 5M parameters. Tests and the quickstart train it for real."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import torch

from toolkit.errors import DataError, ModelError

END_OF_TURN = "<|im_end|>"
END_OF_TEXT = "<|endoftext|>"
TURN_START = "<|im_start|>"
PAD = "<|pad|>"

# ChatML, as Qwen-family models use it: one turn is <|im_start|>role\ncontent<|im_end|>\n.
TINY_CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


# --------------------------------------------------------------------------- tiny model


def read_texts(corpus: Path) -> list[str]:
    files = sorted(p for p in Path(corpus).rglob("*") if p.suffix in {".md", ".txt", ".jsonl"})
    texts = []
    for p in files:
        text = p.read_text(encoding="utf-8", errors="strict")
        texts.append(unicodedata.normalize("NFC", text))
    if not texts:
        raise DataError(
            f"{corpus} holds no .md, .txt or .jsonl files to train the tiny tokenizer on. "
            f"Give --corpus a folder of text files."
        )
    return texts


def build_tiny_model(
    corpus: Path,
    out: Path,
    *,
    arch: str = "llama",
    vocab_size: int = 4096,
    hidden_size: int = 256,
    layers: int = 4,
    heads: int = 4,
    kv_heads: int = 2,
    max_positions: int = 1024,
    seed: int = 0,
) -> dict:
    """Train a byte-level BPE tokenizer (NFC normaliser) on `corpus`, add special tokens
    and a ChatML chat template, and save a small randomly initialised causal LM in HF
    format (safetensors) to `out`. Returns a summary."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import (
        GenerationConfig,
        LlamaConfig,
        LlamaForCausalLM,
        PreTrainedTokenizerFast,
        Qwen2Config,
        Qwen2ForCausalLM,
    )

    texts = read_texts(Path(corpus))
    specials = [END_OF_TEXT, TURN_START, END_OF_TURN, PAD]
    bpe = Tokenizer(models.BPE())
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer=trainer)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token=END_OF_TURN,
        pad_token=PAD,
        additional_special_tokens=[END_OF_TEXT, TURN_START],
        model_max_length=max_positions,
        padding_side="right",
    )
    tok.chat_template = TINY_CHAT_TEMPLATE

    torch.manual_seed(seed)
    common = dict(
        vocab_size=len(tok),
        hidden_size=hidden_size,
        # A multiple of 64, so every matrix row splits into whole q8_0 blocks in GGUF.
        intermediate_size=(hidden_size * 8 // 3 + 63) // 64 * 64,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        max_position_embeddings=max_positions,
        tie_word_embeddings=False,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        bos_token_id=None,
    )
    if arch == "llama":
        config, cls = LlamaConfig(**common), LlamaForCausalLM
    elif arch == "qwen2":
        config, cls = Qwen2Config(**common), Qwen2ForCausalLM
    else:
        raise ModelError(f"Unknown tiny model architecture '{arch}': use llama or qwen2.")
    model = cls(config)
    model.generation_config = GenerationConfig(
        eos_token_id=[tok.eos_token_id, tok.convert_tokens_to_ids(END_OF_TEXT)],
        pad_token_id=tok.pad_token_id,
        do_sample=False,
    )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    n_params = sum(p.numel() for p in model.parameters())
    summary = {
        "path": str(out),
        "arch": arch,
        "parameters": n_params,
        "vocab_size": len(tok),
        "trained_on_files": len(texts),
        "eos": END_OF_TURN,
        "pad": PAD,
    }
    (out / "gongmu_tiny.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2))
    return summary
