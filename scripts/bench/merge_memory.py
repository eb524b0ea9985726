"""Export merge memory: the peak resident memory of the shard-wise merge
(`toolkit.export.merge.merge_shards`) against the whole-model merge the export stage used
before (`merge_adapter`: the adapter model and a merged copy, both fp32, then cast and
saved), on the same >=100M-parameter model and adapter, each in a fresh process.

    .venv/bin/python scripts/bench/merge_memory.py [--hidden 768] [--layers 12] [--vocab 32000]
        [--dtype bfloat16] [--shard 200MB] [--out bench.json]

The model is a randomly initialised Llama built here (default 134M parameters, 537 MB in
fp32) saved in `--shard` safetensors shards, with a rank-16 LoRA adapter on every linear
layer (random, non-zero B). Peak memory is Linux's VmHWM of the merging process, reset
after imports (so the interpreter and torch are not counted); the figure is the peak
above the resident memory at that point. Both merges write `--dtype` safetensors; the
script checks that they wrote the same tensors.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def build(folder: Path, hidden: int, layers: int, vocab: int, shard: str) -> int:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=vocab, hidden_size=hidden, intermediate_size=hidden * 8 // 3 // 64 * 64,
                         num_hidden_layers=layers, num_attention_heads=hidden // 64,
                         num_key_value_heads=hidden // 64, tie_word_embeddings=False)
    model = LlamaForCausalLM(config)
    n = sum(p.numel() for p in model.parameters())
    model.save_pretrained(folder / "base", max_shard_size=shard)
    lora = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", init_lora_weights=False)
    get_peft_model(model, lora).save_pretrained(folder / "adapter")
    return n


def run_merge(kind: str, folder: Path, dtype: str, shard: str) -> dict:
    """In this (fresh) process: one merge, its peak memory above the start."""
    import torch

    from toolkit.export.merge import PeakMemory, merge_adapter, merge_shards
    from toolkit.models import torch_dtype
    from toolkit.recipe import ModelSection

    out = folder / f"out-{kind}"
    started = time.perf_counter()
    with PeakMemory() as peak:
        if kind == "shard-wise":
            merge_shards(folder / "base", folder / "adapter", out, dtype, max_shard_size=shard,
                         device="cpu")
        else:
            with torch.no_grad():
                trained, merged = merge_adapter(ModelSection(path=folder / "base"), folder / "adapter")
                merged.to(torch_dtype(dtype))
                merged.save_pretrained(out, safe_serialization=True, max_shard_size=shard)
                del trained, merged
    return {"kind": kind, "seconds": round(time.perf_counter() - started, 2), **peak.figures()}


def same_tensors(a: Path, b: Path) -> bool:
    from safetensors.torch import load_file

    ta = {k: v for f in sorted(a.glob("*.safetensors")) for k, v in load_file(f).items()}
    tb = {k: v for f in sorted(b.glob("*.safetensors")) for k, v in load_file(f).items()}
    return ta.keys() == tb.keys() and all((ta[k].float() - tb[k].float()).abs().max().item() <= 2e-2 *
                                          max(1.0, ta[k].float().abs().max().item()) for k in ta)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hidden", type=int, default=768)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--dtype", default="bfloat16", choices=("float32", "bfloat16", "float16"))
    ap.add_argument("--shard", default="200MB")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--_merge", help=argparse.SUPPRESS)
    ap.add_argument("--_folder", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()

    import toolkit  # noqa: F401  (offline environment)

    if args._merge:
        print(json.dumps(run_merge(args._merge, args._folder, args.dtype, args.shard)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        n = build(folder, args.hidden, args.layers, args.vocab, args.shard)
        figures = []
        for kind in ("whole-model", "shard-wise"):
            proc = subprocess.run([sys.executable, __file__, "--_merge", kind, "--_folder", str(folder),
                                   "--dtype", args.dtype, "--shard", args.shard],
                                  capture_output=True, text=True, check=True)
            figures.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        same = same_tensors(folder / "out-whole-model", folder / "out-shard-wise")
    whole, shard = figures
    result = {
        "parameters": n, "fp32_model_bytes": n * 4, "dtype": args.dtype, "shard": args.shard,
        "whole_model": whole, "shard_wise": shard,
        "peak_ratio_whole_over_shard_wise": round(whole["peak_rss_above_start_bytes"]
                                                   / max(1, shard["peak_rss_above_start_bytes"]), 2),
        "same_tensors": same,
    }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
