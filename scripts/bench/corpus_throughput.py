"""Corpus-build throughput, scaling and memory on the real shared data.

    .venv/bin/python scripts/bench/corpus_throughput.py [--workers 2] [--data ../shared/data]

Runs `gongmu corpus build` (the seoul-admin recipe's sources and tasks) three times,
each in a fresh process so memory figures are its own:
  half  — every other statute folder, ruling and ordinance (about half the bytes);
  full  — all of ../shared/data;
and reports MB/s and documents/s of the full build, the time ratio full/half against
the byte ratio (target: 2× the input takes ≤ 2.2× the time), and the peak resident
memory of the main process and of the largest worker (target ≤ 4 GiB in all).
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

CHILD = r"""
import json, resource, sys, time
from toolkit.recipe import load_recipe
from toolkit.stages import run_stage
recipe = load_recipe(sys.argv[1], sys.argv[2:])
t = time.time()
out = run_stage(recipe, "corpus")
seconds = time.time() - t
f = out.figures
print(json.dumps({"seconds": seconds, "mb": f["inputs_mb"],
                  "documents": sum(c["files"] for c in f["per_source"].values()),
                  "kept": f["documents_kept"], "records": f["records_train"],
                  "main_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "worker_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def half_of(data: Path, into: Path) -> None:
    """Symlink every other file of each source of `data` into `into` (same layout)."""
    layout = {"legalize-kr/kr": "*/*.md", "precedent-kr/일반행정/대법원": "*.md", "ordinances": "*.md"}
    for sub, pattern in layout.items():
        for i, p in enumerate(sorted((data / sub).glob(pattern))):
            if i % 2 == 0:
                target = into / sub / p.relative_to(data / sub)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(p.resolve())


def recipe_for(data: Path, folder: Path, workers: int) -> Path:
    base = (REPO / "recipes" / "corpus" / "seoul-admin.yaml").read_text(encoding="utf-8")
    base = base.replace("../../../shared/data", str(data)).replace("output_dir: ../../runs",
                                                                   f"output_dir: {folder / 'runs'}")
    base = base.replace("  card: ../../data_cards/seoul-admin.md\n", "")
    path = folder / "seoul-admin.yaml"
    path.write_text(base + "tracking: {enabled: false}\n", encoding="utf-8")
    return path


def run(recipe: Path, workers: int) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(recipe), f"corpus.workers={workers}"],
                          cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(proc.stderr[-4000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        half = tmp / "half-data"
        half_of(args.data.resolve(), half)
        (tmp / "h").mkdir()
        (tmp / "f").mkdir()
        h = run(recipe_for(half, tmp / "h", args.workers), args.workers)
        f = run(recipe_for(args.data.resolve(), tmp / "f", args.workers), args.workers)
    print(f"cpus: {os.cpu_count()}, workers: {args.workers}")
    for name, r in (("half", h), ("full", f)):
        print(f"{name}: {r['mb']:.1f} MB, {r['documents']} documents, {r['seconds']:.1f} s → "
              f"{r['mb'] / r['seconds']:.2f} MB/s, {r['documents'] / r['seconds']:.1f} documents/s; "
              f"{r['kept']} kept, {r['records']} training examples; peak RSS main "
              f"{r['main_rss_mb']:.0f} MB, largest worker {r['worker_rss_mb']:.0f} MB")
    print(f"scaling: input ×{f['mb'] / h['mb']:.2f} → time ×{f['seconds'] / h['seconds']:.2f} "
          f"(per byte ×{(f['seconds'] / f['mb']) / (h['seconds'] / h['mb']):.2f})")
    total = f["main_rss_mb"] + args.workers * f["worker_rss_mb"]
    print(f"memory bound, full build: main + {args.workers} × largest worker = {total:.0f} MB")


if __name__ == "__main__":
    main()
