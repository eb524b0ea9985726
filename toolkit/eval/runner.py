"""The eval stage: every suite on the base model and on the tuned model (base + adapter),
same items, same prompts, greedy decoding.

Prompts are rendered with the tokenizer the train stage saved (the one the export ships),
so the model is scored on exactly the text it will see when served.
"""

from __future__ import annotations

import hashlib
from statistics import fmean

import torch

from toolkit import tracking
from toolkit.artifacts import StageOutput, open_upstreams, stage_folder, write_json, write_jsonl
from toolkit.console import progress
from toolkit.eval.metrics import METRICS
from toolkit.eval.suite import Suite, load_suite
from toolkit.recipe import Recipe, check_paths
from toolkit.train.model import check_base_unchanged, load_model


def load_trained_tokenizer(train_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(train_dir / "tokenizer", local_files_only=True)


def render_prompts(tok, items: list[dict]) -> list[str]:
    return [
        tok.apply_chat_template(item["messages"][:-1], tokenize=False, add_generation_prompt=True)
        for item in items
    ]


@torch.no_grad()
def generate(model, tok, prompts: list[str], batch_size: int, max_new_tokens: int,
             on_batch=None) -> list[str]:
    """Greedy completions of `prompts`, batched with left padding and the KV cache."""
    tok.padding_side = "left"
    model.eval()
    eos = model.generation_config.eos_token_id
    outputs: list[str] = []
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start:start + batch_size]
        enc = tok(chunk, return_tensors="pt", padding=True, add_special_tokens=False)
        enc = {k: v.to(model.device) for k, v in enc.items()}
        out = model.generate(
            **enc,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            num_beams=1,
            eos_token_id=eos if eos is not None else tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
            use_cache=True,
        )
        new = out[:, enc["input_ids"].shape[1]:]
        outputs += [t.strip() for t in tok.batch_decode(new, skip_special_tokens=True)]
        if on_batch:
            on_batch(len(chunk))
    return outputs


def score_items(suite: Suite, outputs: list[str]) -> list[dict]:
    rows = []
    for item, output in zip(suite.items, outputs):
        reference = item["messages"][-1]["content"]
        rows.append({
            "id": item["id"],
            "task": (item.get("meta") or {}).get("task"),
            "output": output,
            "reference": reference,
            "scores": {m: METRICS[m](output, reference) for m in suite.metrics},
        })
    return rows


def summarize(suite: Suite, rows: list[dict]) -> dict:
    scores = {m: fmean(r["scores"][m] for r in rows) for m in suite.metrics} if rows else {}
    by_task: dict[str, dict] = {}
    for task in sorted({r["task"] for r in rows if r["task"]}):
        sub = [r for r in rows if r["task"] == task]
        by_task[task] = {"items": len(sub),
                         **{m: fmean(r["scores"][m] for r in sub) for m in suite.metrics}}
    return {"scores": scores, "by_task": by_task}


def evaluate(recipe: Recipe) -> StageOutput:
    """Score the base and the tuned model on every suite of `recipe.eval`."""
    from peft import PeftModel

    check_paths(recipe, ["eval"])
    corpus, trained = open_upstreams(recipe, ["corpus", "train"])
    check_base_unchanged(recipe.model.path, trained.path)
    tok = load_trained_tokenizer(trained.path)
    suites = [load_suite(s, corpus.path) for s in recipe.eval.suites]
    prompts = {s.name: render_prompts(tok, s.items) for s in suites}
    results: dict = {"suites": {}}
    all_rows: dict[tuple[str, str], list[dict]] = {}

    model = load_model(recipe.model, dtype="float32")
    with progress() as bar:
        for label in ("base", "tuned"):
            if label == "tuned":
                model = PeftModel.from_pretrained(model, trained.path / "adapter")
            for suite in suites:
                n = len(suite.items)
                task = bar.add_task(f"{suite.name} · {label}", total=n, info="")
                outputs = generate(
                    model, tok, prompts[suite.name], recipe.eval.batch_size,
                    suite.spec.max_new_tokens or recipe.eval.max_new_tokens,
                    on_batch=lambda k, t=task: bar.advance(t, k),
                )
                rows = score_items(suite, outputs)
                for row, prompt in zip(rows, prompts[suite.name]):
                    row["prompt_sha256"] = hashlib.sha256(prompt.encode("utf-8")).hexdigest()
                all_rows[(suite.name, label)] = rows

    figures = {}
    for suite in suites:
        entry = {
            "path": str(suite.path),
            "suite_hash": suite.hash,
            "prompts_hash": hashlib.sha256("\n".join(prompts[suite.name]).encode()).hexdigest(),
            "chat_template_sha256": hashlib.sha256(tok.chat_template.encode()).hexdigest(),
            "items": len(suite.items),
            "metrics": suite.metrics,
            "primary_metric": suite.primary,
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
            for (suite_name, label), rows in all_rows.items():
                write_jsonl(out.path / "outputs" / f"{suite_name}.{label}.jsonl", rows)
            out.figures.update(figures)
        run.log_stage(out)
    return out
