"""Training throughput: padding-free packing vs. padded per-sample batches (TRL's default),
and QLoRA vs. LoRA peak memory, on the same ~30M-parameter Llama and the same batches.

The data is the seoul-admin corpus itself: `recipes/corpus/seoul-admin.yaml` over
../shared/data (statutes, rulings, ordinances; every task family), so the length
distribution is the one gongmu's users train on. `--tasks lookup` narrows it to one
family (a much narrower distribution, where padding costs less). The tokenizer is
trained on the corpus's training texts. Every variant runs the real train stage in its
own process (peak memory is per process and covers training only), for the same steps
and samples; only the ratios are meant to be compared, and only within one run.

    .venv/bin/python scripts/bench/train_throughput.py [--steps 20] [--out bench.json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CORPUS_RECIPE = REPO / "recipes" / "corpus" / "seoul-admin.yaml"

BATCHES = ["train.group_by_length=false"]  # random batches, the same ones in every variant
VARIANTS = {
    "padded": ["train.packing=false", *BATCHES],
    "packed": ["train.packing=true", *BATCHES],
    "packed_qlora": ["train.packing=true", *BATCHES, "train.method=qlora",
                     "train.qlora.compute_dtype=float32"],
}
FIGURES = ("tokens_per_second", "non_pad_tokens_seen", "train_seconds", "peak_memory_mb",
           "attn_implementation", "loss_first", "loss_last")


def length_profile(lengths: list[int], batch_size: int, seed: int = 0) -> dict:
    """Token lengths of the training sequences, and the share of a padded random batch
    that is padding (sampled): the most that padding-free packing can save."""
    rng = random.Random(seed)
    shares = []
    for _ in range(2000):
        batch = rng.sample(lengths, batch_size)
        shares.append(1 - sum(batch) / (batch_size * max(batch)))
    q = statistics.quantiles(lengths, n=10)
    return {"sequences": len(lengths), "mean": round(statistics.fmean(lengths), 1),
            "p50": int(statistics.median(lengths)), "p90": int(q[-1]), "max": max(lengths),
            "padding_share_of_random_batches": round(statistics.fmean(shares), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-seq-len", type=int, default=2048)
    parser.add_argument("--tasks", default=None,
                        help="comma-separated task families (default: the corpus recipe's)")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--work", type=Path, default=None, help="work folder (default: a temp one)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="gongmu-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    recipe = work / "bench.yaml"
    tasks = f"  families: [{args.tasks}]\n" if args.tasks else ""
    recipe.write_text(
        f"extends: {CORPUS_RECIPE}\nname: bench\noutput_dir: {work / 'runs'}\nseed: 0\n"
        f"corpus:\n  card: null\n  views: []\n{tasks}"
        f"model:\n  path: {work / 'model'}\n"
        f"train:\n  max_steps: {args.steps}\n  batch_size: {args.batch_size}\n"
        f"  max_seq_len: {args.max_seq_len}\n  learning_rate: 1.0e-4\n  logging_steps: 5\n"
        f"tracking:\n  enabled: false\n",
        encoding="utf-8",
    )
    from toolkit.artifacts import read_jsonl
    from toolkit.stages import run_stage
    from toolkit.recipe import load_recipe
    from toolkit.tiny_model import build_tiny_model

    corpus = run_stage(load_recipe(recipe), "corpus")
    records = read_jsonl(corpus.path / "train.jsonl")
    texts = work / "tokenizer-texts"
    texts.mkdir(exist_ok=True)
    (texts / "train.txt").write_text(
        "\n\n".join(m["content"] for r in records for m in r["messages"]), encoding="utf-8")
    model = build_tiny_model(texts, work / "model", hidden_size=512, layers=8, heads=8,
                             kv_heads=4, vocab_size=8192, max_positions=args.max_seq_len)

    from toolkit.recipe import ModelSection
    from toolkit.train.data import tokenize_records
    from toolkit.models import load_tokenizer

    tok = load_tokenizer(ModelSection(path=work / "model"))
    rows, _ = tokenize_records(tok, records, args.max_seq_len)
    results = {"model_parameters": model["parameters"], "steps": args.steps,
               "batch_size": args.batch_size, "max_seq_len": args.max_seq_len,
               "tasks": args.tasks or "all", "train_examples": len(records),
               "lengths": length_profile([len(r["input_ids"]) for r in rows], args.batch_size)}
    print(json.dumps(results["lengths"]), flush=True)

    code = (
        "import json, sys; from toolkit.recipe import load_recipe; "
        "from toolkit.stages import run_stage; "
        "out = run_stage(load_recipe(sys.argv[1], sys.argv[2:]), 'train'); print('FIGURES', json.dumps(out.figures))"
    )
    chosen = [v for v in args.variants.split(",") if v]
    for name in chosen:
        proc = subprocess.run([sys.executable, "-c", code, str(recipe), *VARIANTS[name]],
                              capture_output=True, text=True, cwd=REPO)
        line = next((x for x in proc.stdout.splitlines() if x.startswith("FIGURES ")), None)
        if line is None:
            raise SystemExit(f"{name} failed:\n{proc.stderr[-3000:]}")
        figures = json.loads(line[len("FIGURES "):])
        results[name] = {k: figures[k] for k in FIGURES}
        print(f"{name:13s} {figures['tokens_per_second']:9.1f} non-pad tokens/s  "
              f"peak {figures['peak_memory_mb']:8.1f} MB  ({figures['attn_implementation']})",
              flush=True)

    from toolkit.train.throughput import matmul_peak_flops, model_flops_per_token

    peak = matmul_peak_flops()
    flops_per_token = model_flops_per_token(model["parameters"])
    for name in chosen:
        results[name]["mfu"] = round(results[name]["tokens_per_second"] * flops_per_token / peak, 4)
    results["matmul_peak_gflops"] = round(peak / 1e9, 1)
    if {"padded", "packed"} <= set(chosen):
        assert results["padded"]["non_pad_tokens_seen"] == results["packed"]["non_pad_tokens_seen"]
        results["ratio_packed_vs_padded_tokens_per_second"] = round(
            results["packed"]["tokens_per_second"] / results["padded"]["tokens_per_second"], 2)
    if {"packed", "packed_qlora"} <= set(chosen):
        results["ratio_qlora_vs_lora_peak_memory"] = round(
            results["packed_qlora"]["peak_memory_mb"] / results["packed"]["peak_memory_mb"], 3)
    print(json.dumps(results, indent=2))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
