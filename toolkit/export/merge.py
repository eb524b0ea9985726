"""The export stage: merge the adapter into the base in fp32 (a fully fine-tuned checkpoint
needs no merge), cast to `export.dtype`, save a sharded HF safetensors checkpoint with
tokenizer, chat template, generation config and model card, and verify it against the
trained model before calling it done (a failed check fails the stage: no folder). Then
the serving formats: vLLM scripts, the adapter alone, GGUF files with an Ollama
Modelfile, and an optional signature.

Writes <run>/export/{model/, adapter/, gguf/, serve.sh, serve_adapter.sh,
verification.json, manifest.json[, manifest.sig]}.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from toolkit import tracking
from toolkit.artifacts import (
    StageOutput,
    open_upstreams,
    read_json,
    read_jsonl,
    stage_folder,
    write_json,
)
from toolkit.errors import ArtifactError
from toolkit.eval.runner import load_trained_tokenizer
from toolkit.export import serving
from toolkit.export.verify import max_logit_diff, probe_conversations, verify_export
from toolkit.recipe import ModelSection, QloraSection, Recipe, check_paths
from toolkit.train.model import DTYPES, check_base_unchanged, load_model, load_tuned_model


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


def export(recipe: Recipe) -> StageOutput:
    """Merge, save, verify and package the tuned model of `recipe`."""
    check_paths(recipe, ["export"])
    corpus, trained = open_upstreams(recipe, ["corpus", "train"])
    evaluated = None
    if (recipe.stage_dir("eval") / "manifest.json").is_file():
        corpus, trained, evaluated = open_upstreams(recipe, ["corpus", "train", "eval"])
    check_base_unchanged(recipe.model.path, trained.path)
    cfg = recipe.export
    train_section = trained.manifest["section"]["train"]
    method = train_section["method"]
    qlora = QloraSection(**train_section["qlora"]) if method == "qlora" else None
    if cfg.merge_base == "dequantized" and qlora is None:
        raise ArtifactError(
            f"{recipe.where('export', 'merge_base')}: export.merge_base: dequantized applies to "
            f"QLoRA adapters only; this adapter was trained with {method}."
        )
    tok = load_trained_tokenizer(trained.path)
    records = read_jsonl(corpus.path / "test.jsonl") + read_jsonl(corpus.path / "train.jsonl")
    probes = probe_conversations(records, cfg.probes)
    adapter_dir = trained.path / "adapter"
    if method == "full":
        # Nothing to merge: the trained checkpoint is the model; a second copy is cast and
        # saved, the first stays the reference.
        trained_model = load_tuned_model(recipe.model, trained.path, method).eval()
        merged = load_tuned_model(recipe.model, trained.path, method).eval()
    else:
        trained_model, merged = merge_adapter(recipe.model, adapter_dir, cfg.merge_base, qlora)
    in_memory = max_logit_diff(trained_model, merged, tok, probes)
    extra: dict = {}
    if qlora is not None:
        from peft import PeftModel

        quantized = PeftModel.from_pretrained(
            load_model(recipe.model, dtype="float32", qlora=qlora), adapter_dir).eval()
        extra["max_abs_logit_diff_vs_4bit_adapter_model"] = max_logit_diff(
            quantized, merged, tok, probes)
        del quantized

    seal = None
    if cfg.signing_key is not None:
        from toolkit.export.signing import sign_manifest

        seal = lambda folder: sign_manifest(folder, cfg.signing_key)  # noqa: E731

    ups = [corpus, trained] + ([evaluated] if evaluated else [])
    with tracking.stage_run(recipe, "export") as run:
        with stage_folder(recipe, "export", ups, seal=seal) as out:
            model_dir = out.path / "model"
            merged.to(DTYPES[cfg.dtype])
            merged.save_pretrained(model_dir, safe_serialization=True,
                                   max_shard_size=cfg.max_shard_size)
            tok.save_pretrained(model_dir)
            report = verify_export(model_dir, trained_model, tok, probes, cfg, in_memory)
            report.update(extra, merge_base=cfg.merge_base, method=method)
            write_json(out.path / "verification.json", report)
            if not report["passed"]:
                raise ArtifactError(
                    f"The exported model does not match the trained model: "
                    f"{'; '.join(report['failures'])}. Nothing was written to "
                    f"{recipe.stage_dir('export')}."
                )
            max_len = merged.config.max_position_embeddings
            (model_dir / "README.md").write_text(serving.model_card(
                name=recipe.name,
                base=str(recipe.model.path),
                method={**train_section, "steps": trained.manifest["figures"].get("steps")},
                corpus=corpus.manifest["figures"],
                evaluation=read_json(evaluated.path / "results.json")["suites"] if evaluated else None,
                verification=report,
                data_card=None,
            ), encoding="utf-8")
            figures = {
                "method": method,
                "merge_base": cfg.merge_base,
                "dtype": cfg.dtype,
                "max_abs_logit_diff": report["max_abs_logit_diff"],
                "max_abs_logit_diff_bf16": report["max_abs_logit_diff_bf16"],
                "greedy_identical": report["greedy_identical"],
                "probes": len(probes),
                "model_bytes": sum(p.stat().st_size for p in model_dir.rglob("*") if p.is_file()),
                "shards": len(list(model_dir.glob("*.safetensors"))),
                **extra,
            }
            if cfg.vllm:
                _write_script(out.path / "serve.sh",
                              serving.vllm_merged_script(recipe.name, max_len))
            if cfg.adapter and method == "full":
                figures["adapter"] = "none: full fine-tuning trains every weight"
            elif cfg.adapter:
                figures.update(_export_adapter(recipe, adapter_dir, tok, out.path, max_len))
            if cfg.gguf:
                figures.update(_export_gguf(recipe, model_dir, out.path / "gguf", tok))
            out.figures.update(figures)
        run.log_stage(out)
    return out


def _write_script(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _export_adapter(recipe: Recipe, adapter_dir: Path, tok, out: Path, max_len: int) -> dict:
    """The PEFT adapter alone (with the training tokenizer), and a vLLM script for serving
    it beside its base, unless vLLM cannot serve it (then the reason is recorded)."""
    target = out / "adapter"
    shutil.copytree(adapter_dir, target)
    tok.save_pretrained(target)
    config = json.loads((target / "adapter_config.json").read_text(encoding="utf-8"))
    ok, reason = serving.adapter_serving(config)
    if ok and recipe.export.vllm:
        _write_script(out / "serve_adapter.sh", serving.vllm_adapter_script(
            recipe.name, recipe.model.path, int(config["r"]), max_len))
    return {"adapter_vllm_servable": ok, **({"adapter_vllm_refusal": reason} if not ok else {})}


def _export_gguf(recipe: Recipe, model_dir: Path, folder: Path, tok) -> dict:
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
    modelfile = serving.ollama_modelfile(written[-1]["file"], tok.chat_template, tok.get_vocab())
    if modelfile:
        (folder / "Modelfile").write_text(modelfile, encoding="utf-8")
    write_json(folder / "gguf.json", written)
    return {"gguf_files": [w["file"] for w in written], "ollama_modelfile": bool(modelfile)}
