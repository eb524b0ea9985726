"""The export stage: merge the adapter into the base one safetensors shard at a time
in fp32 (on the GPU when there is one; a fully fine-tuned checkpoint is only cast), save a
sharded HF safetensors checkpoint in `export.dtype` with tokenizer, chat template,
generation config and model card, and verify the saved files against the trained model
computed in the same dtype before calling it done (a failed check fails the stage: no
folder). Then the serving formats: vLLM scripts, the adapter alone, GGUF files with an
Ollama Modelfile, and an optional signature.

    gongmu export R

Peak memory of the merge and of the check is in the manifest's figures. Adapters the
shard-wise merge does not cover (QLoRA merged into dequantized weights, LoRA on
embeddings) are merged whole in memory, and the figures say why.

Writes <run>/export/{model/, adapter/, gguf/, serve.sh, serve_adapter.sh,
verification.json, manifest.json[, manifest.sig]}.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from toolkit.artifacts import StageOutput
from toolkit.recipe import Recipe
from toolkit.stages import Stage

STAGE = Stage(
    name="export",
    command="export",
    summary="Merge the adapter, save safetensors + tokenizer, verify against the trained model.",
    sections=("model", "export"),
    upstream=("corpus", "train"),
    optional_upstream=("eval",),
    outputs=("model/", "verification.json", "serve.sh", "adapter/", "serve_adapter.sh", "gguf/"),
    module=__name__,
)


def check_paths(recipe: Recipe) -> list[str]:
    from toolkit.models import model_path_problems

    problems = model_path_problems(recipe)
    key = recipe.export.signing_key
    if key is not None and not key.is_file():
        problems.append(f"{recipe.where('export', 'signing_key')}: export.signing_key {key} "
                        f"does not exist.")
    return problems


def run(recipe: Recipe) -> StageOutput:
    """Merge, save, verify and package the tuned model of `recipe`."""
    from toolkit.stages import stage_run

    seal = None
    key = recipe.export.signing_key or recipe.signing_key
    if key is not None:
        from toolkit.signing import sign_manifest

        seal = lambda folder: sign_manifest(folder, key)  # noqa: E731
    with stage_run(recipe, "export") as stage:
        corpus, trained = stage.inputs["corpus"], stage.inputs["train"]
        evaluated = stage.inputs.get("eval")
        merge = _setup_merge(recipe, corpus, trained)
        with stage.publish(seal=seal) as out:
            _save_and_verify(recipe, merge, out)
            _write_model_card(recipe, merge, corpus, trained, evaluated, out)
            _write_serving(recipe, merge, out)
    return stage.output


@dataclass
class _Merge:
    method: str
    train_section: dict
    tokenizer: object
    probes: list
    qlora: object  # QloraSection, or None
    adapter_dir: Path
    train_dir: Path
    figures: dict = field(default_factory=dict)
    verification: dict | None = None


def _setup_merge(recipe: Recipe, corpus, trained) -> _Merge:
    """What the merge needs: the method, the training tokenizer, the probe conversations."""
    from toolkit.artifacts import read_jsonl
    from toolkit.errors import ArtifactError
    from toolkit.export.verify import probe_conversations
    from toolkit.models import check_base_unchanged, load_trained_tokenizer
    from toolkit.recipe import QloraSection

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
    records = read_jsonl(corpus.path / "test.jsonl") + read_jsonl(corpus.path / "train.jsonl")
    return _Merge(method, train_section, load_trained_tokenizer(trained.path),
                  probe_conversations(records, cfg.probes), qlora, trained.path / "adapter",
                  trained.path)


def _merge_into(recipe: Recipe, merge: _Merge, model_dir: Path) -> float | None:
    """Write the merged model to `model_dir`: shard by shard, else whole in memory (then
    the in-memory merge's own logit check is returned)."""
    from toolkit.export.merge import ShardMergeUnsupported, merge_adapter, merge_shards
    from toolkit.export.verify import max_logit_diff
    from toolkit.models import free_memory, torch_dtype, trained_weights_dir

    cfg = recipe.export
    weights = merge.train_dir / trained_weights_dir(merge.method)
    why = None
    if merge.method == "full":
        merge.figures.update(merge_shards(weights, None, model_dir, cfg.dtype, cfg.max_shard_size,
                                          cfg.device))
        return None
    if cfg.merge_base == "dequantized":
        why = "QLoRA merged into the dequantized 4-bit weights"
    else:
        try:
            merge.figures.update(merge_shards(recipe.model.path, weights, model_dir, cfg.dtype,
                                              cfg.max_shard_size, cfg.device))
            return None
        except ShardMergeUnsupported as exc:
            why = str(exc)
            for stale in model_dir.glob("*"):
                stale.unlink()
    trained_model, merged = merge_adapter(recipe.model, weights, cfg.merge_base, merge.qlora)
    in_memory = max_logit_diff(trained_model, merged, merge.tokenizer, merge.probes)
    del trained_model
    merged.to(torch_dtype(cfg.dtype))
    merged.save_pretrained(model_dir, safe_serialization=True, max_shard_size=cfg.max_shard_size)
    del merged
    free_memory()
    merge.figures.update({"merge": f"whole model in memory: {why}",
                          "shards": len(list(model_dir.glob("*.safetensors")))})
    return in_memory


def _trained_model(recipe: Recipe, merge: _Merge, dtype: str, device_map):
    """The model as trained, computed in `dtype`: the full checkpoint, or the base with the
    adapter, its weights in `dtype` too (PEFT would otherwise keep them in fp32)."""
    from peft import PeftModel

    from toolkit.models import load_model, trained_weights_dir

    if merge.method == "full":
        return load_model(recipe.model, dtype=dtype, device_map=device_map,
                          path=merge.train_dir / trained_weights_dir("full")).eval()
    if recipe.export.merge_base == "dequantized":
        from toolkit.export.merge import dequantized_base
        from toolkit.models import torch_dtype

        base = dequantized_base(recipe.model, merge.qlora).to(torch_dtype(dtype))
        if device_map is not None:
            base = base.to(device_map[""])
    else:
        base = load_model(recipe.model, dtype=dtype, device_map=device_map)
    return PeftModel.from_pretrained(base, merge.adapter_dir,
                                     autocast_adapter_dtype=False).eval()


def _save_and_verify(recipe: Recipe, merge: _Merge, out: StageOutput) -> None:
    """Merge and save the model, reload the saved files with plain transformers and check
    them against the trained model in the export dtype; a failed check fails the stage."""
    from toolkit.artifacts import write_json
    from toolkit.errors import ArtifactError
    from toolkit.export.merge import PeakMemory, merge_device
    from toolkit.export.verify import max_logit_diff, verify_export
    from toolkit.models import free_memory, load_model

    cfg = recipe.export
    model_dir = out.path / "model"
    model_dir.mkdir()
    with PeakMemory() as merging:
        in_memory = _merge_into(recipe, merge, model_dir)
    merge.tokenizer.save_pretrained(model_dir)
    device = merge_device(cfg.device)
    device_map = None if device.type == "cpu" else {"": str(device)}
    with PeakMemory() as checking:
        trained_model = _trained_model(recipe, merge, cfg.dtype, device_map)
        report = verify_export(model_dir, trained_model, merge.tokenizer, merge.probes, cfg,
                               in_memory, device_map=device_map)
        if merge.qlora is not None:
            from peft import PeftModel

            del trained_model
            free_memory()
            quantized = PeftModel.from_pretrained(
                load_model(recipe.model, dtype="float32", qlora=merge.qlora), merge.adapter_dir).eval()
            exported = load_model(recipe.model, dtype="float32", path=model_dir)
            merge.figures["max_abs_logit_diff_vs_4bit_adapter_model"] = max_logit_diff(
                quantized, exported, merge.tokenizer, merge.probes)
            del quantized, exported
        else:
            del trained_model
        free_memory()
    memory = {f"merge_{k}": v for k, v in merging.figures().items()}
    memory.update({f"verify_{k}": v for k, v in checking.figures().items()})
    report.update(merge_base=cfg.merge_base, method=merge.method,
                  **{k: v for k, v in merge.figures.items()
                     if k == "max_abs_logit_diff_vs_4bit_adapter_model"})
    write_json(out.path / "verification.json", report)
    if not report["passed"]:
        raise ArtifactError(
            f"The exported model does not match the trained model: "
            f"{'; '.join(report['failures'])}. Nothing was written to "
            f"{recipe.stage_dir('export')}."
        )
    out.figures.update({
        "method": merge.method,
        "merge_base": cfg.merge_base,
        "dtype": cfg.dtype,
        "max_abs_logit_diff": report["max_abs_logit_diff"],
        "max_logit_diff_allowed": report["max_logit_diff_allowed"],
        "max_abs_logit_diff_bf16": report["max_abs_logit_diff_bf16"],
        "greedy_identical": report["greedy_identical"],
        "greedy_agreement": report["greedy_agreement"],
        "probes": len(merge.probes),
        "model_bytes": sum(p.stat().st_size for p in model_dir.rglob("*") if p.is_file()),
        "shards": len(list(model_dir.glob("*.safetensors"))),
        **{k: v for k, v in merge.figures.items() if k not in ("shards", "model_bytes")},
        **memory,
    })
    merge.verification = report


def _write_model_card(recipe: Recipe, merge: _Merge, corpus, trained, evaluated,
                      out: StageOutput) -> None:
    from toolkit.artifacts import read_json
    from toolkit.export import serving

    (out.path / "model" / "README.md").write_text(serving.model_card(
        name=recipe.name,
        base=str(recipe.model.path),
        method={**merge.train_section, "steps": trained.manifest["figures"].get("steps")},
        corpus=corpus.manifest["figures"],
        evaluation=read_json(evaluated.path / "results.json")["suites"] if evaluated else None,
        verification=merge.verification,
        data_card=None,
    ), encoding="utf-8")


def _write_serving(recipe: Recipe, merge: _Merge, out: StageOutput) -> None:
    """vLLM scripts, the adapter alone, GGUF files and the Ollama Modelfile."""
    from toolkit.export import serving
    from toolkit.export.merge import export_adapter, export_gguf, write_script
    from toolkit.models import serving_context

    cfg = recipe.export
    max_len = serving_context(out.path / "model", recipe.export.max_model_len)
    out.figures["serve_max_model_len"] = max_len
    if cfg.vllm:
        write_script(out.path / "serve.sh", serving.vllm_merged_script(recipe.name, max_len))
    if cfg.adapter and merge.method == "full":
        out.figures["adapter"] = "none: full fine-tuning trains every weight"
    elif cfg.adapter:
        out.figures.update(export_adapter(recipe, merge.adapter_dir, merge.tokenizer, out.path,
                                          max_len))
    if cfg.gguf:
        out.figures.update(export_gguf(recipe, out.path / "model", out.path / "gguf",
                                       merge.tokenizer))
