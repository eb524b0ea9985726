"""What each eval task type (suite.yaml `task_type`) asks of the model, and how its
answers are scored.

- generation, grounded_qa: greedy completions (`generate`), scored by the suite's
  metrics against the item's reference (item-aware metrics get the item: its
  `source_articles`, `context_pii`).
- multiple_choice: the log-likelihood of each choice as the assistant's answer
  (`choice_logprobs`); `acc_raw`, `acc_per_char` and `acc_per_byte` say whether the
  best choice under each normalisation (`pick_choice`) is the gold one.
- classification: the model writes a label; its first non-empty line is scored against
  the gold label, and when items give `choices`, the label set is also scored as
  multiple choice.

Both model paths (`toolkit.generation`) are batch-invariant by construction.
"""

from __future__ import annotations

from typing import Sequence

from toolkit.eval.metrics import score, worst_score
from toolkit.eval.suite import CHOICE_METRICS, Suite
from toolkit.generation import OnBatch, choice_logprobs, generate, prompt_hash, render_prompt


# --------------------------------------------------------------------------- prompts


def prompt_messages(suite: Suite, item: dict) -> list[dict]:
    """The item's prompt with the suite's system prompt (unless the item has its own
    system turn) and its few-shot examples as earlier user/assistant turns."""
    own = item["messages"]
    n_system = next((i for i, m in enumerate(own) if m["role"] != "system"), len(own))
    system = own[:n_system]
    if not system and suite.spec.system_prompt:
        system = [{"role": "system", "content": suite.spec.system_prompt}]
    shots = []
    for shot in suite.shots:
        shots += [m for m in shot["messages"] if m["role"] != "system"]
        shots.append({"role": "assistant", "content": shot["reference"]})
    return system + shots + own[n_system:]


def suite_prompts(tok, suite: Suite) -> list[str]:
    """The rendered prompt of every scored item of `suite`, in item order."""
    return [render_prompt(tok, prompt_messages(suite, item)) for item in suite.items]


def normalised(logprob: float, choice: str, normalisation: str) -> float:
    """`raw`: the summed log-probability; `per_char`: per character of the choice;
    `per_byte`: per UTF-8 byte (a Hangul syllable is 3 bytes, a Latin letter 1)."""
    if normalisation == "raw":
        return logprob
    if normalisation == "per_char":
        return logprob / len(choice)
    if normalisation == "per_byte":
        return logprob / len(choice.encode("utf-8"))
    raise ValueError(f"unknown normalisation '{normalisation}'")


def pick_choice(logprobs: Sequence[float], choices: Sequence[str], normalisation: str) -> int:
    """Index of the best choice under `normalisation` (the first one on a tie)."""
    values = [normalised(lp, c, normalisation) for lp, c in zip(logprobs, choices)]
    return max(range(len(values)), key=lambda k: (values[k], -k))


def first_line(text: str) -> str:
    """The first non-empty line of `text`, trimmed: a generated label."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


# --------------------------------------------------------------------------- scoring


def work_units(suite: Suite) -> int:
    """How many progress steps `score_suite` reports: one per generated item and one per
    scored choice."""
    generated = len(suite.items) if suite.text_metrics else 0
    return generated + (sum(len(i["choices"]) for i in suite.items) if suite.choice_metrics else 0)


def score_suite(model, tok, suite: Suite, prompts: list[str], batch_size: int,
                max_new_tokens: int, on_batch: OnBatch = None) -> list[dict]:
    """One row per scored item: `id`, `task` (meta.task), `prompt_hash`, what the model
    produced (`output`; `choice_logprobs` and `predicted` for choices), `reference` and
    `scores` ({metric: value in [0, 1]})."""
    items = suite.items
    outputs = logprobs = None
    if suite.text_metrics:
        outputs = generate(model, tok, prompts, batch_size,
                           suite.spec.max_new_tokens or max_new_tokens, on_batch, suite.spec.stop)
    if suite.choice_metrics:
        logprobs = choice_logprobs(model, tok, prompts, [i["choices"] for i in items],
                                   batch_size, on_batch)
    return score_answers(suite, [prompt_hash(p) for p in prompts], outputs=outputs,
                         choice_logprobs=logprobs)


def score_answers(suite: Suite, prompt_hashes: list[str], *,
                  outputs: Sequence[str | None] | None = None,
                  choice_logprobs: Sequence[list[float] | None] | None = None,
                  letter_picks: Sequence[int | None] | None = None,
                  failed: Sequence[str | None] | None = None) -> list[dict]:
    """The rows of `score_suite` from answers however they were got (a local model, an
    endpoint): `outputs`, the generated text of each item (text metrics);
    `choice_logprobs`, each item's log-probability of each choice; or instead
    `letter_picks`, the choice an endpoint named by its letter (None: unreadable, scored
    wrong; such rows say `choice_scoring: letter`); `failed`, the reason an item got no
    answer, else None. A failed row has `failed` and the worst score of every metric
    (`metrics.worst_score`: 0, or a leak for pii_leak): every item counts, so a candidate
    cannot raise its mean by failing the items it is unsure of."""
    items = suite.items
    failed = failed or [None] * len(items)
    rows = [{"id": item["id"], "task": (item.get("meta") or {}).get("task"),
             "prompt_hash": h, "reference": item["reference"], "scores": {}}
            for item, h in zip(items, prompt_hashes)]
    for k, row in enumerate(rows):
        if failed[k]:
            row["failed"] = failed[k]
        if outputs is not None and outputs[k] is not None:
            row["output"] = outputs[k]
        if not failed[k] and suite.text_metrics:
            scored = row["output"]
            if suite.task_type == "classification":
                scored = row["prediction"] = first_line(row["output"])
            for metric in suite.text_metrics:
                row["scores"][metric] = score(metric, scored, items[k]["reference"], items[k])
        if failed[k] or not suite.choice_metrics:
            continue
        item = items[k]
        if letter_picks is not None:
            pick = letter_picks[k]
            picked = {CHOICE_METRICS[m]: pick for m in suite.choice_metrics}
            row.update(choice_scoring="letter", predicted=picked, answer=item["answer"])
        else:
            lps = choice_logprobs[k]
            picked = {CHOICE_METRICS[m]: pick_choice(lps, item["choices"], CHOICE_METRICS[m])
                      for m in suite.choice_metrics}
            row.update(choice_logprobs=lps, predicted=picked, answer=item["answer"])
        if "output" not in row or suite.task_type == "multiple_choice":
            # multiple choice: the choice picked by the primary metric
            main = picked[CHOICE_METRICS[suite.primary]]
            row["output"] = item["choices"][main] if main is not None else ""
        for metric in suite.choice_metrics:
            row["scores"][metric] = float(picked[CHOICE_METRICS[metric]] == item["answer"])
    for row in rows:  # metrics in the suite's order; a failed item scores the worst
        if row.get("failed"):
            row["scores"] = {m: worst_score(m) for m in suite.metrics}
        row["scores"] = {m: row["scores"][m] for m in suite.metrics if m in row["scores"]}
    return rows
