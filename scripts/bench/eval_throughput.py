"""Eval generation throughput: batched greedy generation (left padding, KV cache) at
batch 16 against one prompt at a time, on the same items and the same model.

    .venv/bin/python scripts/bench/eval_throughput.py [--items 64] [--batch-size 16] [--rounds 3] [--out bench.json]

The model is a ~5M-parameter Llama built by `build_tiny_model` (hidden 256, 4 layers)
on the quickstart documents; the items are prompts made from those documents' lines,
so their lengths vary as real prompts do. Both runs use the eval stage's settings
(`toolkit.generation.generate`: greedy, same `--max-new-tokens`, stopping at end-of-turn;
a batch runs until its last row stops). Reports items/s of each and their ratio
(target: ≥ 4×) from the fastest of `--rounds` alternating rounds, and checks that both
modes produced the same text.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "recipes" / "quickstart" / "documents"


def bench_prompts(tok, n: int) -> list[str]:
    """`n` chat prompts asking about lines of the quickstart documents (varied lengths)."""
    from toolkit.generation import render_prompt

    lines = [line.strip() for p in sorted(DOCS.glob("*.md"))
             for line in p.read_text(encoding="utf-8").splitlines() if len(line.strip()) > 10]
    asks = ["이 문장을 요약하십시오", "이 문장의 담당 부서는?", "이 내용을 공문으로 작성하십시오"]
    return [render_prompt(tok, [{"role": "user", "content": f"{lines[k % len(lines)]}\n\n{asks[k % 3]}"}])
            for k in range(n)]


def timed_generate(model, tok, prompts, batch_size: int, max_new_tokens: int) -> tuple[float, list[str]]:
    from toolkit.generation import generate

    start = time.perf_counter()
    outputs = generate(model, tok, prompts, batch_size, max_new_tokens)
    return time.perf_counter() - start, outputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of each mode (best kept)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from toolkit.tiny_model import build_tiny_model

    torch.set_num_threads(args.threads)
    folder = Path(tempfile.mkdtemp(prefix="gongmu-bench-eval-")) / "model"
    summary = build_tiny_model(DOCS, folder, hidden_size=256, layers=4, vocab_size=4096)
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    prompts = bench_prompts(tok, args.items)
    lengths = [len(tok(p, add_special_tokens=False)["input_ids"]) for p in prompts]

    timed_generate(model, tok, prompts[:args.batch_size], args.batch_size, 4)  # warm-up
    # Rounds alternate the two modes and each keeps its fastest: on a shared machine a
    # burst of other work then slows one round, not one mode.
    one_s = batch_s = float("inf")
    for _ in range(args.rounds):
        seconds, one = timed_generate(model, tok, prompts, 1, args.max_new_tokens)
        one_s = min(one_s, seconds)
        seconds, batched = timed_generate(model, tok, prompts, args.batch_size, args.max_new_tokens)
        batch_s = min(batch_s, seconds)
    result = {
        "model_parameters": summary["parameters"],
        "items": args.items,
        "prompt_tokens": {"min": min(lengths), "max": max(lengths),
                          "mean": round(sum(lengths) / len(lengths), 1)},
        "max_new_tokens": args.max_new_tokens,
        "threads": args.threads,
        "rounds": args.rounds,
        "one_at_a_time_items_per_s": round(args.items / one_s, 2),
        f"batch_{args.batch_size}_items_per_s": round(args.items / batch_s, 2),
        "speedup": round(one_s / batch_s, 2),
        "outputs_identical": one == batched,
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
