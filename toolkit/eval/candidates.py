"""The candidates an eval scores (`eval.candidates`): anything that answers prompts.

- `hf`: a local model folder; `adapter`: a base plus a PEFT adapter folder; `stage`:
  this recipe's base (model.path), its train stage's tuned model, or its export stage's
  merged model. They run in this process (`eval.device`, `eval.dtype`), one at a time,
  each freed before the next loads; generation is `toolkit.generation` (batched greedy,
  batch-invariant) or, with `eval.backend: vllm`, vLLM (`candidates_vllm`).
- `openai`: an OpenAI-compatible endpoint (`candidates_endpoint`).

Every candidate gets the same items, the same prompt messages (the suite's system
prompt, few-shot turns, the item) and the same scoring (`toolkit.eval.scoring`). A local
model renders the messages with its chat template; the base and the tuned model share
the template the train stage saved, so they see the very same text. An endpoint renders
them itself.

`score_candidate(...)` returns per-suite rows and what results.json records about the
candidate (kind, where it came from, dtype and device, or the endpoint's requests,
tokens, latency and cost).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from toolkit.console import console
from toolkit.errors import ModelError
from toolkit.recipe import ModelSection, Recipe


@dataclass
class Scored:
    """One candidate's rows ({suite name: rows}) and its record for results.json, with
    per-suite extras (prompts_hash, chat_template_sha256, choice_scoring)."""

    rows: dict[str, list[dict]] = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    per_suite: dict[str, dict] = field(default_factory=dict)


def needed_stages(recipe: Recipe) -> tuple[str, ...]:
    """The stage folders the candidates read: train for `stage: train`, export for
    `stage: export`."""
    wanted = {c.stage for c in recipe.eval.candidates if c.kind == "stage"}
    return tuple(s for s in ("train", "export") if s in wanted)


def uses_model_path(recipe: Recipe) -> bool:
    """Whether a candidate loads `model.path` (stage base or train, hf or adapter without
    their own path)."""
    for c in recipe.eval.candidates:
        if (c.kind == "stage" and c.stage in ("base", "train")) or \
                (c.kind == "hf" and c.path is None) or (c.kind == "adapter" and c.base is None):
            return True
    return False


def candidate_path_problems(recipe: Recipe) -> list[str]:
    """What is wrong with the candidates' own folders (each naming the recipe line)."""
    problems = []
    for i, c in enumerate(recipe.eval.candidates):
        def where(*key, i=i):
            return recipe.where("eval", "candidates", i, *key)

        folders = []
        if c.kind == "hf" and c.path is not None:
            folders.append(("path", c.path, "config.json"))
        if c.kind == "adapter":
            folders.append(("adapter", c.adapter, "adapter_config.json"))
            if c.base is not None:
                folders.append(("base", c.base, "config.json"))
        if c.kind == "openai" and c.tokenizer is not None:
            folders.append(("tokenizer", c.tokenizer, "tokenizer_config.json"))
        for key, folder, marker in folders:
            if not (folder / marker).is_file():
                problems.append(f"{where(key)}: candidate '{c.name}' {key} {folder} has no "
                                f"{marker}; point it at a local folder that has one.")
        if c.kind == "openai" and c.api_key_env and not os.environ.get(c.api_key_env):
            problems.append(f"{where('api_key_env')}: candidate '{c.name}' reads its API key "
                            f"from the environment variable {c.api_key_env}, which is not set. "
                            f"Export it before running gongmu.")
        for header, variable in (c.headers_env if c.kind == "openai" else {}).items():
            if not os.environ.get(variable):
                problems.append(f"{where('headers_env', header)}: candidate '{c.name}' reads its "
                                f"{header} header from the environment variable {variable}, "
                                f"which is not set. Export it before running gongmu.")
        template = getattr(c, "chat_template", None)
        if template is not None and not template.is_file():
            problems.append(f"{where('chat_template')}: candidate '{c.name}' chat_template "
                            f"{template} does not exist.")
    return problems


def score_candidate(recipe: Recipe, candidate, inputs: dict, suites, bar) -> Scored:
    """Score `candidate` on every suite (rows per suite, and its record)."""
    if candidate.kind == "openai":
        from toolkit.eval.candidates_endpoint import score_endpoint

        return score_endpoint(recipe, candidate, suites, bar)
    return _score_local(recipe, candidate, inputs, suites, bar)


# --------------------------------------------------------------------------- local models


@dataclass
class _Local:
    """A local candidate, ready to load: its tokenizer and how to load its model."""

    tokenizer: object
    load: object  # (device_map, dtype) -> model
    info: dict
    path: Path  # the weights' folder (the base's, for an adapter)
    adapter: Path | None = None
    tokenizer_dir: Path | None = None


def _section(recipe: Recipe, path: Path | None, chat_template: Path | None = None,
             trust_remote_code: bool | None = None) -> ModelSection:
    base = recipe.model
    return ModelSection(
        path=path or base.path,
        dtype=base.dtype,
        trust_remote_code=base.trust_remote_code if trust_remote_code is None else trust_remote_code,
        chat_template=chat_template if chat_template is not None else (
            base.chat_template if path is None else None),
        attn_implementation=base.attn_implementation,
    )


def _adapter_tokenizer(candidate, section: ModelSection):
    """The adapter folder's tokenizer when it saved one (with the chat template it trained
    with), else the base's; `chat_template` overrides either."""
    from toolkit.models import load_tokenizer

    if (candidate.adapter / "tokenizer_config.json").is_file():
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(candidate.adapter, local_files_only=True)
        if candidate.chat_template is not None:
            tok.chat_template = candidate.chat_template.read_text(encoding="utf-8")
        if not tok.chat_template:
            raise ModelError(f"The tokenizer in {candidate.adapter} has no chat template; set "
                             f"the candidate's chat_template.")
        return tok, candidate.adapter
    return load_tokenizer(section), section.path


def _prepare_local(recipe: Recipe, candidate, inputs: dict) -> _Local:
    from toolkit.models import (
        check_base_unchanged,
        load_model,
        load_tokenizer,
        load_trained_tokenizer,
        load_tuned_model,
    )

    kind = candidate.kind
    if kind == "hf":
        section = _section(recipe, candidate.path, candidate.chat_template,
                           candidate.trust_remote_code)
        return _Local(load_tokenizer(section),
                      lambda device_map, dtype: load_model(section, dtype, device_map=device_map),
                      {"kind": "hf", "path": str(section.path)}, section.path,
                      tokenizer_dir=section.path)
    if kind == "adapter":
        from peft import PeftModel

        section = _section(recipe, candidate.base, None)
        tok, tok_dir = _adapter_tokenizer(candidate, section)

        def load(device_map, dtype):
            return PeftModel.from_pretrained(load_model(section, dtype, device_map=device_map),
                                             candidate.adapter)

        return _Local(tok, load, {"kind": "adapter", "base": str(section.path),
                                  "adapter": str(candidate.adapter)},
                      section.path, adapter=candidate.adapter, tokenizer_dir=tok_dir)
    # kind == "stage"
    if candidate.stage == "export":
        exported = inputs["export"]
        folder = exported.path / "model"
        section = _section(recipe, folder, None)
        return _Local(load_tokenizer(section),
                      lambda device_map, dtype: load_model(section, dtype, device_map=device_map),
                      {"kind": "stage", "stage": "export", "path": str(folder),
                       "export_manifest_sha256": exported.manifest_sha256}, folder,
                      tokenizer_dir=folder)
    trained = inputs.get("train")
    if candidate.stage == "base":
        section = _section(recipe, None)
        if trained is not None:  # the template the tuned model is scored with, too
            tok, tok_dir = load_trained_tokenizer(trained.path), trained.path / "tokenizer"
        else:
            tok, tok_dir = load_tokenizer(section), section.path
        return _Local(tok, lambda device_map, dtype: load_model(section, dtype, device_map=device_map),
                      {"kind": "stage", "stage": "base", "path": str(section.path)},
                      section.path, tokenizer_dir=tok_dir)
    method = trained.manifest["section"]["train"]["method"]
    section = _section(recipe, None)
    if method != "full":
        check_base_unchanged(section.path, trained.path)
    return _Local(
        load_trained_tokenizer(trained.path),
        lambda device_map, dtype: load_tuned_model(section, trained.path, method, dtype=dtype,
                                                   device_map=device_map),
        {"kind": "stage", "stage": "train", "method": method, "path": str(trained.path),
         "train_manifest_sha256": trained.manifest_sha256},
        trained.path / "model" if method == "full" else section.path,
        adapter=None if method == "full" else trained.path / "adapter",
        tokenizer_dir=trained.path / "tokenizer",
    )


def _score_local(recipe: Recipe, candidate, inputs: dict, suites, bar) -> Scored:
    from toolkit.eval.scoring import score_suite, suite_prompts, work_units
    from toolkit.models import free_memory, placement

    cfg = recipe.eval
    local = _prepare_local(recipe, candidate, inputs)
    tok = local.tokenizer
    device_map, dtype, where = placement(cfg.device, cfg.dtype)
    scored = Scored(info={**local.info, "backend": cfg.backend, "dtype": dtype, "device": where,
                          "chat_template_sha256": _sha256(tok.chat_template)})
    prompts = {s.name: suite_prompts(tok, s) for s in suites}
    started = time.monotonic()
    if cfg.backend == "vllm":
        from toolkit.eval.candidates_vllm import score_with_vllm

        scored.rows = score_with_vllm(recipe, candidate, local, dtype, suites, prompts, bar)
    else:
        model = local.load(device_map, dtype).eval()
        scored.info["load_s"] = round(time.monotonic() - started, 3)
        try:
            for suite in suites:
                task = bar.add_task(f"{suite.name} · {candidate.name}", total=work_units(suite),
                                    info="")
                scored.rows[suite.name] = score_suite(
                    model, tok, suite, prompts[suite.name], cfg.batch_size, cfg.max_new_tokens,
                    on_batch=lambda k, t=task: bar.advance(t, k))
        finally:
            del model
            free_memory()
    scored.info["seconds"] = round(time.monotonic() - started, 3)
    from toolkit.models import context_length

    context = context_length(local.path)
    for suite in suites:
        scored.per_suite[suite.name] = {
            "prompts_hash": hashlib.sha256("\n".join(prompts[suite.name]).encode()).hexdigest(),
            "chat_template_sha256": scored.info["chat_template_sha256"],
        }
        if context and suite.task_type != "multiple_choice":
            budget = suite.spec.max_new_tokens or cfg.max_new_tokens
            over = sum(len(tok(p, add_special_tokens=False)["input_ids"]) + budget > context
                       for p in prompts[suite.name])
            scored.per_suite[suite.name]["prompts_over_context"] = over
            if over:
                console.print(f"[yellow]warning[/] {suite.name} · {candidate.name}: {over} of "
                              f"{len(prompts[suite.name])} prompts plus max_new_tokens ({budget}) "
                              f"exceed the model's context ({context} tokens); their outputs "
                              f"are past what the model was built for.", highlight=False)
    return scored


def _sha256(text: str | None) -> str | None:
    return hashlib.sha256(text.encode("utf-8")).hexdigest() if text else None


def messages_hash(messages: list[dict]) -> str:
    """sha256 of prompt messages as canonical JSON: an endpoint row's `prompt_hash`."""
    return hashlib.sha256(json.dumps(messages, ensure_ascii=False, sort_keys=True)
                          .encode("utf-8")).hexdigest()


def check_backend(recipe: Recipe) -> list[str]:
    """eval.backend: vllm needs vLLM importable (problems name the recipe line)."""
    import importlib.util

    if recipe.eval.backend != "vllm":
        return []
    if importlib.util.find_spec("vllm") is None:
        return [(f"{recipe.where('eval', 'backend')}: eval.backend is vllm, but vLLM is not "
                 f"installed here. Install it on a machine with a GPU (pip install vllm), or "
                 f"set eval.backend: transformers.")]
    return []

