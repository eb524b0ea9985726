"""Models and tokenizers: loading local model directories safely, and building the tiny
test model (`gongmu model tiny`) that tests and the quickstart train for real."""

from __future__ import annotations

import hashlib
import json
import logging
import unicodedata
from pathlib import Path

import torch

from toolkit.errors import DataError, ModelError
from toolkit.recipe import ModelSection

log = logging.getLogger(__name__)

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

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


# --------------------------------------------------------------------------- loading


def check_model_dir(path: Path | None) -> Path:
    if path is None:
        raise ModelError("model.path is not set: point it at a local model directory.")
    if not (Path(path) / "config.json").is_file():
        raise ModelError(
            f"{path} is not a local Hugging Face model directory (no config.json). gongmu "
            f"never downloads models: copy the model to a local folder first."
        )
    weights = list(Path(path).glob("*.safetensors"))
    if not weights:
        pickles = [p.name for p in Path(path).glob("*.bin")] + [
            p.name for p in Path(path).glob("*.pt")
        ]
        raise ModelError(
            f"{path} has no .safetensors weights"
            + (f" (only pickle files: {', '.join(pickles)})" if pickles else "")
            + ". gongmu loads safetensors only, since pickle weights can run code when "
            "loaded; convert the checkpoint to safetensors first."
        )
    return Path(path)


def load_tokenizer(section: ModelSection, path: Path | None = None):
    """The model's tokenizer with a pad token distinct from eos and a chat template."""
    from transformers import AutoTokenizer

    path = check_model_dir(path or section.path)
    tok = AutoTokenizer.from_pretrained(
        path, local_files_only=True, trust_remote_code=section.trust_remote_code
    )
    if section.chat_template is not None:
        tok.chat_template = section.chat_template.read_text(encoding="utf-8")
    if not tok.chat_template:
        raise ModelError(
            f"The tokenizer in {path} has no chat template. Set model.chat_template to a "
            f"Jinja template file."
        )
    if tok.eos_token is None:
        raise ModelError(f"The tokenizer in {path} has no eos token; set one in its config.")
    if tok.pad_token is None or tok.pad_token_id == tok.eos_token_id:
        # A pad equal to eos gets masked out of the labels, and the model never learns to
        # stop. Use a reserved pad token the vocabulary already has, if there is one.
        candidates = [t for t in tok.all_special_tokens + list(tok.get_added_vocab())
                      if "pad" in t.lower() and t != tok.eos_token]
        if not candidates:
            raise ModelError(
                f"The tokenizer in {path} has no pad token distinct from its eos token "
                f"({tok.eos_token}). Training with pad = eos teaches the model never to stop; "
                f"add a pad token to the tokenizer first."
            )
        tok.pad_token = candidates[0]
    return tok


def bnb_config(qlora, quant_storage: str | None = None):
    """BitsAndBytesConfig for a QLoRA base: 4-bit weights, `qlora.compute_dtype` matmuls.
    `quant_storage` packs the 4-bit data in that float dtype instead of uint8: FSDP shards
    only float tensors of one dtype (FSDP-QLoRA); the bytes and the results are the same."""
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type=qlora.quant_type,
        bnb_4bit_use_double_quant=qlora.double_quant,
        bnb_4bit_compute_dtype=DTYPES[qlora.compute_dtype],
        bnb_4bit_quant_storage=DTYPES[quant_storage] if quant_storage else torch.uint8,
    )


def load_model(section: ModelSection, dtype: str | None = None, path: Path | None = None,
               qlora=None, attn_implementation: str | None = None,
               quant_storage: str | None = None):
    """Load a causal LM from a local directory: safetensors only, no remote code unless
    the recipe opts in; 4-bit (bitsandbytes) when `qlora` settings are given."""
    from transformers import AutoModelForCausalLM

    path = check_model_dir(path or section.path)
    extra = {"quantization_config": bnb_config(qlora, quant_storage)} if qlora is not None else {}
    if attn_implementation is not None:
        extra["attn_implementation"] = attn_implementation
    elif section.attn_implementation != "auto":
        extra["attn_implementation"] = section.attn_implementation
    if section.trust_remote_code:
        from toolkit.artifacts import sha256_file

        code = {p.name: sha256_file(p) for p in sorted(Path(path).glob("*.py"))}
        log.warning("model.trust_remote_code is on: running Python code shipped in %s: %s",
                    path, ", ".join(f"{k} sha256 {v}" for k, v in code.items()) or "no .py files")
    model, info = AutoModelForCausalLM.from_pretrained(
        path,
        local_files_only=True,
        use_safetensors=True,
        trust_remote_code=section.trust_remote_code,
        dtype=DTYPES[dtype or section.dtype],
        output_loading_info=True,
        **extra,
    )
    # transformers initialises missing weights randomly and only logs it; here that is
    # an error, since it would train or serve a model nobody trained.
    broken = list(info.get("missing_keys") or []) + [
        str(k) for k in info.get("mismatched_keys") or []
    ]
    if broken:
        raise ModelError(
            f"The checkpoint in {path} lacks or mis-shapes weights the model needs: "
            f"{', '.join(sorted(broken)[:8])}{' …' if len(broken) > 8 else ''}. The download or "
            f"conversion is incomplete; copy the model again."
        )
    if info.get("unexpected_keys"):
        log.warning("%s holds weights the model does not use: %s", path,
                    ", ".join(sorted(info["unexpected_keys"])[:8]))
    if qlora is not None:
        keep_4bit_inference_in_compute_dtype(model)
    return model


def keep_4bit_inference_in_compute_dtype(model) -> None:
    """On CPUs with AVX512-BF16, bitsandbytes repacks a 4-bit layer on its first forward
    without gradients and from then on computes it in bf16, whatever the compute dtype.
    The 4-bit model would then score and compare in another precision than it trained
    in; keep it on the dequantise-and-matmul path that training uses."""
    for module in model.modules():
        if hasattr(module, "support_avx512bf16_for_cpu"):
            module.support_avx512bf16_for_cpu = False


def trained_weights_dir(method: str) -> str:
    """The train stage's weights folder: `model/` for full fine-tuning, else `adapter/`."""
    return "model" if method == "full" else "adapter"


def load_tuned_model(section: ModelSection, train_dir: Path, method: str, base=None,
                     dtype: str = "float32"):
    """The trained model of a train stage folder: the full checkpoint in `model/`, or the
    base (`base`, else loaded from `section`) with the PEFT adapter in `adapter/`."""
    weights = Path(train_dir) / trained_weights_dir(method)
    if method == "full":
        return load_model(section, dtype=dtype, path=weights)
    from peft import PeftModel

    if base is None:
        base = load_model(section, dtype=dtype)
    return PeftModel.from_pretrained(base, weights)


def check_base_unchanged(model_path: Path, train_dir: Path) -> None:
    """Refuse when the base weights differ from those the adapter in `train_dir` was
    trained on: scoring or merging it onto other weights describes a model nobody trained."""
    from toolkit.artifacts import read_json
    from toolkit.errors import ArtifactError

    trained_on = read_json(Path(train_dir) / "base_model.json")
    now = model_fingerprint(model_path)
    if now["sha256"] != trained_on["sha256"]:
        changed = sorted(
            name for name in set(now["files"]) | set(trained_on["files"])
            if now["files"].get(name) != trained_on["files"].get(name)
        )
        raise ArtifactError(
            f"The base model in {model_path} changed since the adapter was trained (files "
            f"differing: {', '.join(changed)}). Use the weights the adapter was trained on, or "
            f"re-run `gongmu train` on these."
        )


def model_fingerprint(path: Path) -> dict:
    """sha256 of every file of a model directory, and one digest over them all, so a
    manifest says exactly which base weights a stage used."""
    from toolkit.artifacts import sha256_file

    path = Path(path)
    files = {
        p.relative_to(path).as_posix(): sha256_file(p)
        for p in sorted(path.rglob("*")) if p.is_file()
    }
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
    return {"path": str(path), "sha256": digest, "files": files}


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
