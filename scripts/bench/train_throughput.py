"""Training throughput: padding-free packing vs. padded per-sample batches (TRL's default),
and QLoRA vs. LoRA peak memory, on the same ~30M-parameter Llama and the same batches.

The data is real: the examples gongmu's corpus stage builds (default tasks) from the
statutes in ../shared/data/legalize-kr, so the length distribution is the corpus's own.
Every variant runs the real `gongmu train` stage in its own process (peak memory is per
process), for the same number of steps and samples; only the figures' ratios are meant
to be compared, and only within one run.

    .venv/bin/python scripts/bench/train_throughput.py [--steps 20] [--out bench.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STATUTES = REPO.parent / "shared" / "data" / "legalize-kr" / "kr"

VARIANTS = {
    "padded": ["train.packing=false", "train.group_by_length=false"],
    "packed": ["train.packing=true", "train.group_by_length=false"],
    "packed_qlora": ["train.packing=true", "train.group_by_length=false", "train.method=qlora",
                     "train.qlora.compute_dtype=float32"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statutes", type=Path, default=STATUTES)
    parser.add_argument("--files", type=int, default=120, help="statute files to read")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="gongmu-bench-"))
    docs = work / "statutes"
    docs.mkdir()
    files = sorted(args.statutes.rglob("*.md"))[: args.files]
    for i, f in enumerate(files):  # links, not copies: the data stays in ../shared
        os.symlink(f, docs / f"{i:04d}.md")

    from toolkit.train.model import build_tiny_model

    model = build_tiny_model(docs, work / "model", hidden_size=512, layers=8, heads=8,
                             kv_heads=4, vocab_size=8192, max_positions=2048)
    recipe = work / "bench.yaml"
    recipe.write_text(
        f"name: bench\noutput_dir: {work / 'runs'}\nseed: 0\n"
        f"corpus:\n  sources:\n    - path: {docs}\n  test_fraction: 0.05\n"
        f"model:\n  path: {work / 'model'}\n"
        f"train:\n  max_steps: {args.steps}\n  batch_size: {args.batch_size}\n  max_seq_len: 1024\n"
        f"  learning_rate: 1.0e-4\n  logging_steps: 5\n"
        f"tracking:\n  enabled: false\n",
        encoding="utf-8",
    )
    from toolkit.corpus.pipeline import build_corpus
    from toolkit.recipe import load_recipe

    corpus = build_corpus(load_recipe(recipe))
    results = {"model_parameters": model["parameters"], "steps": args.steps,
               "batch_size": args.batch_size, "train_examples": corpus.figures["records_train"]}
    code = (
        "import json, sys; from toolkit.recipe import load_recipe; "
        "from toolkit.train.trainer import train; "
        "out = train(load_recipe(sys.argv[1], sys.argv[2:])); print('FIGURES', json.dumps(out.figures))"
    )
    for name, overrides in VARIANTS.items():
        proc = subprocess.run([sys.executable, "-c", code, str(recipe), *overrides],
                              capture_output=True, text=True, cwd=REPO)
        line = next((x for x in proc.stdout.splitlines() if x.startswith("FIGURES ")), None)
        if line is None:
            raise SystemExit(f"{name} failed:\n{proc.stderr[-3000:]}")
        figures = json.loads(line[len("FIGURES "):])
        results[name] = {k: figures[k] for k in (
            "tokens_per_second", "non_pad_tokens_seen", "train_seconds", "peak_memory_mb",
            "attn_implementation", "loss_first", "loss_last")}
        print(f"{name:13s} {figures['tokens_per_second']:9.1f} non-pad tokens/s  "
              f"peak {figures['peak_memory_mb']:8.1f} MB  ({figures['attn_implementation']})",
              flush=True)

    from toolkit.train.throughput import matmul_peak_flops, model_flops_per_token

    peak = matmul_peak_flops()
    flops_per_token = model_flops_per_token(model["parameters"])
    for name in VARIANTS:
        results[name]["mfu"] = round(results[name]["tokens_per_second"] * flops_per_token / peak, 4)
    results["matmul_peak_gflops"] = round(peak / 1e9, 1)
    results["ratio_packed_vs_padded_tokens_per_second"] = round(
        results["packed"]["tokens_per_second"] / results["padded"]["tokens_per_second"], 2)
    results["ratio_qlora_vs_lora_peak_memory"] = round(
        results["packed_qlora"]["peak_memory_mb"] / results["packed"]["peak_memory_mb"], 3)
    print(json.dumps(results, indent=2))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
