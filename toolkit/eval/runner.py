"""The eval stage: every suite on the base model and on the tuned model (base + adapter, or
the fully fine-tuned checkpoint), same items, same prompts, greedy decoding.

Prompts are rendered with the tokenizer the train stage saved (the one the export ships),
so the model is scored on exactly the text it will see when served.

The stage folder holds `results.json` (per suite: task, item count, metrics, primary
metric, suite/prompts/chat-template hashes, thresholds, and per model the mean scores,
scores by task and threshold verdicts), `outputs/<suite>.<base|tuned>.jsonl` (one row per
item, see `toolkit.eval.tasks.score_suite`) and, for suites built at eval time,
`items/<suite>.jsonl` (the items as built).
"""

from __future__ import annotations

import hashlib
from statistics import fmean

from toolkit import tracking
from toolkit.artifacts import StageOutput, open_upstreams, stage_folder, write_json, write_jsonl
from toolkit.console import progress
from toolkit.eval.suite import Suite, load_suite
from toolkit.eval.tasks import generate, render_prompts, score_suite, suite_prompts, work_units
from toolkit.recipe import Recipe, check_paths
from toolkit.train.model import check_base_unchanged, load_model, load_tuned_model

__all__ = ["evaluate", "generate", "load_trained_tokenizer", "render_prompts", "summarize"]


def load_trained_tokenizer(train_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(train_dir / "tokenizer", local_files_only=True)


def summarize(suite: Suite, rows: list[dict]) -> dict:
    """Mean scores, scores by task (`meta.task`) and threshold verdicts of one model."""
    scores = {m: fmean(r["scores"][m] for r in rows) for m in suite.metrics} if rows else {}
    by_task: dict[str, dict] = {}
    for task in sorted({r["task"] for r in rows if r["task"]}):
        sub = [r for r in rows if r["task"] == task]
        by_task[task] = {"items": len(sub),
                         **{m: fmean(r["scores"][m] for r in sub) for m in suite.metrics}}
    verdicts = threshold_verdicts(suite.spec.thresholds, scores)
    return {"scores": scores, "by_task": by_task, "thresholds": verdicts,
            "passed": all(v["passed"] for v in verdicts.values())}


def threshold_verdicts(thresholds: dict[str, float], scores: dict[str, float]) -> dict:
    """{metric: {"minimum"|"maximum": t, "value": mean, "passed": bool}}: a threshold is a
    minimum, or a maximum for a lower-is-better metric (pii_leak)."""
    from toolkit.eval.compare import LOWER_IS_BETTER

    verdicts = {}
    for metric, level in thresholds.items():
        value = scores[metric]
        if metric in LOWER_IS_BETTER:
            verdicts[metric] = {"maximum": level, "value": value, "passed": value <= level}
        else:
            verdicts[metric] = {"minimum": level, "value": value, "passed": value >= level}
    return verdicts


def evaluate(recipe: Recipe) -> StageOutput:
    """Score the base and the tuned model on every suite of `recipe.eval`."""
    check_paths(recipe, ["eval"])
    corpus, trained = open_upstreams(recipe, ["corpus", "train"])
    check_base_unchanged(recipe.model.path, trained.path)
    tok = load_trained_tokenizer(trained.path)
    suites = [load_suite(s, corpus.path) for s in recipe.eval.suites]
    prompts = {s.name: suite_prompts(tok, s) for s in suites}
    results: dict = {"suites": {}}
    all_rows: dict[tuple[str, str], list[dict]] = {}

    model = load_model(recipe.model, dtype="float32")
    with progress() as bar:
        for label in ("base", "tuned"):
            if label == "tuned":
                method = trained.manifest["section"]["train"]["method"]
                if method == "full":
                    del model  # the tuned checkpoint replaces the base
                model = load_tuned_model(recipe.model, trained.path, method,
                                         base=None if method == "full" else model)
            for suite in suites:
                task = bar.add_task(f"{suite.name} · {label}", total=work_units(suite), info="")
                all_rows[(suite.name, label)] = score_suite(
                    model, tok, suite, prompts[suite.name], recipe.eval.batch_size,
                    recipe.eval.max_new_tokens, on_batch=lambda k, t=task: bar.advance(t, k),
                )

    figures = {}
    for suite in suites:
        entry = {
            "path": str(suite.path),
            "task": suite.task,
            "suite_hash": suite.hash,
            "prompts_hash": hashlib.sha256("\n".join(prompts[suite.name]).encode()).hexdigest(),
            "chat_template_sha256": hashlib.sha256(tok.chat_template.encode()).hexdigest(),
            "items": len(suite.items),
            "few_shot": len(suite.shots),
            "items_file": f"items/{suite.name}.jsonl" if suite.built else None,
            "metrics": suite.metrics,
            "primary_metric": suite.primary,
            "thresholds": suite.spec.thresholds,
            "models": {},
        }
        for label in ("base", "tuned"):
            entry["models"][label] = summarize(suite, all_rows[(suite.name, label)])
            for metric, value in entry["models"][label]["scores"].items():
                figures[f"{suite.name}/{label}/{metric}"] = round(value, 4)
        results["suites"][suite.name] = entry

    with tracking.stage_run(recipe, "eval") as run:
        with stage_folder(recipe, "eval", [corpus, trained]) as out:
            write_json(out.path / "results.json", results)
            for suite in suites:
                if suite.built:  # the built items, so the run can be audited and re-scored
                    write_jsonl(out.path / "items" / f"{suite.name}.jsonl", suite.raw_items)
            for (suite_name, label), rows in all_rows.items():
                write_jsonl(out.path / "outputs" / f"{suite_name}.{label}.jsonl", rows)
            out.figures.update(figures)
        run.log_stage(out)
    return out
