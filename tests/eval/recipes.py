"""Suites and eval-only recipes for the eval tests."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

QUESTIONS = [
    "공문서의 두문에는 무엇이 들어갑니까?",
    "민원 처리 기한은?",
    "정보공개 청구는 어디에 합니까?",
    "결재란에는 무엇을 적습니까?",
    "붙임 문서는 어떻게 표시합니까?",
    "협조 요청 공문의 끝에는 무엇을 씁니까?",
]
REFERENCE = "기관명과 수신자를 적습니다."


def generation_suite(folder: Path, n: int = 6, name: str = "gen", metrics=("chrf", "exact_match"),
                     **spec) -> Path:
    """A file-based generation suite of `n` items (ids g0, g1, ...)."""
    items = [{"id": f"g{i}", "messages": [{"role": "user", "content": f"[{i}] {QUESTIONS[i % len(QUESTIONS)]}"}],
              "reference": REFERENCE, "meta": {"task": "qa"}} for i in range(n)]
    return write_suite(folder, {"name": name, "task_type": "generation",
                                "metrics": list(metrics), "max_new_tokens": 8, **spec}, items)


def choice_suite(folder: Path, n: int = 4, name: str = "mc") -> Path:
    items = [{"id": f"m{i}", "messages": [{"role": "user", "content": f"{i + 1}번: 공문서 본문의 마지막 표시는?"}],
              "choices": ["끝.", "이상.", "마침."], "answer": i % 3} for i in range(n)]
    return write_suite(folder, {"name": name, "task_type": "multiple_choice"}, items)


def write_suite(folder: Path, spec: dict, items: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "suite.yaml").write_text(yaml.safe_dump({**spec, "items": "items.jsonl"},
                                                      allow_unicode=True), encoding="utf-8")
    (folder / "items.jsonl").write_text(
        "".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    return folder


def eval_recipe(folder: Path, suites: list[Path], candidates: list[dict], *, name: str = "e",
                tracking: bool = False, model: Path | None = None, **eval_keys) -> Path:
    """A recipe with only an eval section (and model.path when given)."""
    data = {"name": name, "output_dir": str(folder / "runs"),
            "tracking": {"enabled": tracking},
            "eval": {"suites": [str(s) for s in suites], "candidates": candidates, **eval_keys}}
    if model is not None:
        data["model"] = {"path": str(model)}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def endpoint(base_url: str, name: str = "api", **keys) -> dict:
    return {"name": name, "kind": "openai", "base_url": base_url, "model": "m", **keys}
