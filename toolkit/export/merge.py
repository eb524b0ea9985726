"""Merging and packaging for the export stage (`toolkit.export.stage`): the adapter
merged into full-precision base weights (never into 4-bit ones), the adapter alone with
its vLLM script, and GGUF files with an Ollama Modelfile."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from toolkit.artifacts import write_json
from toolkit.errors import ArtifactError
from toolkit.export import serving
from toolkit.models import load_model
from toolkit.recipe import ModelSection, QloraSection, Recipe


@torch.no_grad()
def dequantized_base(section: ModelSection, qlora: QloraSection):
    """The base in fp32 with every 4-bit linear weight replaced by its dequantised value:
    the weights a QLoRA adapter was actually trained against."""
    import bitsandbytes as bnb

    quantized = load_model(section, dtype="float32", qlora=qlora)
    base = load_model(section, dtype="float32")
    modules = dict(base.named_modules())
    for name, module in quantized.named_modules():
        if isinstance(module, bnb.nn.Linear4bit):
            weight = bnb.functional.dequantize_4bit(module.weight.data, module.weight.quant_state)
            modules[name].weight.copy_(weight.to(torch.float32).reshape(modules[name].weight.shape))
    return base


@torch.no_grad()
def merge_adapter(section: ModelSection, adapter_dir: Path, merge_base: str = "original",
                  qlora: QloraSection | None = None):
    """(adapter model, merged model), both fp32: the adapter on the chosen base weights,
    and the same weights merged. Separate copies; the adapter model is kept for checks.
    Never merges into 4-bit weights (PEFT would re-quantise the merged result)."""
    from peft import PeftModel

    def base():
        if merge_base == "dequantized":
            if qlora is None:
                raise ArtifactError("export.merge_base: dequantized applies to QLoRA adapters only.")
            return dequantized_base(section, qlora)
        return load_model(section, dtype="float32")

    adapter_model = PeftModel.from_pretrained(base(), adapter_dir).eval()
    merged = PeftModel.from_pretrained(base(), adapter_dir).merge_and_unload().eval()
    return adapter_model, merged


def write_script(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def export_adapter(recipe: Recipe, adapter_dir: Path, tok, out: Path, max_len: int) -> dict:
    """The PEFT adapter alone (with the training tokenizer), and a vLLM script for serving
    it beside its base, unless vLLM cannot serve it (then the reason is recorded)."""
    target = out / "adapter"
    shutil.copytree(adapter_dir, target)
    tok.save_pretrained(target)
    config = json.loads((target / "adapter_config.json").read_text(encoding="utf-8"))
    ok, reason = serving.adapter_serving(config)
    if ok and recipe.export.vllm:
        write_script(out / "serve_adapter.sh", serving.vllm_adapter_script(
            recipe.name, recipe.model.path, int(config["r"]), max_len))
    return {"adapter_vllm_servable": ok, **({"adapter_vllm_refusal": reason} if not ok else {})}


def export_gguf(recipe: Recipe, model_dir: Path, folder: Path, tok) -> dict:
    from toolkit.export.gguf import check_gguf, write_gguf

    folder.mkdir()
    written, problems = [], []
    for qtype in recipe.export.gguf:
        path = folder / f"{recipe.name}-{qtype}.gguf"
        info = write_gguf(model_dir, path, qtype, recipe.name)
        problems += [f"{path.name}: {p}" for p in check_gguf(path, model_dir)]
        written.append(info)
    if problems:
        raise ArtifactError(
            f"A GGUF file does not match the merged model: {'; '.join(problems[:6])}. Nothing "
            f"was written to {recipe.stage_dir('export')}."
        )
    # A Modelfile only when its Go template renders prompts as the model was trained.
    refusal = serving.ollama_template_problem(tok)
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    num_ctx = serving.ollama_num_ctx(config["max_position_embeddings"], recipe.train.max_seq_len)
    modelfile = None if refusal else serving.ollama_modelfile(
        written[-1]["file"], tok.chat_template, tok.get_vocab(), num_ctx=num_ctx)
    if modelfile:
        (folder / "Modelfile").write_text(modelfile, encoding="utf-8")
    write_json(folder / "gguf.json", written)
    return {"gguf_files": [w["file"] for w in written], "ollama_modelfile": bool(modelfile),
            **({"ollama_modelfile_refusal": refusal} if refusal else {})}
