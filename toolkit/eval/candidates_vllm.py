"""`eval.backend: vllm`: local candidates generated and scored by vLLM instead of
transformers, on the same items with the same prompts and the same scoring.

- The prompts are the rendered text `toolkit.eval.scoring.suite_prompts` gives the
  transformers backend, tokenized the same way (`add_special_tokens=False`) and handed to
  vLLM as token ids, so both backends see identical input.
- Generation: greedy (temperature 0), `max_new_tokens`, the suite's stop strings; the
  text is cut at the first stop string and trimmed, as `toolkit.generation.generate` does.
- Multiple choice: the log-probability of each choice's tokens from vLLM's
  `prompt_logprobs`, the tokens split as `toolkit.generation.continuation_tokens` splits
  them.
- A base plus adapter runs as vLLM LoRA (`enable_lora`); DoRA adapters and adapters with
  `modules_to_save` are refused (vLLM cannot load them): evaluate the export stage's
  merged model (`stage: export`) instead.
- All GPUs are used (`tensor_parallel_size`); `eval.max_model_len` sets the context to
  reserve (default: the model's, capped at 8192).

vLLM needs a GPU and is not installed on gongmu's development machines: this path is
checked on a GPU machine, not in the test suite (which checks that it is refused cleanly
where vLLM is missing). vLLM's kernels are not batch-invariant: scores may differ from
the transformers backend in the last digits, never in the items, prompts or metrics.
"""

from __future__ import annotations

import json
from pathlib import Path

from toolkit.errors import ModelError
from toolkit.recipe import Recipe


def _lora(candidate, adapter: Path | None):
    """(enable_lora keys for LLM(...), the LoRARequest) for an adapter, or ({}, None)."""
    if adapter is None:
        return {}, None
    from vllm.lora.request import LoRARequest

    config = json.loads((adapter / "adapter_config.json").read_text(encoding="utf-8"))
    if config.get("use_dora") or config.get("modules_to_save"):
        raise ModelError(
            f"Candidate '{candidate.name}': vLLM cannot load the adapter in {adapter} (DoRA or "
            f"modules_to_save). Evaluate the merged export (kind: stage, stage: export) with "
            f"eval.backend: vllm, or use eval.backend: transformers.")
    rank = int(config.get("r", 16))
    return ({"enable_lora": True, "max_lora_rank": max(8, 1 << (rank - 1).bit_length()),
             "max_loras": 1}, LoRARequest(candidate.name, 1, str(adapter)))


def score_with_vllm(recipe: Recipe, candidate, local, dtype: str, suites, prompts: dict,
                    bar) -> dict[str, list[dict]]:
    """Rows per suite for the local candidate `local` (see `candidates._Local`)."""
    import torch
    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt

    from toolkit.eval.scoring import score_answers
    from toolkit.generation import continuation_tokens, cut_at_stop, prompt_hash
    from toolkit.models import free_memory, serving_context

    tok = local.tokenizer
    lora_keys, lora = _lora(candidate, local.adapter)
    llm = LLM(model=str(local.path), tokenizer=str(local.tokenizer_dir or local.path),
              dtype=dtype, tensor_parallel_size=max(1, torch.cuda.device_count()),
              max_model_len=serving_context(local.path, recipe.eval.max_model_len),
              seed=recipe.seed,
              trust_remote_code=recipe.model.trust_remote_code, **lora_keys)
    rows: dict[str, list[dict]] = {}
    try:
        for suite in suites:
            texts = prompts[suite.name]
            ids = [tok(p, add_special_tokens=False)["input_ids"] for p in texts]
            task = bar.add_task(f"{suite.name} · {candidate.name} (vllm)", total=len(texts), info="")
            outputs = logprobs = None
            if suite.text_metrics:
                params = SamplingParams(
                    temperature=0.0, max_tokens=suite.spec.max_new_tokens or recipe.eval.max_new_tokens,
                    stop=list(suite.spec.stop) or None, skip_special_tokens=True)
                done = llm.generate([TokensPrompt(prompt_token_ids=i) for i in ids], params,
                                    lora_request=lora, use_tqdm=False)
                outputs = [cut_at_stop(d.outputs[0].text, suite.spec.stop) for d in done]
            if suite.choice_metrics:
                pairs, requests = [], []
                for k, (text, head) in enumerate(zip(texts, ids)):
                    for c, choice in enumerate(suite.items[k]["choices"]):
                        head, tail = continuation_tokens(tok, text, choice, head)
                        pairs.append((k, c, len(head), len(tail)))
                        requests.append(TokensPrompt(prompt_token_ids=head + tail))
                params = SamplingParams(temperature=0.0, max_tokens=1, prompt_logprobs=0)
                done = llm.generate(requests, params, lora_request=lora, use_tqdm=False)
                logprobs = [[0.0] * len(item["choices"]) for item in suite.items]
                for (k, c, start, n), d in zip(pairs, done):
                    tokens = d.prompt_token_ids
                    logprobs[k][c] = float(sum(d.prompt_logprobs[j][tokens[j]].logprob
                                               for j in range(start, start + n)))
            bar.advance(task, len(texts))
            rows[suite.name] = score_answers(suite, [prompt_hash(p) for p in texts],
                                             outputs=outputs, choice_logprobs=logprobs)
    finally:
        del llm
        free_memory()
    return rows
