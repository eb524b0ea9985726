"""The corpus stage: sources -> clean -> instruction examples -> split -> JSONL.

Every input file ends in `accounting.jsonl` as kept, dropped (with a reason) or
quarantined (with a reason), and the manifest's counts add up.
"""

from __future__ import annotations

from collections import Counter

from toolkit import tracking
from toolkit.artifacts import StageOutput, stage_folder, write_jsonl
from toolkit.corpus.clean import normalize_text
from toolkit.corpus.sources import Quarantined, documents
from toolkit.corpus.split import split_documents
from toolkit.corpus.synth import BUILDERS
from toolkit.errors import DataError
from toolkit.recipe import Recipe, check_paths


def build_corpus(recipe: Recipe) -> StageOutput:
    """Build the instruction corpus of `recipe` into <run>/corpus/."""
    check_paths(recipe, ["corpus"])
    cfg = recipe.corpus
    accounting: list[dict] = []
    kept = []
    for source in cfg.sources:
        for item in documents(source):
            if isinstance(item, Quarantined):
                accounting.append({"source": item.source, "path": item.path,
                                   "status": "quarantined", "reason": item.reason})
                continue
            item.text = normalize_text(item.text)
            if len(item.text) < cfg.min_chars:
                accounting.append({"source": item.source, "path": item.path, "id": item.id,
                                   "sha256": item.meta["sha256"], "status": "dropped",
                                   "reason": f"shorter than corpus.min_chars ({cfg.min_chars})"})
                continue
            kept.append(item)
    if not kept:
        raise DataError(
            f"No usable documents in corpus.sources ({', '.join(str(s.path) for s in cfg.sources)}): "
            f"{len(accounting)} files were dropped or quarantined. See the reasons with "
            f"--debug, or check the source folders and their glob."
        )
    split = split_documents(
        {d.id: d.meta.get("문서종류") or "" for d in kept}, cfg.eval_fraction, recipe.seed
    )
    records: dict[str, list[dict]] = {"train": [], "eval": []}
    per_task: Counter = Counter()
    for doc in kept:
        made = []
        for task in cfg.tasks:
            made += BUILDERS[task](doc, cfg.max_answer_chars)
        status = "kept" if made else "dropped"
        accounting.append({
            "source": doc.source, "path": doc.path, "id": doc.id, "sha256": doc.meta["sha256"],
            "status": status,
            "split": split[doc.id], "records": len(made),
            **({} if made else {"reason": "no instruction task applies to this document"}),
        })
        for rec in made:
            rec["meta"]["split"] = split[doc.id]
            records[split[doc.id]].append(rec)
            per_task[f"{split[doc.id]}/{rec['meta']['task']}"] += 1

    for side, knob in (("train", "lower"), ("eval", "raise")):
        if not records[side]:
            raise DataError(
                f"The corpus has no {side} examples: {len(kept)} documents split with "
                f"corpus.eval_fraction={cfg.eval_fraction} leave the {side} side empty. "
                f"{knob.capitalize()} corpus.eval_fraction or add documents."
            )
    status_counts = Counter(a["status"] for a in accounting)
    reasons = Counter(f"{a['status']}: {a['reason']}" for a in accounting if "reason" in a)
    figures = {
        "files_read": len(accounting),
        "documents_kept": status_counts["kept"],
        "documents_dropped": status_counts["dropped"],
        "documents_quarantined": status_counts["quarantined"],
        "reasons": dict(reasons),
        "documents_train": sum(1 for a in accounting if a.get("split") == "train" and a["status"] == "kept"),
        "documents_eval": sum(1 for a in accounting if a.get("split") == "eval" and a["status"] == "kept"),
        "records_train": len(records["train"]),
        "records_eval": len(records["eval"]),
        "records_by_split_task": dict(sorted(per_task.items())),
        "chars_train": sum(len(m["content"]) for r in records["train"] for m in r["messages"]),
    }
    with tracking.stage_run(recipe, "corpus") as run:
        with stage_folder(recipe, "corpus") as out:
            write_jsonl(out.path / "train.jsonl", records["train"])
            write_jsonl(out.path / "eval.jsonl", records["eval"])
            write_jsonl(out.path / "accounting.jsonl", accounting)
            out.figures.update(figures)
        run.log_stage(out)
    return out
