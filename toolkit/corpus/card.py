"""The data card: the Hugging Face dataset-card layout (YAML header, then sections),
answering the Datasheets-for-Datasets questions from the figures of the run that built
the corpus."""

from __future__ import annotations

from pathlib import Path

import yaml

from toolkit.recipe import Recipe
from toolkit.plots import histogram_svg

_BINS = (0, 64, 128, 256, 512, 1024, 2048, 4096)
_CHAR_BINS = (0, 100, 200, 400, 800, 1600, 3200, 6400)
from toolkit.korean.pii import LABELLED_SET as _PII_SET


def _size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M")):
        if n < limit:
            return label
    return "1M<n<10M"


def _tokenizer_folder(recipe: Recipe) -> Path | None:
    for folder in (recipe.corpus.tokenizer, recipe.model.path):
        if folder is not None and (folder / "tokenizer.json").is_file():
            return folder
    return None


def length_histogram(recipe: Recipe, train: list[dict]) -> tuple[str, list[tuple[str, int]], list[int]]:
    """(unit, rows of (bin, count), lengths) of the training examples: tokens of the
    recipe's tokenizer when it names one, else characters."""
    texts = ["\n".join(m["content"] for m in r["messages"]) for r in train]
    folder = _tokenizer_folder(recipe)
    if folder is not None:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(folder))
        lengths = [len(ids) for ids in tok(texts)["input_ids"]] if texts else []
        unit, bins = f"tokens of the tokenizer in {folder.name}", _BINS
    else:
        lengths = [len(t) for t in texts]
        unit, bins = "characters (no tokenizer in the recipe: set corpus.tokenizer for tokens)", _CHAR_BINS
    rows = []
    for lo, hi in zip(bins, bins[1:] + (None,)):
        n = sum(1 for x in lengths if x >= lo and (hi is None or x < hi))
        rows.append((f"{lo}–{hi - 1}" if hi else f"≥{lo}", n))
    return f"{unit}, over all {len(train)} training examples", rows, lengths


def _pii_quality() -> dict:
    from toolkit.korean.pii import score_labelled

    return score_labelled(_PII_SET)


def _shown(path: Path | None) -> str:
    if path is None:
        return "RECIPE"
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.name


def write_card(recipe: Recipe, path: Path, figures: dict, by_split: dict[str, list[dict]]) -> Path:
    """Write the card to `path` (and its length histogram beside it); return `path`."""
    from toolkit.corpus.families import FAMILY_DESCRIPTIONS

    cfg = recipe.corpus
    total = sum(len(v) for v in by_split.values())
    tasks = sorted({r["meta"]["task"] for rows in by_split.values() for r in rows})
    header = {
        "language": ["ko"],
        "license": cfg.license or "other",
        "pretty_name": f"gongmu corpus: {recipe.name}",
        "task_categories": ["text-generation", "question-answering", "summarization",
                            "text-classification"],
        "size_categories": [_size_category(total)],
        "tags": ["korean", "public-administration", "legal", "instruction-tuning"],
        "configs": [{"config_name": "default", "data_files": [
            {"split": s, "path": f"{s}.jsonl"} for s in ("train", "validation", "test")]}],
    }
    unit, hist_rows, lengths = length_histogram(recipe, by_split["train"])
    svg_name = (cfg.card or path).stem + ".lengths.svg"
    (path.parent / svg_name).write_text(
        histogram_svg(lengths, unit.split(",")[0], "training examples"), encoding="utf-8")
    pii_q = _pii_quality()
    f = figures
    L: list[str] = ["---", yaml.safe_dump(header, allow_unicode=True, sort_keys=False).strip(), "---", ""]
    L += [f"# Dataset card: {recipe.name}", "",
          f"{recipe.description or 'A Korean public-administration instruction corpus.'}", "",
          f"Built by `gongmu corpus build {_shown(recipe.file)}`; "
          f"every figure below comes from that run's manifest (`corpus/manifest.json`).", ""]
    L += ["## Motivation", "",
          "For fine-tuning assistants that help Korean public officials find documents, check "
          "regulations, summarise rulings and draft official documents (공문서), on "
          "infrastructure the institution controls. Built with gongmu, an open-source toolkit.", ""]
    L += ["## Composition", "", "### Sources", "",
          "| source | type | profile | origin | licence | files | kept | dropped | quarantined |",
          "| --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: |"]
    for src in cfg.sources:
        c = f["per_source"].get(src.source_name, {})
        L.append(f"| {src.source_name} | {src.type} | {src.profile_name} | {src.origin or '—'} | "
                 f"{src.license or '—'} | {c.get('files', 0)} | {c.get('kept', 0)} | "
                 f"{c.get('dropped', 0)} | {c.get('quarantined', 0)} |")
    L += ["", "### Examples per split and task", "", "| task | what it is | train | validation | test |",
          "| --- | --- | ---: | ---: | ---: |"]
    for t in tasks:
        row = [f["records_by_split_task"].get(f"{s}/{t}", 0) for s in ("train", "validation", "test")]
        L.append(f"| {t} | {FAMILY_DESCRIPTIONS.get(t, '')} | {row[0]} | {row[1]} | {row[2]} |")
    L.append(f"| **all** | | {f['records_train']} | {f['records_validation']} | {f['records_test']} |")
    L += ["", "Each record is a chat (`messages`: user, assistant) with `meta` (task, source "
          "document id and path, law name and ID or case number, article, split). "
          + (f"Also written as {', '.join(cfg.views)} views." if cfg.views else ""), ""]
    L += ["### Length of training examples", "", f"In {unit}. Plot: [{svg_name}]({svg_name}).", "",
          "| length | examples |", "| --- | ---: |"]
    L += [f"| {label} | {n} |" for label, n in hist_rows]
    L += ["", "## Collection and preprocessing", "",
          f"- Inputs: {f['inputs_mb']} MB in {sum(c['files'] for c in f['per_source'].values())} files; "
          f"{f['documents_kept']} documents kept, {f['documents_dropped']} dropped, "
          f"{f['documents_quarantined']} quarantined (every input is in `accounting.jsonl` with its reason).",
          "- Cleaning: Unicode NFC (never NFKC: ㆍ, ㈜, ㎡ and ① are kept as written), full-width "
          "ASCII folded to ASCII, control and zero-width characters removed; amendment notes "
          "(`<개정 …>`, `[본조신설 …]`) removed for sources with the `legal` profile.",
          "- Quality filters per source profile (length, Hangul share). Web-text filters "
          "(Gopher repetition) are never applied to statutes, ordinances or rulings: they reject real legal text.",
          f"- Exact duplicates (hash of the NFC text without spaces and punctuation): "
          f"{f['documents_exact_duplicates']} document(s) dropped.",
          f"- Near duplicates (datatrove MinHash LSH over {cfg.dedup.minhash.shingle_chars}-character "
          f"shingles, {cfg.dedup.minhash.num_buckets} bands × {cfg.dedup.minhash.hashes_per_bucket} rows, "
          f"threshold ≈ Jaccard {(1 / cfg.dedup.minhash.num_buckets) ** (1 / cfg.dedup.minhash.hashes_per_bucket):.2f}): "
          f"{f['documents_near_duplicates']} documents dropped. Character shingles because Korean "
          f"spacing varies between copies and particles attach to words.",
          f"- Instruction-level dedup (same methods over each example's text, within each "
          f"task family): {f['examples_instruction_duplicates']} examples dropped. Families "
          f"templated by design ({', '.join(cfg.dedup.templated_families) or 'none'}) get the exact "
          f"check only and are built for training documents only "
          f"({f.get('examples_templated_held_out', 0)} held-out examples not kept).",
          f"- Splits by cluster of source documents ({cfg.test_fraction:.0%} test, "
          f"{cfg.validation_fraction:.0%} validation, stratified by source; at least 25% of "
          f"ordinances held out), so no document's articles, and no near copy of them, appear "
          f"in two splits. A cluster joins a law family (법률, 시행령, 시행규칙), near duplicates "
          f"(MinHash at Jaccard ≈ 0.4), rulings citing each other in 참조판례 and one rule issued "
          f"by several ministries or provinces{_cluster_counts(f)}.",
          f"- Decontamination: {f['examples_decontaminated']} training examples dropped whose "
          f"{cfg.decontamination.ngram}-gram overlap with one of {f['decontamination_eval_items']} eval "
          f"items (test split{', eval suites' if cfg.decontamination.suites else ''}) reached "
          f"{cfg.decontamination.threshold}, or that held over 20% of one eval reference's "
          f"20-character sequences; each is listed in `removed_examples.jsonl` with the item it overlapped. "
          f"The held-out test documents' text is indexed too, and builder suites are built "
          f"from the held-out documents before the training set is final.",
          *_overlap_lines(f),
          "", "### Personal data", "",
          "Personal data is replaced by typed placeholders (`<주민등록번호>`, `<전화번호>` …) by "
          "gongmu's Korean PII detector before any example is built.", "",
          "| type | redacted |", "| --- | ---: |"]
    L += [f"| {k} | {v} |" for k, v in f["pii_redacted"].items()] or ["| (none found) | 0 |"]
    if pii_q:
        L += ["", f"Detector quality on gongmu's labelled test set ({pii_q['spans']} spans written "
              f"for the project, with hard negatives such as 사건번호, article numbers, dates and "
              f"amounts): overall precision {pii_q['overall']['precision']:.3f}, recall "
              f"{pii_q['overall']['recall']:.3f}. The set and the detector were written by the "
              f"same team, so read these as a regression check rather than an independent "
              f"estimate; names are found only where a role word (원고, 담당자, 변호사 …) marks them.", "", "| type | precision | recall |", "| --- | ---: | ---: |"]
        for t, q in sorted(pii_q["per_type"].items()):
            L.append(f"| {t} | {q['precision']:.3f} | {q['recall']:.3f} |")
    L += ["", "## Uses", "",
          "Supervised fine-tuning (LoRA/QLoRA) of assistants for Korean public administration, "
          "and evaluation on the held-out test split. Not for: legal advice to citizens without "
          "review, or any decision about a person.", "",
          "## Distribution and maintenance", "",
          f"Licence: {cfg.license or 'see the sources'}. Rebuild with the recipe; the manifest "
          "records the sha256 of every output and the gongmu and package versions.", "",
          "## Known limitations", "",
          "- Answers are built by deterministic templates from the documents' structure: they "
          "quote and restate the source, they do not reason beyond it.",
          "- Statutes are the versions in the source checkout; laws change, and the corpus does not track amendments after that commit.",
          "- The PII detector is rule-based: it finds numbers and context-marked names; a name "
          "with no marking context is not found. Supreme Court rulings arrive already masked (김○○).",
          "- Decontamination compares word n-grams; a paraphrased eval item is not caught.",
          "- Public law text is in every vendor's pretraining data: a split keeps it out of "
          "this corpus's training set, not out of a base model.",
          "- Near-duplicate documents are dropped as a cluster keeping one: templated documents "
          "(for example summary dismissals of appeals, 심리불속행 기각, which differ only in case "
          "numbers) collapse to a single copy.", ""]
    path.write_text("\n".join(L), encoding="utf-8")
    return path



def _cluster_counts(f: dict) -> str:
    c = f.get("split_clusters") or {}
    if not c:
        return ""
    joins = ", ".join(f"{k} {v}" for k, v in sorted(c.get("joins", {}).items()))
    return (f": {c['clusters']} clusters, {c['clusters_of_2_or_more']} of two or more documents, "
            f"the largest {c['largest_cluster']} (joins: {joins or 'none'})")


def _overlap_lines(f: dict) -> list[str]:
    """The eval-reference overlap with the training examples, before and after
    decontamination, and per suite."""
    o = f.get("eval_overlap") or {}
    if not o.get("after_decontamination", {}).get("items"):
        return []
    b, a = o["before_decontamination"], o["after_decontamination"]

    def pct(d: dict, key: str) -> str:
        return f"{100 * d[key]:.1f}%"

    lines = ["", "### Eval references in the training examples", "",
             f"Share of the {a['items']} eval items (suites in `decontamination.suites`) whose "
             f"reference shares over 20% of its 13-word or 20-character sequences (text without "
             f"spaces and punctuation) with the training examples. Target: at most 1%.", "",
             "| | 13 words | 20 characters | either |", "| --- | ---: | ---: | ---: |"]
    for label, d in (("before decontamination", b), ("after decontamination", a)):
        lines.append(f"| {label} | {pct(d, 'above_0.2_13_words')} | {pct(d, 'above_0.2_20_chars')} "
                     f"| {pct(d, 'above_0.2_either')} |")
    lines += ["", "| suite | items | over 20% |", "| --- | ---: | ---: |"]
    lines += [f"| {k} | {v['items']} | {v['above_limit']} |" for k, v in o.get("by_suite", {}).items()]
    return lines + [""]
