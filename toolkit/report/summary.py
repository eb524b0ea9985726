"""summary.json: every figure the report shows, gathered from the upstream stage folders
(manifests, results.json, outputs/*.jsonl, verification.json), never from another stage's
code. The HTML and the PDF are rendered from this file alone (`toolkit.report.render`).

What the eval provides is used as it is, and nothing it computed is computed again:
intervals of every mean and every pair of candidates, floors and ceiling, the smallest
detectable difference, contamination statements and candidate latency or cost. A figure
results.json lacks (an eval from an older gongmu) is left out, and a verdict that needs
it is 판정 불가 until the eval is re-run.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
from pathlib import Path

from toolkit.artifacts import SIGNATURE, read_json, read_jsonl
from toolkit.recipe import Recipe
from toolkit.report import acceptance as acc

SCHEMA = 1


# --------------------------------------------------------------------------- eval


def _interval_from_results(model: dict, metric: str) -> tuple[float, float] | None:
    """An interval of `metric` the eval stage recorded for a candidate, in any of the
    shapes it may use: intervals/ci[metric] as {low, high}, {ci_low, ci_high} or [low, high]."""
    for key in ("intervals", "ci", "confidence_intervals"):
        found = (model.get(key) or {}).get(metric) if isinstance(model.get(key), dict) else None
        if isinstance(found, dict):
            low = found.get("low", found.get("ci_low"))
            high = found.get("high", found.get("ci_high"))
            if low is not None and high is not None:
                return float(low), float(high)
        elif isinstance(found, (list, tuple)) and len(found) == 2:
            return float(found[0]), float(found[1])
    return None


def _threshold_interval(model: dict, metric: str) -> tuple[float, float] | None:
    """The interval the eval judged a threshold on (thresholds[metric] ci_low, ci_high)."""
    found = (model.get("thresholds") or {}).get(metric) or {}
    if found.get("ci_low") is not None and found.get("ci_high") is not None:
        return float(found["ci_low"]), float(found["ci_high"])
    return None


def _floors(entry: dict, metric: str) -> dict | None:
    """{"floor": {strategy: score}, "ceiling": score} when the eval provides them."""
    floors = entry.get("floors")
    ceiling = entry.get("ceiling")
    out: dict = {}
    if isinstance(floors, dict) and floors:
        table = {}
        for strategy, value in floors.items():
            if isinstance(value, dict):
                value = value.get("scores", value).get(metric) if isinstance(
                    value.get("scores", value), dict) else None
            if isinstance(value, (int, float)):
                table[strategy] = float(value)
        if table:
            out["floor"] = table
    if isinstance(ceiling, dict):
        ceiling = ceiling.get("scores", ceiling).get(metric)
    if isinstance(ceiling, (int, float)):
        out["ceiling"] = float(ceiling)
    return out or None


def _contamination(entry: dict) -> dict | None:
    """{"statement" (the eval's words), "items", "above_20_percent"} when results.json
    carries a contamination entry for the suite."""
    found = entry.get("contamination")
    if isinstance(found, str):
        return {"statement": found}
    if isinstance(found, dict):
        overlap = found.get("training_overlap") or {}
        return {"statement": found.get("statement") or found.get("text"),
                "items": overlap.get("items"), "above_20_percent": overlap.get("above_20_percent")}
    return None


def _criterion(recipe: Recipe, suite: str, entry: dict) -> tuple[dict | None, str | None, str]:
    """(criterion, source, metric) of a suite: report.acceptance, else the suite's threshold
    on its primary metric (a minimum, or a maximum for a lower-is-better metric)."""
    primary = entry["primary_metric"]
    given = recipe.report.acceptance.get(suite)
    if given is not None:
        data = given.model_dump(exclude_none=True)
        metric = data.pop("metric", None) or primary
        return data, "recipe", metric
    level = (entry.get("thresholds") or {}).get(primary)
    if level is None:
        return None, None, primary
    higher = entry.get("higher_is_better", {}).get(primary, True)
    return ({"minimum": level} if higher else {"maximum": level}), "suite", primary


def _suite(recipe: Recipe, eval_dir: Path, name: str, entry: dict, reference: str,
           samples_per_task: int) -> dict:
    models = entry["models"]
    criterion, source, metric = _criterion(recipe, name, entry)
    higher = entry.get("higher_is_better", {}).get(metric, True)
    rows_of = {c: read_jsonl(eval_dir / "outputs" / f"{name}.{c}.jsonl")
               if (eval_dir / "outputs" / f"{name}.{c}.jsonl").is_file() else [] for c in models}
    compared = (criterion or {}).get("non_inferiority", {}).get("reference", reference)
    bounds = _floors(entry, metric)
    floor = acc.best_floor((bounds or {}).get("floor"), higher)
    comparisons = entry.get("comparisons") or {}
    if not comparisons and (entry.get("comparison") or {}).get("reference"):
        comparisons = {entry["comparison"]["reference"]: entry["comparison"]}
    interval_sources = set()
    table = []
    for cand, model in models.items():
        mean = model.get("scores", {}).get(metric)
        interval = _interval_from_results(model, metric) or _threshold_interval(model, metric)
        if interval is not None:
            interval_sources.add("results")
        else:  # an eval from before results.json carried every interval: not judged here
            interval = (math.nan, math.nan)
        failures = model.get("failures") or {}
        not_asked = sum(n for kind, n in failures.items() if kind in acc.NOT_ASKED_KINDS)
        row = {"candidate": cand, "metric": metric, "mean": mean, "low": interval[0],
               "high": interval[1], "items": model.get("items"),
               "answered": model.get("answered"), "failed": model.get("failed", 0),
               "not_asked": not_asked, "choice_scoring": model.get("choice_scoring")}
        diff_low = diff_high = None
        if criterion and "non_inferiority" in criterion:
            if cand == compared:
                row["verdict"], row["verdict_reason"] = "reference", None
                table.append(row)
                continue
            known = (((comparisons.get(compared) or {}).get("candidates") or {}).get(cand)
                     or {}).get(metric)
            if known:
                row["diff"], diff_low, diff_high = known["diff"], known["ci_low"], known["ci_high"]
            row["diff_low"], row["diff_high"] = diff_low, diff_high
        row["verdict"], row["verdict_reason"] = acc.judge(
            criterion, higher, row["low"], row["high"], diff_low, diff_high,
            floor=floor, not_asked=not_asked)
        compared_by = (models.get(compared) or {}).get("choice_scoring")
        if (criterion and "non_inferiority" in criterion and row["choice_scoring"]
                and compared_by and compared_by != row["choice_scoring"]):
            # letter-scored and log-likelihood-scored choices are not comparable
            row["verdict"], row["verdict_reason"] = "inconclusive", "not_comparable"
        table.append(row)
    return {
        "name": name,
        "description": entry.get("description") or "",
        "task_type": entry.get("task_type"),
        "items": entry.get("items"),
        "metric": metric,
        "primary_metric": entry["primary_metric"],
        "higher_is_better": higher,
        "criterion": criterion,
        "criterion_source": source,
        "interval_source": "results" if interval_sources else None,
        "rows": table,
        "bounds": bounds,
        "best_floor": {"strategy": floor[0], "score": floor[1]} if floor else None,
        "item_pool": entry.get("item_pool"),
        "scoring_mixed": len({m.get("choice_scoring") for m in models.values()
                              if m.get("choice_scoring")}) > 1,
        "contamination": _contamination(entry),
        "metrics": [{"metric": m, "higher_is_better": entry.get("higher_is_better", {}).get(m, True),
                     "values": {c: models[c].get("scores", {}).get(m) for c in models}}
                    for m in entry.get("metrics", [])],
        "tasks": _tasks(models, metric),
        "samples": _samples(rows_of, samples_per_task),
        "smallest_detectable_difference": entry.get("min_detectable_diff")
        if metric == entry["primary_metric"] else None,
        "few_clusters": entry.get("few_clusters"),
        "n_clusters": entry.get("n_clusters"),
        "hashes": {k: entry.get(k) for k in ("suite_hash", "prompts_hash", "chat_template_sha256")},
    }


def _tasks(models: dict, metric: str) -> list[dict]:
    names = sorted({t for m in models.values() for t in (m.get("by_task") or {})})
    out = []
    for task in names:
        first = next(m["by_task"][task] for m in models.values() if task in (m.get("by_task") or {}))
        out.append({"task": task, "items": first.get("items"),
                    "values": {c: (m.get("by_task") or {}).get(task, {}).get(metric)
                               for c, m in models.items()}})
    return out


def _samples(rows_of: dict[str, list[dict]], per_task: int) -> list[dict]:
    """The first `per_task` items of each task, in item order (the same sample every time),
    with each candidate's output."""
    names = list(rows_of)
    first = next((rows for rows in rows_of.values() if rows), [])
    by_id = {c: {r["id"]: r for r in rows} for c, rows in rows_of.items()}
    taken: dict[str, int] = {}
    out = []
    for row in first:
        task = row.get("task") or "-"
        if taken.get(task, 0) >= per_task:
            continue
        taken[task] = taken.get(task, 0) + 1
        outputs = {}
        for c in names:
            other = by_id[c].get(row["id"], {})
            outputs[c] = other.get("output") if not other.get("failed") else None
        out.append({"id": row["id"], "task": task, "reference": row.get("reference", ""),
                    "outputs": outputs})
    return out


def _candidates(results: dict) -> list[dict]:
    out = []
    names = list(results.get("candidates") or {})
    for suite in (results.get("suites") or {}).values():
        names += [n for n in suite.get("models", {}) if n not in names]
    for name in names:
        info = (results.get("candidates") or {}).get(name) or {}
        latency = info.get("latency_s") if isinstance(info.get("latency_s"), dict) else None
        out.append({
            "name": name,
            "kind": info.get("kind") or ("stage" if name in ("base", "tuned") else None),
            "source": info.get("model") or info.get("path") or info.get("stage") or info.get("base_url"),
            "latency_mean_s": latency.get("mean") if latency else None,
            "latency_p95_s": latency.get("p95") if latency else None,
            "cost": info.get("cost"),
            "seconds": info.get("seconds"),
        })
    return out


# --------------------------------------------------------------------------- the rest


def _data(corpus) -> dict:
    figures = corpus.manifest.get("figures", {})
    section = corpus.manifest.get("section", {}).get("corpus", {})
    per_source = figures.get("per_source", {})
    sources = []
    for src in section.get("sources", []):
        name = src.get("name") or Path(src["path"]).name
        counts = per_source.get(name, {})
        sources.append({"name": name, "type": src.get("type"), "path": src.get("path"),
                        "licence": src.get("license") or section.get("license"),
                        "origin": src.get("origin"), "files": counts.get("files"),
                        "kept": counts.get("kept"), "dropped": counts.get("dropped"),
                        "quarantined": counts.get("quarantined")})
    docs = figures.get("documents_by_split", {})
    decontam = section.get("decontamination", {})
    card = corpus.path / "data_card.md"
    return {
        "sources": sources,
        "documents": {"train": docs.get("train", 0), "validation": docs.get("validation", 0),
                      "test": docs.get("test", 0), "read": figures.get("documents_read"),
                      "kept": figures.get("documents_kept")},
        "records": {k: figures.get(f"records_{k}", 0) for k in ("train", "validation", "test")},
        "pii_redacted": figures.get("pii_redacted", {}),
        "dedup": {"exact": figures.get("documents_exact_duplicates", 0),
                  "near": figures.get("documents_near_duplicates", 0),
                  "instructions": figures.get("examples_instruction_duplicates", 0)},
        "split": {"seed": corpus.manifest.get("section", {}).get("seed"),
                  "test_fraction": section.get("test_fraction"),
                  "validation_fraction": section.get("validation_fraction")},
        "contamination": {"removed": figures.get("examples_decontaminated", 0),
                          "eval_items": figures.get("decontamination_eval_items"),
                          "ngram": decontam.get("ngram"), "threshold": decontam.get("threshold"),
                          **_overlap(figures.get("eval_overlap"))},
        "split_clusters": (figures.get("split_clusters") or {}).get("clusters"),
        "data_card": "../corpus/data_card.md" if card.is_file() else None,
        "data_card_sha256": (corpus.manifest.get("files", {}).get("data_card.md") or {}).get("sha256"),
    }


def _overlap(found) -> dict:
    """The corpus stage's overlap of eval references with training examples (share of
    references above 20% shared 13-word or 20-character sequences), when it measured it."""
    if not isinstance(found, dict) or not found:
        return {}

    def either(side: dict) -> float | None:
        return next((v for k, v in (side or {}).items() if k.startswith("above_")
                     and k.endswith("_either")), None)

    after = found.get("after_decontamination") or {}
    return {"overlap_items": after.get("items"),
            "overlap_before": either(found.get("before_decontamination")),
            "overlap_after": either(after)}


def _training(trained) -> dict:
    figures = trained.manifest.get("figures", {})
    section = trained.manifest.get("section", {})
    train = section.get("train", {})
    base = read_json(trained.path / "base_model.json") if (trained.path / "base_model.json").is_file() else {}
    curve = read_jsonl(trained.path / "loss_curve.jsonl") if (trained.path / "loss_curve.jsonl").is_file() else []
    host = trained.manifest.get("host") or {}
    return {
        "base_model": section.get("model", {}).get("path"),
        "base_model_sha256": base.get("sha256"),
        "method": train.get("method"),
        "lora": {k: train.get("lora", {}).get(k) for k in ("r", "alpha", "dropout", "target_modules")},
        "hyperparameters": {k: train.get(k) for k in ("learning_rate", "epochs", "batch_size",
                                                      "max_seq_len", "lr_scheduler", "warmup_ratio")
                            if train.get(k) is not None},
        "steps": figures.get("steps"), "epochs": figures.get("epochs"),
        "loss_first": figures.get("loss_first"), "loss_last": figures.get("loss_last"),
        "trainable_parameters": figures.get("trainable_parameters"),
        "total_parameters": figures.get("total_parameters"),
        "tokens_per_second": figures.get("tokens_per_second"),
        "train_seconds": figures.get("train_seconds"),
        "peak_memory_mb": figures.get("peak_memory_mb"),
        "records": figures.get("data_train", figures.get("data_records")),
        "hardware": (host.get("gpu") or host.get("cpu") or host.get("platform")
                     or figures.get("distributed") or platform.machine())
        if isinstance(host, dict) else str(host),
        "loss_curve": [{"step": r["step"], "loss": r["loss"]} for r in curve],
    }


def _export(exported) -> dict:
    verification = read_json(exported.path / "verification.json")
    gguf = read_json(exported.path / "gguf" / "gguf.json") if (exported.path / "gguf" / "gguf.json").is_file() else []
    return {
        "passed": verification.get("passed"),
        "failures": verification.get("failures", []),
        "dtype": verification.get("dtype"),
        "max_abs_logit_diff": verification.get("max_abs_logit_diff"),
        "max_logit_diff_allowed": verification.get("max_logit_diff_allowed"),
        "probes": verification.get("probes"),
        "greedy_identical": verification.get("greedy_identical"),
        "greedy_agreement": verification.get("greedy_agreement"),
        "chat_template_identical": verification.get("chat_template_identical"),
        "tokenizer_round_trip": verification.get("tokenizer_round_trip"),
        "gguf_files": [Path(g["file"]).name if isinstance(g, dict) and "file" in g else str(g) for g in gguf],
        "signed": (exported.path / SIGNATURE).is_file(),
    }


def _lineage(recipe: Recipe, ups: list) -> dict:
    first = ups[0].manifest if ups else {}
    git = first.get("git") or {}
    return {
        "stages": [{"stage": u.stage, "manifest_sha256": u.manifest_sha256,
                    "finished_at": u.manifest.get("finished_at"),
                    "signed": (u.path / SIGNATURE).is_file()} for u in ups],
        "recipe_hash": recipe.hash(),
        "packages": {k: v for k, v in (first.get("packages") or {}).items()
                     if k in ("torch", "transformers", "peft", "trl", "accelerate", "gguf",
                              "datatrove", "kiwipiepy", "sacrebleu", "gongmu")},
        "git": git.get("commit") if isinstance(git, dict) else git,
        "reproduce": f"gongmu run {_shown_path(recipe.file) if recipe.file else 'RECIPE.yaml'}",
    }


def _shown_path(path: Path) -> str:
    """The recipe path as the person who ran it would type it: relative to the working
    directory when it lies below it."""
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def build_summary(recipe: Recipe, inputs: dict, *, generated: str) -> dict:
    """Every figure the report shows, from the upstream folders in `inputs`."""
    from toolkit import __version__

    ups = [inputs[s] for s in ("corpus", "train", "eval", "export") if s in inputs]
    results = read_json(inputs["eval"].path / "results.json")
    reference = results.get("reference") or next(
        iter(next(iter(results["suites"].values()))["models"]))
    suites = [_suite(recipe, inputs["eval"].path, name, entry, reference,
                      recipe.report.samples_per_task)
              for name, entry in results["suites"].items()]
    candidates = _candidates(results)
    per_candidate = {c["name"]: acc.overall([next((r["verdict"] for r in s["rows"]
                                                    if r["candidate"] == c["name"]), "none")
                                             for s in suites]) for c in candidates}
    return {
        "schema": SCHEMA,
        "language": recipe.report.language,
        "title": recipe.report.title,
        "recipe": {"name": recipe.name, "hash": recipe.hash(), "description": recipe.description},
        "generated": generated,
        "gongmu_version": __version__,
        "reference": reference,
        "candidates": candidates,
        "suites": suites,
        "overall": per_candidate,
        "data": _data(inputs["corpus"]) if "corpus" in inputs else None,
        "training": _training(inputs["train"]) if "train" in inputs else None,
        "export": _export(inputs["export"]) if "export" in inputs else None,
        "lineage": _lineage(recipe, ups),
        "review": {"reviewer": recipe.report.reviewer, "organisation": recipe.report.organisation},
        "bootstrap_resamples": results.get("bootstrap_resamples"),
    }


def summary_bytes(summary: dict) -> bytes:
    """summary.json as written (and hashed): sorted keys, UTF-8, no NaN (null instead)."""
    def clean(value):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return (json.dumps(clean(summary), ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def summary_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
