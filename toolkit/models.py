"""Models and tokenizers for every stage: loading local model directories safely
(safetensors only, no remote code unless the recipe opts in), the dtype, the device, the
trained model of a train folder, and the fingerprint that ties a trained model to its
base weights."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from toolkit.errors import ModelError
from toolkit.recipe import ModelSection, Recipe

log = logging.getLogger(__name__)



def torch_dtype(name: str):
    """The torch dtype called `name` (float32, bfloat16, float16)."""
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def placement(device: str = "auto", dtype: str = "auto") -> tuple[object, str, str]:
    """(device_map for from_pretrained, dtype name, where in words) of a model to run for
    inference. `device` auto: every GPU (device_map="auto") when there is one, else the
    CPU; cpu, cuda, cuda:N, mps: that device. `dtype` auto: bfloat16 on a GPU, float32
    elsewhere."""
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
        device_map = "auto" if device == "cuda" else None
    elif device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError(f"device {device} was asked for, but torch sees no CUDA GPU here; use "
                         f"device: cpu (or auto).")
    else:
        device_map = None if device == "cpu" else {"": device}
    if dtype == "auto":
        dtype = "bfloat16" if device.startswith("cuda") else "float32"
    where = (f"{torch.cuda.device_count()} GPU(s), device_map=auto" if device_map == "auto"
             else device)
    return device_map, dtype, where


def free_memory() -> None:
    """Give back the memory of models the caller has dropped (`del model` first), the CUDA
    cache included, before the next model loads."""
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


# --------------------------------------------------------------------------- recipe paths


def model_path_problems(recipe: Recipe) -> list[str]:
    """What is wrong with `model.path` and `model.chat_template` for a stage that loads
    the model (each problem names the recipe file and line); empty when nothing is."""
    problems = []
    mp = recipe.model.path
    if mp is None:
        problems.append(f"{recipe.where('model')}: model.path is not set.")
    elif not (mp / "config.json").is_file():
        problems.append(_missing_model_message(recipe, mp))
    elif (missing := safetensors_problem(mp)) is not None:
        problems.append(f"{recipe.where('model', 'path')}: model.path {missing}")
    if recipe.model.chat_template and not recipe.model.chat_template.is_file():
        problems.append(
            f"{recipe.where('model', 'chat_template')}: model.chat_template "
            f"{recipe.model.chat_template} does not exist."
        )
    return problems


def _missing_model_message(recipe: Recipe, path: Path) -> str:
    where = recipe.where("model", "path")
    if path.is_dir():
        return (
            f"{where}: model.path {path} exists but has no config.json, so it is not a "
            f"Hugging Face model directory."
        )
    hint = ""
    # `org/name` under a folder that exists: most likely a Hub id, not a local path.
    if path.parent.parent.is_dir() and not path.parent.exists() and "." not in path.parent.name:
        hint = (
            f" If '{path.parent.name}/{path.name}' is a Hub model id: gongmu never downloads "
            f"models; download it beforehand on a machine with access."
        )
    if path.exists():
        return f"{where}: model.path {path} is a file, not a model folder."
    if "tiny" in path.name.lower():  # a test model's place (the quickstart's runs/models/tiny-ko)
        fix = f" To build the test model there: gongmu model tiny --corpus DOCS --out {path}."
    else:  # a real model's place: never a random model under its name
        fix = (
            f" Copy the model's files (config.json, its *.safetensors weights and tokenizer "
            f"files) into {path} from a machine that has them, or point model.path at the "
            f"folder where they are (on the command line: model.path=/path/to/model)."
        )
    return f"{where}: model.path {path} does not exist.{fix}{hint}"


# --------------------------------------------------------------------------- loading


def check_model_dir(path: Path | None) -> Path:
    if path is None:
        raise ModelError("model.path is not set: point it at a local model directory.")
    if not (Path(path) / "config.json").is_file():
        raise ModelError(
            f"{path} is not a local Hugging Face model directory (no config.json). gongmu "
            f"never downloads models: copy the model to a local folder first."
        )
    problem = safetensors_problem(Path(path))
    if problem is not None:
        raise ModelError(problem)
    return Path(path)


def safetensors_problem(path: Path) -> str | None:
    """Why `path` holds no safetensors checkpoint transformers would load (None when it
    does): it reads model.safetensors, or the shards model.safetensors.index.json names,
    never any other .safetensors file beside them (an adapter, an unrelated tensor)."""
    index = path / "model.safetensors.index.json"
    if (path / "model.safetensors").is_file():
        return None
    if index.is_file():
        try:
            shards = set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values())
        except (OSError, ValueError, KeyError, AttributeError, TypeError):
            return f"{path}: {index.name} is not a readable safetensors index; copy the model again."
        missing = sorted(s for s in shards if not (path / s).is_file())
        if not missing:
            return None
        return (f"{path}: shards named in {index.name} are missing ({', '.join(missing[:4])}"
                f"{' …' if len(missing) > 4 else ''}); the copy is incomplete, copy the model again.")
    others = sorted(p.name for p in path.glob("*.safetensors"))
    pickles = sorted(p.name for p in path.glob("*.bin")) + sorted(p.name for p in path.glob("*.pt"))
    found = []
    if others:
        found.append(f"{', '.join(others)} {'is' if len(others) == 1 else 'are'} not a model "
                     f"checkpoint (transformers loads model.safetensors or the shards of "
                     f"model.safetensors.index.json)")
    if pickles:
        found.append(f"pickle weights ({', '.join(pickles)}) are never loaded, since they "
                     f"can run code when loaded")
    return (f"{path} has no safetensors model weights (model.safetensors)"
            + (f": {'; '.join(found)}" if found else "")
            + ". Convert the checkpoint to safetensors first (save_pretrained with "
            "safe_serialization=True, on a machine you trust).")


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
    if section.eos_token is not None:
        if section.eos_token not in tok.get_vocab():
            raise ModelError(
                f"model.eos_token {section.eos_token!r} is not a token of the tokenizer in "
                f"{path}; name the token its chat template ends assistant turns with."
            )
        tok.eos_token = section.eos_token
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
    import torch
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type=qlora.quant_type,
        bnb_4bit_use_double_quant=qlora.double_quant,
        bnb_4bit_compute_dtype=torch_dtype(qlora.compute_dtype),
        bnb_4bit_quant_storage=torch_dtype(quant_storage) if quant_storage else torch.uint8,
    )


def load_model(section: ModelSection, dtype: str | None = None, path: Path | None = None,
               qlora=None, attn_implementation: str | None = None,
               quant_storage: str | None = None, device_map=None):
    """Load a causal LM from a local directory: safetensors only, no remote code unless
    the recipe opts in; 4-bit (bitsandbytes) when `qlora` settings are given; placed by
    `device_map` (see `placement`) when given, else on the CPU."""
    from transformers import AutoModelForCausalLM

    path = check_model_dir(path or section.path)
    extra = {"quantization_config": bnb_config(qlora, quant_storage)} if qlora is not None else {}
    if device_map is not None:
        extra["device_map"] = device_map
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
        dtype=torch_dtype(dtype or section.dtype),
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


def load_trained_tokenizer(train_dir: Path):
    """The tokenizer the train stage saved (with the chat template it trained with)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(Path(train_dir) / "tokenizer", local_files_only=True)


def trained_weights_dir(method: str) -> str:
    """The train stage's weights folder: `model/` for full fine-tuning, else `adapter/`."""
    return "model" if method == "full" else "adapter"


def load_tuned_model(section: ModelSection, train_dir: Path, method: str, base=None,
                     dtype: str = "float32", device_map=None):
    """The trained model of a train stage folder: the full checkpoint in `model/`, or the
    base (`base`, else loaded from `section`) with the PEFT adapter in `adapter/`."""
    weights = Path(train_dir) / trained_weights_dir(method)
    if method == "full":
        return load_model(section, dtype=dtype, path=weights, device_map=device_map)
    from peft import PeftModel

    if base is None:
        base = load_model(section, dtype=dtype, device_map=device_map)
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


# vLLM reserves KV cache for the whole context: a 128k model would reserve more than a
# 24 GB GPU has, so serving and the vLLM eval backend cap what they ask for.
DEFAULT_MAX_MODEL_LEN = 8192


def context_length(model_dir: Path) -> int | None:
    """The model's context in tokens (config.json's max_position_embeddings, or its
    text_config's), if the folder states one."""
    try:
        config = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = config.get("max_position_embeddings")
    if value is None and isinstance(config.get("text_config"), dict):
        value = config["text_config"].get("max_position_embeddings")
    return value if isinstance(value, int) and value > 0 else None


def serving_context(model_dir: Path, configured: int | None = None) -> int:
    """The context to serve with: `configured` (a recipe's max_model_len) when set, else
    the model's own, capped at DEFAULT_MAX_MODEL_LEN."""
    if configured:
        return configured
    return min(DEFAULT_MAX_MODEL_LEN, context_length(model_dir) or DEFAULT_MAX_MODEL_LEN)
