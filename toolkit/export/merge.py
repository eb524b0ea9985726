"""The export stage: merge the LoRA adapter into the base in fp32, save an HF safetensors
checkpoint with tokenizer, chat template and generation config, and verify it against
the adapter model before calling it done. A failed check fails the stage (no folder).

Writes <run>/export/{model/, verification.json}.
"""

from __future__ import annotations

from pathlib import Path

import torch

from toolkit import tracking
from toolkit.artifacts import (
    StageOutput,
    open_upstreams,
    read_jsonl,
    stage_folder,
    write_json,
)
from toolkit.errors import ArtifactError
from toolkit.eval.runner import load_trained_tokenizer
from toolkit.export.verify import max_logit_diff, probe_conversations, verify_export
from toolkit.recipe import Recipe, check_paths
from toolkit.train.model import DTYPES, check_base_unchanged, load_model


@torch.no_grad()
def merge_adapter(recipe: Recipe, adapter_dir):
    """(adapter model, merged model): the base in fp32 with the adapter, and the same
    weights merged. The adapter model is a separate copy, kept for verification."""
    from peft import PeftModel

    adapter_model = PeftModel.from_pretrained(
        load_model(recipe.model, dtype="float32"), adapter_dir
    ).eval()
    merged = PeftModel.from_pretrained(
        load_model(recipe.model, dtype="float32"), adapter_dir
    ).merge_and_unload().eval()
    return adapter_model, merged


def export(recipe: Recipe) -> StageOutput:
    """Merge, save and verify the tuned model of `recipe`."""
    check_paths(recipe, ["export"])
    corpus, trained = open_upstreams(recipe, ["corpus", "train"])
    check_base_unchanged(recipe.model.path, trained.path)
    cfg = recipe.export
    tok = load_trained_tokenizer(trained.path)
    records = read_jsonl(corpus.path / "eval.jsonl") + read_jsonl(corpus.path / "train.jsonl")
    probes = probe_conversations(records, cfg.probes)
    adapter_model, merged = merge_adapter(recipe, trained.path / "adapter")
    in_memory = max_logit_diff(adapter_model, merged, tok, probes)

    with tracking.stage_run(recipe, "export") as run:
        with stage_folder(recipe, "export", [corpus, trained]) as out:
            model_dir = out.path / "model"
            merged.to(DTYPES[cfg.dtype])
            merged.save_pretrained(model_dir, safe_serialization=True)
            tok.save_pretrained(model_dir)
            report = verify_export(model_dir, adapter_model, tok, probes, cfg, in_memory)
            write_json(out.path / "verification.json", report)
            if not report["passed"]:
                raise ArtifactError(
                    f"The exported model does not match the trained adapter model: "
                    f"{'; '.join(report['failures'])}. Nothing was written to "
                    f"{recipe.stage_dir('export')}."
                )
            out.figures.update({
                "dtype": cfg.dtype,
                "max_abs_logit_diff": report["max_abs_logit_diff"],
                "max_abs_logit_diff_in_memory_merge": report["max_abs_logit_diff_in_memory_merge"],
                "greedy_identical": report["greedy_identical"],
                "probes": len(probes),
                "model_bytes": sum(p.stat().st_size for p in model_dir.rglob("*") if p.is_file()),
            })
        run.log_stage(out)
    return out
