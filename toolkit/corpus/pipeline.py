"""The corpus pipeline behind `toolkit.corpus.stage`.

1. datatrove pipeline, sharded over `corpus.workers` processes (or Slurm / Ray tasks):
   read sources → clean (NFC, full-width fold, amendment notes) → profile filters →
   PII redaction → write documents + MinHash signatures.
2. datatrove MinHash buckets and clusters.
3. In one process (`finish_corpus`): exact and near-duplicate documents dropped, split
   by document into train/validation/test, instruction synthesis, instruction-level
   dedup, 13-gram decontamination against the test split and eval suites, outputs,
   accounting and the data card.

Every input ends in `accounting.jsonl` as kept, dropped (with the step and reason) or
quarantined (with the reason); `check_accounting` proves the counts add up per source.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from toolkit.artifacts import StageOutput, copy_atomic, write_jsonl
from toolkit.console import console
from toolkit.errors import DataError, RecipeError
from toolkit.recipe import Recipe


def executors(recipe: Recipe, work: Path) -> list:
    """The datatrove executors of steps 1 and 2, and (last) the one that finishes."""
    from datatrove.pipeline.dedup.minhash import MinhashDedupBuckets, MinhashDedupCluster
    from datatrove.pipeline.writers import JsonlWriter

    from toolkit.corpus import steps

    cfg = recipe.corpus
    w = str(work)
    mh = steps.minhash_config(cfg)
    first = [
        steps.ReadSources(cfg.sources, w),
        steps.CleanKoreanText(cfg),
        steps.FilterByProfile(cfg, w),
        steps.RedactPII(cfg),
        steps.SynthesizeInstructions(cfg, recipe.seed),
        JsonlWriter(f"{w}/documents", output_filename="${rank}.jsonl", compression=None),
    ]
    if cfg.dedup.minhash.enabled:
        first.append(steps.KoreanMinhashSignature(f"{w}/minhash/signatures", cfg))
    buckets = [MinhashDedupBuckets(f"{w}/minhash/signatures", f"{w}/minhash/buckets", config=mh)]
    cluster = [MinhashDedupCluster(f"{w}/minhash/buckets", f"{w}/minhash/clusters", config=mh,
                                   save_cluster_id=True)]
    finish = [_FinishCorpus(recipe, w)]
    n_buckets = mh.num_buckets
    if cfg.executor == "local":
        from datatrove.executor import LocalPipelineExecutor

        workers = min(cfg.workers, os.cpu_count() or 1)
        if workers < cfg.workers:
            console.print(f"corpus.workers={cfg.workers} is more than this machine's "
                          f"{workers} CPUs; running {workers}.", highlight=False)

        def local(pipeline, n, name, depends=None):
            # One worker runs in this process (no forkserver start-up for small corpora).
            return LocalPipelineExecutor(pipeline, tasks=n, workers=min(workers, n),
                                         logging_dir=f"{w}/logs/{name}", depends=depends,
                                         skip_completed=False)

        plan = [("documents", local(first, workers, "documents"))]
        if cfg.dedup.minhash.enabled:
            plan += [("minhash buckets", local(buckets, n_buckets, "buckets")),
                     ("minhash clusters", local(cluster, 1, "clusters"))]
        return plan + [None]
    if cfg.executor == "slurm":
        from datatrove.executor import SlurmPipelineExecutor

        s = cfg.slurm

        def slurm(pipeline, n, name, depends=None):
            return SlurmPipelineExecutor(
                pipeline, tasks=n, time=s.time, partition=s.partition,
                cpus_per_task=s.cpus_per_task, mem_per_cpu_gb=s.mem_per_cpu_gb,
                job_name=f"gongmu-corpus-{name}", logging_dir=f"{w}/logs/{name}",
                sbatch_args=dict(s.sbatch_args), depends=depends, skip_completed=False)

        a = slurm(first, s.shards, "documents")
        b = slurm(buckets, n_buckets, "buckets", a) if cfg.dedup.minhash.enabled else a
        c = slurm(cluster, 1, "clusters", b) if cfg.dedup.minhash.enabled else a
        return [slurm(finish, 1, "finish", c)]
    try:
        import ray as ray_lib
    except ImportError:
        raise RecipeError(
            f"{recipe.where('corpus', 'executor')}: corpus.executor: ray needs Ray, which is "
            f"not installed. Install it (pip install ray) on every node, or use local/slurm."
        ) from None
    from datatrove.executor import RayPipelineExecutor

    r = cfg.ray

    def on_ray(pipeline, n, name):
        return RayPipelineExecutor(pipeline, tasks=n, cpus_per_task=r.cpus_per_task,
                                   logging_dir=f"{w}/logs/{name}", skip_completed=False)

    # Ray runs the sharded steps and waits for them; this process finishes the corpus
    # as the local executor does (it holds the run lock, so a Ray worker could not).
    if not ray_lib.is_initialized():
        ray_lib.init(address=r.address, ignore_reinit_error=True, log_to_driver=False)
    plan = [("documents", on_ray(first, r.shards, "documents"))]
    if cfg.dedup.minhash.enabled:
        plan += [("minhash buckets", on_ray(buckets, n_buckets, "buckets")),
                 ("minhash clusters", on_ray(cluster, 1, "clusters"))]
    return plan + [None]


def check_executor_finished(executor, name: str) -> None:
    """datatrove's Ray executor logs a warning when tasks fail and returns; a corpus
    built from the shards that did finish would silently lack documents."""
    missing = executor.get_incomplete_ranks(range(executor.world_size), skip_completed=True)
    if missing:
        raise DataError(
            f"The corpus step '{name}' did not finish on {len(missing)} of "
            f"{executor.world_size} shards ({', '.join(map(str, missing[:10]))}); nothing was "
            f"published. The Ray task logs are in {executor.logging_dir.path}; fix the cause "
            f"and run the corpus build again."
        )


class _FinishCorpus:
    """The last pipeline step on a cluster: runs `finish_corpus` once (world size 1)."""

    def __init__(self, recipe: Recipe, work: str):
        self.recipe, self.work = recipe, work

    def __call__(self, data=None, rank: int = 0, world_size: int = 1):
        finish_corpus(self.recipe, Path(self.work), time.time())
        return iter(())


# --------------------------------------------------------------------------- finish


def _read_documents(work: Path) -> list[dict]:
    docs = []
    for path in sorted((work / "documents").glob("*.jsonl")):
        rank = int(path.stem)
        with path.open(encoding="utf-8") as fh:
            for index, line in enumerate(fh):
                d = json.loads(line)
                docs.append({"id": d["id"], "text": d["text"], "meta": d.get("metadata") or {},
                             "rank": rank, "index": index})
    return docs


def _read_step_accounting(work: Path) -> list[dict]:
    rows = []
    for path in sorted((work / "accounting").glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            rows += [json.loads(line) for line in fh]
    return rows


def _step_stats(work: Path) -> dict:
    """datatrove's merged per-step counters of the sharded step."""
    path = work / "logs" / "documents" / "stats.json"
    if not path.is_file():
        return {}
    out = {}
    for step in json.loads(path.read_text(encoding="utf-8")):
        out[step["name"]] = {k: (v["total"] if isinstance(v, dict) and "total" in v else v)
                             for k, v in step.get("stats", {}).items() if k != "time"} \
            if isinstance(step.get("stats"), dict) else step.get("stats")
    return out


@dataclass
class _Build:
    """What `finish_corpus` carries from one phase to the next."""

    recipe: Recipe
    work: Path
    docs: list[dict]
    accounting: list[dict]
    dup: dict[str, str] = field(default_factory=dict)
    split: dict[str, str] = field(default_factory=dict)
    records: list[dict] = field(default_factory=list)
    made_by_doc: dict[str, int] = field(default_factory=dict)
    removed: list[dict] = field(default_factory=list)
    by_split: dict[str, list[dict]] = field(default_factory=dict)
    suite_items: int = 0
    split_figures: dict = field(default_factory=dict)
    eval_overlap: dict = field(default_factory=dict)
    teacher: dict | None = None
    phases: dict[str, float] = field(default_factory=dict)
    _tick: float = field(default_factory=time.time)

    @property
    def templated(self) -> set[str]:
        return set(self.recipe.corpus.dedup.templated_families)

    def phase(self, name: str) -> None:
        self.phases[name] = round(time.time() - self._tick, 2)
        self._tick = time.time()


def finish_corpus(recipe: Recipe, work: Path, started: float) -> StageOutput:
    """The one-process end of the corpus stage, in these phases:

    1. read back the documents and the accounting rows the sharded step wrote;
    2. drop exact and near-duplicate documents;
    3. split by document into train/validation/test, stratified by source (and 문서종류);
    4. collect the examples synthesised per document (templated families from training
       documents only) and, when configured, the teacher's rewrites;
    5. drop instruction-level duplicates, eval sides first, so a training copy goes;
    6. decontaminate training examples against the test split and the eval suites;
    7. account for every document, and check the counts add up per source;
    8. publish the splits, views, accounting, removed examples, held-out documents and
       the data card.
    """
    from toolkit.plugins import plugins_used
    from toolkit.stages import stage_run

    with stage_run(recipe, "corpus") as stage:
        build = _read_back(recipe, work)
        _drop_duplicate_documents(build)
        _split(build)
        _collect_examples(build)
        _drop_duplicate_examples(build)
        _decontaminate(build)
        per_source = _account(build)
        figures = _figures(recipe, build.docs, build.accounting, build.by_split, build.removed,
                           build.dup, per_source, build.suite_items, _step_stats(work), started)
        figures["split_clusters"] = build.split_figures
        figures["eval_overlap"] = build.eval_overlap
        figures["phase_seconds"] = build.phases
        if build.teacher is not None:
            figures["teacher"] = build.teacher
        stage.plugins = plugins_used(recipe.corpus.plugins)
        with stage.publish() as out:
            _write(build, out, figures)
    return stage.output


def _read_back(recipe: Recipe, work: Path) -> _Build:
    phases = json.loads((work / "phases.json").read_text()) if (work / "phases.json").is_file() else {}
    build = _Build(recipe, work, _read_documents(work), _read_step_accounting(work), phases=phases)
    if not build.docs:
        raise DataError(
            f"No usable documents in corpus.sources "
            f"({', '.join(str(s.path) for s in recipe.corpus.sources)}): {len(build.accounting)} "
            f"inputs were dropped or quarantined ({_reason_summary(build.accounting)}). Check "
            f"the source folders, their glob and the quality profiles."
        )
    return build


def _drop_duplicate_documents(build: _Build) -> None:
    from toolkit.corpus import dedup

    cfg = build.recipe.corpus
    clusters = dedup.read_clusters(build.work / "minhash" / "clusters") if cfg.dedup.minhash.enabled else {}
    build.dup = dedup.resolve_document_duplicates(build.docs, clusters, cfg.dedup.exact,
                                                  cfg.dedup.minhash.enabled)
    for d in build.docs:
        if d["id"] in build.dup:
            build.accounting.append(_doc_row(d, "dropped", "dedup", build.dup[d["id"]]))
    build.docs = [d for d in build.docs if d["id"] not in build.dup]
    build.phase("read back and document dedup")


def _split(build: _Build) -> None:
    from toolkit.corpus.split import ORDINANCE_TEST_SHARE, contamination_clusters, split_documents
    from toolkit.corpus.steps import KoreanMinhashSignature
    from toolkit.korean.legal import parse_ruling

    cfg = build.recipe.corpus
    signer = KoreanMinhashSignature(str(build.work / "unused"), cfg)

    def signature(text: str):
        shingles = signer.get_shingles(text)
        return [v for band in signer.get_signature(shingles) for v in band] if shingles.size else []

    def cited_cases(d: dict) -> list[str]:
        return parse_ruling(d["text"], d["meta"]).cited_cases if d["meta"].get("사건번호") else []

    clusters, joins = contamination_clusters(build.docs, signature, cited_cases)
    groups = {d["id"]: f"{d['meta'].get('source')}/{d['meta'].get('문서종류') or ''}" for d in build.docs}
    build.split = split_documents(
        groups, cfg.validation_fraction, cfg.test_fraction, build.recipe.seed, clusters=clusters,
        min_test_share={groups[d["id"]]: ORDINANCE_TEST_SHARE for d in build.docs
                        if d["meta"].get("source_type") in ("ordinances", "ordinance")},
    )
    sizes = Counter(clusters.values())
    build.split_figures = {"clusters": len(sizes), "clusters_of_2_or_more": sum(1 for n in sizes.values() if n > 1),
                           "largest_cluster": max(sizes.values(), default=0), "joins": joins}
    build.phase("split by cluster")


def _collect_examples(build: _Build) -> None:
    split, templated = build.split, build.templated
    for d in sorted(build.docs, key=lambda d: d["id"]):
        made = d["meta"].pop("records", [])
        for rec in made:
            rec["meta"]["split"] = split[d["id"]]
            if split[d["id"]] != "train" and rec["meta"]["task"] in templated:
                build.removed.append({
                    "id": rec["id"], "split": split[d["id"]], "step": "templated family",
                    "reason": f"'{rec['meta']['task']}' examples share a template; they are "
                              f"built for training documents only"})
        build.made_by_doc[d["id"]] = len(made)
        build.records += [r for r in made
                          if split[d["id"]] == "train" or r["meta"]["task"] not in templated]
    build.phase("collect examples")
    teacher = build.recipe.corpus.teacher
    if teacher is not None:
        from toolkit.corpus.teacher import rewrite_with_teacher

        build.records, build.teacher = rewrite_with_teacher(
            build.records, teacher, build.recipe.run_dir / "teacher-cache")


def _drop_duplicate_examples(build: _Build) -> None:
    from toolkit.corpus import dedup
    from toolkit.corpus.steps import KoreanMinhashSignature

    cfg = build.recipe.corpus
    order = {"test": 0, "validation": 1, "train": 2}
    build.records.sort(key=lambda r: (order[r["meta"]["split"]], r["id"]))
    if cfg.dedup.instructions:
        signer = KoreanMinhashSignature(str(build.work / "unused"), cfg)
        idup = dedup.instruction_duplicates(build.records, signer, exact=cfg.dedup.exact,
                                            near=cfg.dedup.minhash.enabled, exempt=build.templated)
        build.removed += [{"id": r["id"], "split": r["meta"]["split"], "step": "instruction dedup",
                           "reason": idup[r["id"]]} for r in build.records if r["id"] in idup]
        build.records = [r for r in build.records if r["id"] not in idup]
    build.phase("instruction dedup")


def _decontaminate(build: _Build) -> None:
    """Drop training examples that overlap the test split's examples, the held-out test
    documents' text and every item of `decontamination.suites`, builder suites included
    (built here from the held-out documents, as the eval stage will build them); then
    measure what the eval references still share with the training examples."""
    from toolkit.corpus import decontam, dedup

    dc = build.recipe.corpus.decontamination
    index = decontam.EvalIndex(dc.ngram)
    for r in build.records:
        if r["meta"]["split"] == "test":
            index.add(r["id"], dedup.record_text(r))
    heldout = _heldout_documents(build)
    for d in heldout:
        if d["split"] == "test":
            index.add(f"document {d['id']}", d["text"])
    references: dict[str, str] = {}
    for suite in dc.suites:
        for item_id, text, reference in _suite_items(suite, heldout):
            index.add(item_id, text)
            references[item_id] = reference
            build.suite_items += 1
    by_reference = decontam.EvalIndex(decontam.OVERLAP_CHARS, decontam.char_ngrams)
    for item_id, reference in references.items():
        by_reference.add(item_id, reference)
    before = decontam.reference_overlap(references, (dedup.record_text(r) for r in build.records
                                                     if r["meta"]["split"] == "train"))
    contaminated = {}
    for r in build.records:
        if r["meta"]["split"] != "train":
            continue
        text = dedup.record_text(r)
        share, item = index.worst_overlap(text)
        if share >= dc.threshold:
            contaminated[r["id"]] = (share, item, f"{dc.ngram}-gram overlap {share:.2f} with eval item {item}")
            continue
        # An example holding over OVERLAP_LIMIT of one eval reference's 20-character
        # sequences (a statute quoted in a ruling, an article copied into another law)
        # teaches that answer, however long the example is.
        share, item = by_reference.worst_overlap(text, item_side=True)
        if share > decontam.OVERLAP_LIMIT:
            contaminated[r["id"]] = (share, item, f"{decontam.OVERLAP_CHARS}-character overlap "
                                                  f"{share:.2f} with the reference of eval item {item}")
    build.removed += [{"id": rid, "split": "train", "step": "decontamination", "reason": reason,
                       "overlap": round(share, 4), "eval_item": item}
                      for rid, (share, item, reason) in sorted(contaminated.items())]
    build.records = [r for r in build.records if r["id"] not in contaminated]
    after = decontam.reference_overlap(references, (dedup.record_text(r) for r in build.records
                                                    if r["meta"]["split"] == "train"))
    build.eval_overlap = {"before_decontamination": {k: v for k, v in before.items() if k != "per_item"},
                          "after_decontamination": {k: v for k, v in after.items() if k != "per_item"},
                          "by_suite": _overlap_by_suite(after["per_item"])}
    build.phase("decontamination")


def _overlap_by_suite(per_item: dict[str, list[float]]) -> dict[str, dict]:
    from toolkit.corpus.decontam import OVERLAP_LIMIT

    out: dict[str, dict] = {}
    for item_id, (words, chars) in per_item.items():
        s = out.setdefault(item_id.split("/")[0], {"items": 0, "above_limit": 0})
        s["items"] += 1
        s["above_limit"] += int(words > OVERLAP_LIMIT or chars > OVERLAP_LIMIT)
    return dict(sorted(out.items()))


def _heldout_documents(build: _Build) -> list[dict]:
    """The held-out documents as `heldout_documents.jsonl` gives them to suite builders."""
    return [{"id": d["id"], "source": d["meta"].get("source"),
             "source_type": d["meta"].get("source_type"), "path": d["meta"].get("path"),
             "text": d["text"], "meta": d["meta"], "split": build.split[d["id"]]}
            for d in sorted(build.docs, key=lambda d: d["id"]) if build.split[d["id"]] != "train"]


def _account(build: _Build) -> dict[str, dict]:
    """Every kept document's row; the empty-corpus errors; the per-source check."""
    from toolkit.corpus.split import SPLITS

    cfg = build.recipe.corpus
    build.by_split = {s: [] for s in SPLITS}
    for r in sorted(build.records, key=lambda r: r["id"]):
        build.by_split[r["meta"]["split"]].append(r)
    kept_by_doc = Counter(r["meta"]["doc_id"] for r in build.records)
    for d in build.docs:
        n = kept_by_doc.get(d["id"], 0)
        if build.made_by_doc.get(d["id"], 0) == 0:
            build.accounting.append(_doc_row(d, "dropped", "synthesis",
                                             "no instruction task applies to this document"))
        elif n == 0:
            build.accounting.append(_doc_row(
                d, "dropped", "instruction filtering",
                "all its examples were removed as duplicates, eval overlap or held-out "
                "templated examples (see removed_examples.jsonl)"))
        else:
            row = _doc_row(d, "kept", None, None)
            row.update(split=build.split[d["id"]], records=n, pii=d["meta"].get("pii") or {})
            build.accounting.append(row)
    if not build.records:
        raise DataError(
            f"No instruction examples: none of corpus.families ({', '.join(cfg.families)}) "
            f"applies to the {len(build.docs)} documents kept (see accounting reasons 'no "
            f"instruction task applies'). Statutes, rulings and ordinances take lookup/explain/"
            f"summarise/route/draft/refuse; front-matter documents take title/doc_type/"
            f"department/article."
        )
    for side in ("train", "test"):
        if not build.by_split[side]:
            knob = "corpus.test_fraction (lower it)" if side == "train" else "corpus.test_fraction (raise it)"
            raise DataError(
                f"The corpus has no {side} examples: {len(build.docs)} documents split with "
                f"corpus.test_fraction={cfg.test_fraction} and corpus.validation_fraction="
                f"{cfg.validation_fraction} leave the {side} side empty. Change {knob} or add "
                f"documents."
            )
    return check_accounting(build.accounting, _input_counts(build.recipe))


def _write(build: _Build, out: StageOutput, figures: dict) -> None:
    from toolkit.corpus.card import write_card
    from toolkit.corpus.views import to_alpaca, to_sharegpt

    views = {"alpaca": to_alpaca, "sharegpt": to_sharegpt}
    cfg = build.recipe.corpus
    for side, rows in build.by_split.items():
        write_jsonl(out.path / f"{side}.jsonl", rows)
        for view in cfg.views:
            write_jsonl(out.path / view / f"{side}.jsonl", [views[view](r) for r in rows])
    write_jsonl(out.path / "accounting.jsonl",
                sorted(build.accounting, key=lambda a: (a.get("source") or "", a.get("path") or "",
                                                        a.get("id") or "")))
    write_jsonl(out.path / "removed_examples.jsonl", build.removed)
    # Held-out documents as cleaned and redacted, for eval suite builders.
    write_jsonl(out.path / "heldout_documents.jsonl", _heldout_documents(build))
    out.figures.update(figures)
    build.phase("write")
    card = write_card(build.recipe, out.path / "data_card.md", figures, build.by_split)
    build.phase("data card")
    if cfg.card is not None:
        copy_atomic(card, cfg.card)
        svg = cfg.card.stem + ".lengths.svg"
        copy_atomic(card.parent / svg, cfg.card.parent / svg)


def _doc_row(d: dict, status: str, step: str | None, reason: str | None) -> dict:
    m = d["meta"]
    row = {"id": d["id"], "source": m.get("source"), "path": m.get("path"),
           "sha256": m.get("sha256"), "status": status}
    if step:
        row["step"] = step
    if reason:
        row["reason"] = reason
    return row


def _suite_items(suite: Path, heldout: list[dict]) -> list[tuple[str, str, str]]:
    """(item id, all its text, its reference) of every item of an eval suite folder, for
    decontamination. A builder suite (`items: {builder: …}`) is built here, through the
    `gongmu.suites` entry point, from the held-out documents of its split; a `from_corpus`
    suite is the test split's examples, already indexed."""
    from toolkit import plugins
    from toolkit.safe_yaml import load_yaml

    spec_path = suite / "suite.yaml"
    spec = load_yaml(spec_path.read_text(encoding="utf-8"), str(spec_path)) or {}
    items = spec.get("items")
    name = spec.get("name", suite.name)
    if isinstance(items, dict) and items.get("builder"):
        split = items.get("split", "test")
        builder = plugins.load(plugins.SUITES, items["builder"])
        raw = list(builder.build([d for d in heldout if d["split"] == split], int(items.get("seed", 0))))
    elif isinstance(items, str):
        with (suite / items).open(encoding="utf-8") as fh:
            raw = [json.loads(line) for line in fh if line.strip()]
    else:
        return []
    out = []
    for n, item in enumerate(raw, 1):
        parts = [str(item.get(k, "")) for k in ("prompt", "reference", "context")]
        parts += [str(m.get("content", "")) for m in item.get("messages", [])]
        parts += [str(c) for c in item.get("choices", [])]
        item_id = str(item.get("id", n))
        item_id = item_id if item_id.startswith(f"{name}/") else f"{name}/{item_id}"
        reference = item.get("reference", "")
        out.append((item_id, "\n".join(p for p in parts if p),
                    reference if isinstance(reference, str) else json.dumps(reference, ensure_ascii=False)))
    return out


def _input_counts(recipe: Recipe) -> dict[str, int]:
    from toolkit.corpus.sources import source_files

    return {src.source_name: len(source_files(src)) for src in recipe.corpus.sources}


def check_accounting(accounting: list[dict], inputs: dict[str, int]) -> dict[str, dict]:
    """Per source: files listed, and documents kept / dropped / quarantined. Raises when
    a file of a source has no row (a document vanished). JSONL sources count lines."""
    per: dict[str, Counter] = defaultdict(Counter)
    files: dict[str, set] = defaultdict(set)
    for a in accounting:
        per[a["source"]][a["status"]] += 1
        files[a["source"]].add((a.get("path") or "").split(":")[0] if a.get("path") else a.get("id"))
    out = {}
    for name, n_files in inputs.items():
        seen = len(files.get(name, ()))
        if seen != n_files:
            raise DataError(
                f"Corpus accounting does not add up for source '{name}': {n_files} files were "
                f"listed but {seen} have a kept/dropped/quarantined row. This is a gongmu bug; "
                f"run with --debug and report it."
            )
        c = per.get(name, Counter())
        out[name] = {"files": n_files, "kept": c["kept"], "dropped": c["dropped"],
                     "quarantined": c["quarantined"]}
    return out


def _reason_summary(accounting: list[dict]) -> str:
    reasons = Counter(f"{a['status']}: {a.get('reason', '')}" for a in accounting)
    return "; ".join(f"{n}× {r}" for r, n in reasons.most_common(3)) or "no files found"


def _figures(recipe, docs, accounting, by_split, removed, dup, per_source, suite_items,
             step_stats, started) -> dict:
    status = Counter(a["status"] for a in accounting)
    reasons = Counter(f"{a['status']}: {a.get('step', '')}: {_reason_kind(a.get('reason', ''))}"
                      for a in accounting if a.get("reason"))
    pii = Counter()
    for d in docs:
        pii.update(d["meta"].get("pii") or {})
    per_task = Counter(f"{r['meta']['split']}/{r['meta']['task']}" for rows in by_split.values() for r in rows)
    removed_by = Counter(r["step"] for r in removed)
    exact = sum(1 for r in dup.values() if r.startswith("exact"))
    # Dangling links and loops are listed (and quarantined) but have no size.
    mb = sum(p.stat().st_size for s in recipe.corpus.sources for p in _files(s)
             if p.exists()) / 1e6
    seconds = time.time() - started
    return {
        "inputs_mb": round(mb, 3),
        "documents_read": sum(1 for a in accounting if a["status"] != "quarantined") ,
        "documents_kept": status["kept"],
        "documents_dropped": status["dropped"],
        "documents_quarantined": status["quarantined"],
        "per_source": per_source,
        "reasons": dict(sorted(reasons.items())),
        "pii_redacted": dict(sorted(pii.items())),
        "documents_exact_duplicates": exact,
        "documents_near_duplicates": len(dup) - exact,
        "examples_instruction_duplicates": removed_by["instruction dedup"],
        "examples_decontaminated": removed_by["decontamination"],
        "examples_templated_held_out": removed_by["templated family"],
        "decontamination_eval_items": suite_items + len(by_split["test"]),
        "documents_by_split": dict(Counter(a["split"] for a in accounting if a["status"] == "kept")),
        "records_train": len(by_split["train"]),
        "records_validation": len(by_split["validation"]),
        "records_test": len(by_split["test"]),
        "records_by_split_task": dict(sorted(per_task.items())),
        "chars_train": sum(len(m["content"]) for r in by_split["train"] for m in r["messages"]),
        "step_stats": step_stats,
        "seconds": round(seconds, 2),
        "mb_per_second": round(mb / seconds, 3) if seconds else None,
    }


def _files(source):
    from toolkit.corpus.sources import source_files

    return source_files(source)


def _reason_kind(reason: str) -> str:
    """A reason without the per-document part, for counting."""
    for sep in (" of ", " (", ": line", " with eval item"):
        if sep in reason:
            return reason.split(sep)[0]
    return reason
