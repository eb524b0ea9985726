"""GGUF for llama.cpp and Ollama, written with the `gguf` package from a merged HF
checkpoint, and read back to check it.

Supported: the Llama and Qwen2 families, with byte-level BPE tokenizers whose
pre-tokenizer llama.cpp knows (GPT-2, Qwen2, Llama 3). Types: f16, bf16, q8_0; norms and
biases stay f32, and a matrix whose rows are not a multiple of 32 stays f16 in q8_0.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from toolkit.errors import ModelError

ARCHES = {"llama": "LLAMA", "qwen2": "QWEN2"}
FILE_TYPES = {"f16": "MOSTLY_F16", "bf16": "MOSTLY_BF16", "q8_0": "MOSTLY_Q8_0"}
Q8_BLOCK = 32

# Regexes of the pre-tokenizers llama.cpp implements, as HF tokenizer.json writes them.
_QWEN2_SPLIT = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
_LLAMA3_SPLIT = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"


def llama_cpp_pre_tokenizer(tokenizer_json: dict) -> str:
    """The llama.cpp pre-tokenizer name matching this HF tokenizer, or ModelError."""
    pre = tokenizer_json.get("pre_tokenizer") or {}
    steps = pre.get("pretokenizers", [pre]) if pre.get("type") == "Sequence" else [pre]
    if len(steps) == 1 and steps[0].get("type") == "ByteLevel" and steps[0].get("use_regex", True):
        return "gpt-2"
    splits = [s for s in steps if s.get("type") == "Split"]
    if splits:
        regex = (splits[0].get("pattern") or {}).get("Regex")
        if regex == _QWEN2_SPLIT:
            return "qwen2"
        if regex == _LLAMA3_SPLIT:
            return "llama-bpe"
    raise ModelError(
        "The tokenizer's pre-tokenizer is not one llama.cpp implements here (GPT-2, Qwen2, "
        "Llama 3), so a GGUF would tokenize differently from the trained model. Leave gguf "
        "out of export.gguf for this model."
    )


def _permute_for_llama(weights: np.ndarray, n_head: int) -> np.ndarray:
    # HF Llama rotates halves (NeoX order); llama.cpp's LLAMA arch rotates interleaved
    # pairs, so q and k rows are reordered head by head.
    return (
        weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def _rope_parameters(config) -> dict:
    # transformers 5 reads a config.json's rope_scaling + rope_theta into rope_parameters.
    return dict(getattr(config, "rope_parameters", None) or getattr(config, "rope_scaling", None)
                or {})


def _rope_theta(config) -> float:
    params = _rope_parameters(config)
    return float(params.get("rope_theta") or getattr(config, "rope_theta", None) or 10000.0)


def _head_dim(config) -> int:
    return getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads


ROPE_FREQS = "rope_freqs.weight"


def llama3_rope_factors(config) -> np.ndarray | None:
    """The per-frequency divisors of Llama 3.1's "llama3" RoPE scaling, as llama.cpp's
    converter stores them in the `rope_freqs` tensor (llama.cpp divides each rotary
    frequency by its factor); None for a model without that scaling.

    For frequency f = theta^(-2i/d), wavelength w = 2*pi/f, original context L
    (original_max_position_embeddings), `factor`, and low/high frequency factors a/b:
    w < L/b keeps f (1); w > L/a divides it by `factor`; in between, with
    s = (L/w - a)/(b - a), the scaled frequency is (1-s)*f/factor + s*f, a divisor of
    1/((1-s)/factor + s)."""
    params = _rope_parameters(config)
    if str(params.get("rope_type", params.get("type", ""))).lower() != "llama3":
        return None
    dim = _head_dim(config)
    freqs = 1.0 / (_rope_theta(config) ** (np.arange(0, dim, 2, dtype=np.float64) / dim))
    factor = float(params.get("factor", 8.0))
    low, high = float(params.get("low_freq_factor", 1.0)), float(params.get("high_freq_factor", 4.0))
    original = float(params.get("original_max_position_embeddings", 8192))
    wavelen = 2 * np.pi / freqs
    smooth = (original / wavelen - low) / (high - low)
    factors = np.where(wavelen < original / high, 1.0,
                       np.where(wavelen > original / low, factor,
                                1.0 / ((1 - smooth) / factor + smooth)))
    return factors.astype(np.float32)


def write_gguf(model_dir: Path, out: Path, qtype: str, name: str) -> dict:
    """Write `model_dir` (merged HF safetensors) as GGUF of `qtype` to `out`."""
    import gguf
    import torch
    from safetensors import safe_open
    from transformers import AutoConfig, AutoTokenizer

    config = AutoConfig.from_pretrained(model_dir, local_files_only=True)
    if config.model_type not in ARCHES:
        raise ModelError(
            f"GGUF export supports the {', '.join(ARCHES)} families; this model is "
            f"'{config.model_type}'. Leave gguf out of export.gguf."
        )
    tok = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    tok_json = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))
    pre = llama_cpp_pre_tokenizer(tok_json)
    arch = getattr(gguf.MODEL_ARCH, ARCHES[config.model_type])
    arch_name = gguf.MODEL_ARCH_NAMES[arch]
    writer = gguf.GGUFWriter(out, arch_name)
    writer.add_name(name)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_rope_freq_base(_rope_theta(config))
    writer.add_rope_dimension_count(_head_dim(config))
    writer.add_file_type(getattr(gguf.LlamaFileType, FILE_TYPES[qtype]))

    # Tokenizer: byte-level BPE ("gpt2" in llama.cpp), tokens by id, merges, special ids.
    vocab_size = config.vocab_size
    by_id = {i: t for t, i in tok.get_vocab().items()}
    special = set(tok.all_special_ids)
    added = set(tok.get_added_vocab().values())
    tokens, types = [], []
    for i in range(vocab_size):
        if i in by_id:
            tokens.append(by_id[i])
            types.append(gguf.TokenType.CONTROL if i in special
                         else gguf.TokenType.USER_DEFINED if i in added else gguf.TokenType.NORMAL)
        else:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
    merges = tok_json["model"].get("merges", [])
    merges = [" ".join(m) if isinstance(m, list) else m for m in merges]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_eos_token_id(tok.eos_token_id)
    writer.add_eot_token_id(tok.eos_token_id)
    writer.add_pad_token_id(tok.pad_token_id)
    if tok.bos_token_id is not None:
        writer.add_bos_token_id(tok.bos_token_id)
    writer.add_add_bos_token(False)
    writer.add_chat_template(tok.chat_template)

    name_map = gguf.get_tensor_name_map(arch, config.num_hidden_layers)
    kept_f16 = []
    weight_files = sorted(model_dir.glob("*.safetensors"))
    for path in weight_files:
        with safe_open(path, framework="pt") as fh:
            for key in fh.keys():
                data = fh.get_tensor(key).to(torch.float32).numpy()
                new = name_map.get_name(key, try_suffixes=(".weight", ".bias"))
                if new is None:
                    raise ModelError(f"No GGUF name for tensor {key}; this export cannot be made.")
                if config.model_type == "llama" and key.endswith("self_attn.q_proj.weight"):
                    data = _permute_for_llama(data, config.num_attention_heads)
                elif config.model_type == "llama" and key.endswith("self_attn.k_proj.weight"):
                    data = _permute_for_llama(data, config.num_key_value_heads)
                if data.ndim == 1:
                    writer.add_tensor(new, data.astype(np.float32))
                elif qtype == "q8_0" and data.shape[-1] % Q8_BLOCK == 0:
                    q = gguf.quants.quantize(data, gguf.GGMLQuantizationType.Q8_0)
                    writer.add_tensor(new, q, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
                elif qtype == "bf16":
                    q = gguf.quants.quantize(data, gguf.GGMLQuantizationType.BF16)
                    writer.add_tensor(new, q, raw_dtype=gguf.GGMLQuantizationType.BF16)
                else:
                    if qtype == "q8_0":
                        kept_f16.append(new)
                    writer.add_tensor(new, data.astype(np.float16))
    rope_factors = llama3_rope_factors(config)
    if rope_factors is not None:
        # Without it llama.cpp runs Llama 3.1 with plain RoPE: right up to about 8K
        # tokens, wrong beyond. The context length stays the trained 131072, as
        # llama.cpp's converter writes it; the Ollama Modelfile sets num_ctx.
        writer.add_tensor(ROPE_FREQS, rope_factors)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return {"file": out.name, "type": qtype, "pre_tokenizer": pre, "kept_f16": kept_f16}


def check_gguf(path: Path, model_dir: Path) -> list[str]:
    """Read a GGUF back and compare it with the HF checkpoint it was made from: every
    tensor present with its shape and (dequantised) values, and the metadata that decides
    how llama.cpp runs it. Returns the problems (empty when it matches)."""
    import gguf
    import torch
    from safetensors import safe_open
    from transformers import AutoConfig, AutoTokenizer

    config = AutoConfig.from_pretrained(model_dir, local_files_only=True)
    tok = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    reader = gguf.GGUFReader(path)
    problems = []

    def field(key):
        f = reader.fields.get(key)
        if f is None:
            problems.append(f"metadata {key} is missing")
            return None
        return f.contents()

    arch = field("general.architecture")
    expected_arch = gguf.MODEL_ARCH_NAMES[getattr(gguf.MODEL_ARCH, ARCHES[config.model_type])]
    if arch != expected_arch:
        problems.append(f"general.architecture is {arch}, expected {expected_arch}")
    for key, want in (
        (f"{expected_arch}.context_length", config.max_position_embeddings),
        (f"{expected_arch}.rope.freq_base", _rope_theta(config)),
        (f"{expected_arch}.block_count", config.num_hidden_layers),
        (f"{expected_arch}.embedding_length", config.hidden_size),
        (f"{expected_arch}.attention.head_count", config.num_attention_heads),
        (f"{expected_arch}.attention.head_count_kv", config.num_key_value_heads),
        ("tokenizer.ggml.eos_token_id", tok.eos_token_id),
        ("tokenizer.ggml.padding_token_id", tok.pad_token_id),
        ("tokenizer.chat_template", tok.chat_template),
    ):
        got = field(key)
        if got is not None and got != want:
            problems.append(f"metadata {key} is {got!r}, expected {want!r}")
    tokens = field("tokenizer.ggml.tokens")
    if tokens is not None and len(tokens) != config.vocab_size:
        problems.append(f"{len(tokens)} tokens, expected {config.vocab_size}")

    name_map = gguf.get_tensor_name_map(getattr(gguf.MODEL_ARCH, ARCHES[config.model_type]),
                                        config.num_hidden_layers)
    in_gguf = {t.name: t for t in reader.tensors}
    expected = set()
    for path_st in sorted(model_dir.glob("*.safetensors")):
        with safe_open(path_st, framework="pt") as fh:
            for key in fh.keys():
                new = name_map.get_name(key, try_suffixes=(".weight", ".bias"))
                expected.add(new)
                if new not in in_gguf:
                    problems.append(f"tensor {new} ({key}) is missing")
                    continue
                want = fh.get_tensor(key).to(torch.float32).numpy()
                if config.model_type == "llama" and key.endswith("q_proj.weight"):
                    want = _permute_for_llama(want, config.num_attention_heads)
                elif config.model_type == "llama" and key.endswith("k_proj.weight"):
                    want = _permute_for_llama(want, config.num_key_value_heads)
                t = in_gguf[new]
                got = gguf.quants.dequantize(t.data, t.tensor_type).reshape(want.shape) \
                    if t.data.size else None
                if got is None or got.shape != want.shape:
                    problems.append(f"tensor {new} has shape {None if got is None else got.shape}, "
                                    f"expected {want.shape}")
                    continue
                # q8_0 keeps 8 bits per value with a scale per 32; f16/bf16 round.
                tol = 0.02 * max(float(np.abs(want).max()), 1e-6)
                err = float(np.abs(got - want).max())
                if err > tol:
                    problems.append(f"tensor {new} differs from {key} by {err:.3g} (> {tol:.3g})")
    problems += _rope_freqs_problems(config, in_gguf, expected)
    extra = set(in_gguf) - expected
    if extra:
        problems.append(f"tensors not in the checkpoint: {', '.join(sorted(extra))}")
    return problems


def _rope_freqs_problems(config, in_gguf: dict, expected: set) -> list[str]:
    """The rope_freqs tensor against the scaled frequencies transformers itself computes
    for this config (not against the writer's formula): base frequency / scaled one."""
    import gguf
    import torch
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    params = _rope_parameters(config)
    rope_type = str(params.get("rope_type", params.get("type", "default"))).lower()
    if rope_type != "llama3":
        return []
    expected.add(ROPE_FREQS)
    if ROPE_FREQS not in in_gguf:
        return [(f"tensor {ROPE_FREQS} is missing: llama.cpp would run this {rope_type}-scaled "
                 f"model with plain RoPE beyond {params.get('original_max_position_embeddings')} "
                 f"tokens")]
    scaled, _ = ROPE_INIT_FUNCTIONS[rope_type](config, torch.device("cpu"))
    dim = _head_dim(config)
    base = 1.0 / (_rope_theta(config) ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
    want = (base / scaled.to(torch.float64)).numpy()
    t = in_gguf[ROPE_FREQS]
    got = gguf.quants.dequantize(t.data, t.tensor_type).reshape(-1)
    if got.shape != want.shape:
        return [f"tensor {ROPE_FREQS} has {got.size} factors, expected {want.size}"]
    if not np.allclose(got, want, rtol=1e-5):
        return [(f"tensor {ROPE_FREQS} does not match the model's {rope_type} RoPE scaling "
                 f"(max |delta| {float(np.abs(got - want).max()):.3g})")]
    return []
