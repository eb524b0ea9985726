"""Checks an exported model against the trained model it came from (the adapter model, or
the fully fine-tuned checkpoint): every weight finite, logits on probe conversations
finite and close (max |delta|), greedy generations, tokenizer round trip, and the chat
template rendering the same text as at training time.

The check reads the saved files in the export's dtype and compares them with the trained
model computed in that same dtype, with a tolerance stated per dtype
(`logit_tolerance`): float32 must agree to `export.max_logit_diff` (absolute) and give
the same greedy generations; bfloat16 and float16 differ by rounding (the merged weight
is rounded once, the adapter model's sum in every layer), so they must stay within
`export.max_logit_diff_bfloat16` / `_float16` of the trained model's logit scale (its
largest |logit| on the probes), and their greedy agreement over the probes is reported.
A corrupted block of weights moves logits far beyond either tolerance."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from toolkit.models import torch_dtype
from toolkit.recipe import ExportSection

GREEDY_TOKENS = 16


def probe_conversations(records: list[dict], n: int) -> list[list[dict]]:
    """The first `n` records' conversations (held-out ones first, by the caller's order)."""
    return [r["messages"] for r in records[:n]]


def _probe_ids(tok, messages: list[dict], model=None) -> torch.Tensor:
    text = tok.apply_chat_template(messages, tokenize=False)
    ids = tok(text, return_tensors="pt", add_special_tokens=False)["input_ids"]
    return ids.to(model.device) if model is not None else ids


def logit_tolerance(cfg: ExportSection, scale: float) -> tuple[float, float | None]:
    """(the largest |exported - trained| logit allowed for an export in `cfg.dtype`, the
    relative share it came from): absolute for float32; for bfloat16 and float16 a share
    of `scale`, the trained model's largest |logit| on the probes."""
    if cfg.dtype == "float32":
        return cfg.max_logit_diff, None
    share = cfg.max_logit_diff_bfloat16 if cfg.dtype == "bfloat16" else cfg.max_logit_diff_float16
    return share * scale, share


@torch.no_grad()
def logit_scale(model, tok, conversations: list[list[dict]]) -> float:
    """The largest |logit| `model` gives on the probes (NaN when one is not finite)."""
    worst = 0.0
    for messages in conversations:
        logits = model(input_ids=_probe_ids(tok, messages, model)).logits.float()
        if not torch.isfinite(logits).all():
            return math.nan
        worst = max(worst, logits.abs().max().item())
    return worst


@torch.no_grad()
def max_logit_diff(a, b, tok, conversations: list[list[dict]]) -> float:
    """The largest |logit a - logit b| over the probes; NaN when either model gives a
    non-finite logit (NaN must not vanish in a max: `max(0.0, nan)` is 0.0)."""
    worst = 0.0
    for messages in conversations:
        la = a(input_ids=_probe_ids(tok, messages, a)).logits.float().cpu()
        lb = b(input_ids=_probe_ids(tok, messages, b)).logits.float().cpu()
        if not (torch.isfinite(la).all() and torch.isfinite(lb).all()):
            return math.nan
        worst = max(worst, (la - lb).abs().max().item())
    return worst


@torch.no_grad()
def non_finite_logits(model, tok, conversations: list[list[dict]]) -> int:
    """How many probe conversations give `model` a NaN or infinite logit."""
    return sum(not torch.isfinite(model(input_ids=_probe_ids(tok, m, model)).logits).all().item()
               for m in conversations)


@torch.no_grad()
def non_finite_weights(model) -> list[str]:
    """Names of `model`'s parameters and buffers holding a NaN or an infinity."""
    tensors = [*model.named_parameters(), *model.named_buffers()]
    return [name for name, t in tensors
            if t.is_floating_point() and not torch.isfinite(t).all().item()]


def _finite(value: float) -> float | None:
    # JSON has no NaN: verification.json and the manifest record a non-finite figure as null.
    return value if math.isfinite(value) else None


def _non_finite_failures(trained_model, exported, tok, conversations) -> list[str]:
    """Why the logits are not finite, named model by model and tensor by tensor."""
    failures = []
    for who, model in (("trained", trained_model), ("exported", exported)):
        names = non_finite_weights(model)
        if names:
            more = f" and {len(names) - 3} more" if len(names) > 3 else ""
            failures.append(f"the {who} model has NaN or infinite weights in "
                            f"{', '.join(names[:3])}{more}")
        bad = non_finite_logits(model, tok, conversations)
        if bad:
            failures.append(f"the {who} model gives NaN or infinite logits on {bad} of "
                            f"{len(conversations)} probe conversations")
    return failures or ["the logits differ by NaN or infinity on a probe conversation"]


def greedy(model, tok, conversations: list[list[dict]]) -> list[str]:
    from toolkit.generation import generate

    prompts = [
        tok.apply_chat_template(m[:-1], tokenize=False, add_generation_prompt=True)
        for m in conversations
    ]
    return generate(model, tok, prompts, batch_size=1, max_new_tokens=GREEDY_TOKENS)


def verify_export(
    model_dir: Path,
    trained_model,
    train_tok,
    conversations: list[list[dict]],
    cfg: ExportSection,
    in_memory_diff: float | None = None,
    device_map=None,
) -> dict:
    """Load `model_dir` with plain transformers in `cfg.dtype` (placed by `device_map`)
    and compare it with `trained_model`, which the caller computes in that same dtype.
    `in_memory_diff`: the whole-model merge's own check, when there was one."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    failures = []
    for name in ("config.json", "generation_config.json", "chat_template.jinja",
                 "tokenizer.json", "tokenizer_config.json"):
        if not (model_dir / name).is_file():
            failures.append(f"{name} is missing from the export")
    exported = AutoModelForCausalLM.from_pretrained(
        model_dir, local_files_only=True, use_safetensors=True, dtype=torch_dtype(cfg.dtype),
        **({"device_map": device_map} if device_map is not None else {}),
    ).eval()
    tok = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    # Non-finite weights are what an all-NaN adapter (a diverged run) merges into; they
    # fail the export whatever its dtype, as do weights that overflow the cast to float16.
    nan_weights = non_finite_weights(exported)
    diff = max_logit_diff(trained_model, exported, train_tok, conversations)
    if nan_weights or not math.isfinite(diff):
        failures += _non_finite_failures(trained_model, exported, train_tok, conversations)
    scale = logit_scale(trained_model, train_tok, conversations) if cfg.dtype != "float32" else None
    limit, share = logit_tolerance(cfg, scale or 0.0)
    key = {"float32": "max_logit_diff", "bfloat16": "max_logit_diff_bfloat16",
           "float16": "max_logit_diff_float16"}[cfg.dtype]
    if math.isfinite(diff) and diff > limit:
        stated = (f"export.{key} {limit:g}" if share is None else
                  f"{limit:.3g} (export.{key} {share:g} of the largest |logit| {scale:.3g})")
        failures.append(f"max |logit delta| {diff:.3g} ({cfg.dtype}, both sides) exceeds "
                        f"{stated}")
    if in_memory_diff is not None and not math.isfinite(in_memory_diff):
        failures.append("the fp32 merge's logits or the trained model's are NaN or infinite")
    elif in_memory_diff is not None and in_memory_diff > cfg.max_logit_diff:
        failures.append(
            f"the fp32 merge differs from the trained model by {in_memory_diff:.3g} "
            f"(> {cfg.max_logit_diff:g})"
        )
    if cfg.dtype == "float32":
        # What a bf16 deployment of these weights loses, for the record (not a check).
        exported_bf16 = AutoModelForCausalLM.from_pretrained(
            model_dir, local_files_only=True, use_safetensors=True, dtype=torch.bfloat16,
            **({"device_map": device_map} if device_map is not None else {}),
        ).eval()
        diff_bf16 = max_logit_diff(trained_model, exported_bf16, train_tok, conversations)
        del exported_bf16
    else:
        diff_bf16 = diff if cfg.dtype == "bfloat16" else math.nan
    ours = greedy(trained_model, train_tok, conversations)
    theirs = greedy(exported, tok if tok.chat_template else train_tok, conversations)
    agree = sum(a == b for a, b in zip(ours, theirs))
    same_greedy = agree == len(ours)
    if cfg.dtype == "float32" and not same_greedy:
        failures.append("greedy generations differ between the trained and the exported model")
    if not tok.chat_template:
        template_same = False
        failures.append("the exported tokenizer has no chat template")
    else:
        template_same = all(
            tok.apply_chat_template(m, tokenize=False)
            == train_tok.apply_chat_template(m, tokenize=False)
            for m in conversations
        )
        if not template_same:
            failures.append("the exported chat template renders differently from the training one")
    round_trip = all(
        tok.decode(tok(t, add_special_tokens=False)["input_ids"]) == t
        for m in conversations for t in (m[-1]["content"],)
    )
    if not round_trip:
        failures.append("the exported tokenizer does not round-trip the probe texts")
    return {
        "passed": not failures,
        "failures": failures,
        "dtype": cfg.dtype,
        "probes": len(conversations),
        "compared_in": cfg.dtype,
        "max_abs_logit_diff": _finite(diff),
        "max_abs_logit_diff_in_memory_merge": (None if in_memory_diff is None
                                               else _finite(in_memory_diff)),
        "max_abs_logit_diff_bf16": _finite(diff_bf16),
        "max_logit_diff_allowed": _finite(limit),
        "max_logit_diff_relative": share,
        "logit_scale": None if scale is None else _finite(scale),
        "greedy_identical": same_greedy,
        "greedy_agreement": f"{agree}/{len(ours)}",
        "greedy_tokens": GREEDY_TOKENS,
        "chat_template_identical": template_same,
        "tokenizer_round_trip": round_trip,
    }
