"""The export stage: merge the adapter into the base in fp32 (a fully fine-tuned
checkpoint needs no merge), cast to `export.dtype`, save a sharded HF safetensors
checkpoint with tokenizer, chat template, generation config and model card, and verify it
against the trained model before calling it done (a failed check fails the stage: no
folder). Then the serving formats: vLLM scripts, the adapter alone, GGUF files with an
Ollama Modelfile, and an optional signature.

    gongmu export R

Writes <run>/export/{model/, adapter/, gguf/, serve.sh, serve_adapter.sh,
verification.json, manifest.json[, manifest.sig]}.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    trained: object  # the model as trained (adapter model, or the full checkpoint)
    merged: object  # a separate copy, merged, to be cast and saved
    in_memory_diff: float
    extra: dict
    adapter_dir: Path
    verification: dict | None = None


def _setup_merge(recipe: Recipe, corpus, trained) -> _Merge:
    """The trained model and its merged copy, both fp32, and the in-memory logit check
    (for QLoRA also against the 4-bit adapter model)."""
    from toolkit.artifacts import read_jsonl
    from toolkit.errors import ArtifactError
    from toolkit.export.merge import merge_adapter
    from toolkit.export.verify import max_logit_diff, probe_conversations
    from toolkit.models import check_base_unchanged, load_model, load_trained_tokenizer, load_tuned_model
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
    return _Merge(method, train_section, tok, probes, trained_model, merged, in_memory, extra,
                  adapter_dir)


def _save_and_verify(recipe: Recipe, merge: _Merge, out: StageOutput) -> None:
    """Cast and save the merged model, reload it with plain transformers and check it
    against the trained model; a failed check fails the stage."""
    from toolkit.artifacts import write_json
    from toolkit.errors import ArtifactError
    from toolkit.export.verify import verify_export
    from toolkit.models import torch_dtype

    cfg = recipe.export
    model_dir = out.path / "model"
    merge.merged.to(torch_dtype(cfg.dtype))
    merge.merged.save_pretrained(model_dir, safe_serialization=True,
                                 max_shard_size=cfg.max_shard_size)
    merge.tokenizer.save_pretrained(model_dir)
    report = verify_export(model_dir, merge.trained, merge.tokenizer, merge.probes, cfg,
                           merge.in_memory_diff)
    report.update(merge.extra, merge_base=cfg.merge_base, method=merge.method)
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
        "max_abs_logit_diff_bf16": report["max_abs_logit_diff_bf16"],
        "greedy_identical": report["greedy_identical"],
        "probes": len(merge.probes),
        "model_bytes": sum(p.stat().st_size for p in model_dir.rglob("*") if p.is_file()),
        "shards": len(list(model_dir.glob("*.safetensors"))),
        **merge.extra,
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

    cfg = recipe.export
    max_len = merge.merged.config.max_position_embeddings
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
