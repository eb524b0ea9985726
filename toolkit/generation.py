"""Batched greedy generation and log-likelihood of continuations, for every stage that
runs a model on prompts (eval scores suites with it, export checks the merged model
against the trained one).

Both are batch-invariant by construction: every sequence is tokenized on its own (never
as part of a padded batch), batches are left-padded by hand, position ids come from the
attention mask (so a padded row sees the positions it would see alone), and pad
positions are masked out. Outputs and log-likelihoods at batch size 1 and 16 agree
(tests/eval/test_runner.py). Prompts are sorted by length before batching so a
batch pads little; results come back in input order.
"""

from __future__ import annotations

import hashlib
from typing import Callable, Sequence

import torch
from transformers import StoppingCriteria, StoppingCriteriaList

OnBatch = Callable[[int], None] | None


# --------------------------------------------------------------------------- prompts


def render_prompt(tok, messages: list[dict]) -> str:
    """The exact text the model is given: the chat template with the generation prompt."""
    return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def render_prompts(tok, records: list[dict]) -> list[str]:
    """Prompts of chat records whose last message is the reference answer (corpus records)."""
    return [render_prompt(tok, r["messages"][:-1]) for r in records]


def prompt_hash(prompt: str) -> str:
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- batching


def _left_pad(seqs: Sequence[Sequence[int]], pad_id: int, device) -> tuple[torch.Tensor, ...]:
    """input_ids, attention_mask and position_ids of left-padded `seqs`; each row's
    positions count its own tokens from 0, as when the row is run alone."""
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for row, seq in enumerate(seqs):
        ids[row, width - len(seq):] = torch.tensor(seq, dtype=torch.long)
        mask[row, width - len(seq):] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    return ids.to(device), mask.to(device), positions.to(device)


def _by_length(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices in batches of similar length (longest first: a memory error shows at once)."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def _pad_id(tok) -> int:
    return tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id


def _end_token_ids(model, tok) -> list[int]:
    """Every token that ends a turn: the generation config's eos ids and the tokenizer's."""
    configured = model.generation_config.eos_token_id
    ids = configured if isinstance(configured, list) else [configured]
    return sorted({i for i in [*ids, tok.eos_token_id] if i is not None})


# --------------------------------------------------------------------------- generation


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """`text` up to the first occurrence of any stop string, trimmed."""
    cut = min((i for s in stop if s and (i := text.find(s)) >= 0), default=len(text))
    return text[:cut].strip()


class _StopStrings(StoppingCriteria):
    """A stopping criterion: a row is done once its new text contains a stop string.
    Only the tail is decoded (a stop string spans at most 4 tokens per character)."""

    def __init__(self, tok, stop: Sequence[str], prompt_width: int):
        self.tok, self.stop, self.start = tok, [s for s in stop if s], prompt_width
        self.tail = 4 * max(len(s) for s in self.stop) + 4

    def __call__(self, input_ids: torch.Tensor, scores, **kwargs) -> torch.Tensor:
        new = input_ids[:, self.start:][:, -self.tail:]
        texts = self.tok.batch_decode(new, skip_special_tokens=True)
        return torch.tensor([any(s in t for s in self.stop) for t in texts],
                            dtype=torch.bool, device=input_ids.device)


@torch.no_grad()
def generate(model, tok, prompts: list[str], batch_size: int, max_new_tokens: int,
             on_batch: OnBatch = None, stop: Sequence[str] = ()) -> list[str]:
    """Greedy completions of `prompts` (rendered text), batched with left padding and the
    KV cache; each ends at an end-of-turn token, `max_new_tokens` or, cut there, the first
    of the `stop` strings. The same text at any batch size."""
    model.eval()
    encoded = [tok(p, add_special_tokens=False)["input_ids"] for p in prompts]
    outputs: list[str] = [""] * len(prompts)
    for batch in _by_length([len(e) for e in encoded], batch_size):
        ids, mask, _ = _left_pad([encoded[i] for i in batch], _pad_id(tok), model.device)
        criteria = StoppingCriteriaList(
            [_StopStrings(tok, stop, ids.shape[1])] if any(stop) else [])
        out = model.generate(
            input_ids=ids,
            attention_mask=mask,  # generate derives position ids from it
            max_new_tokens=max_new_tokens,
            do_sample=False,
            num_beams=1,
            eos_token_id=_end_token_ids(model, tok),
            pad_token_id=_pad_id(tok),
            use_cache=True,
            stopping_criteria=criteria,
        )
        texts = tok.batch_decode(out[:, ids.shape[1]:], skip_special_tokens=True)
        for i, text in zip(batch, texts):
            outputs[i] = cut_at_stop(text, stop)
        if on_batch:
            on_batch(len(batch))
    return outputs


# --------------------------------------------------------------------------- log-likelihood


def continuation_tokens(tok, prompt: str, continuation: str,
                        prompt_ids: list[int] | None = None) -> tuple[list[int], list[int]]:
    """Token ids of `prompt` and of `continuation` as the model reads them after it.

    `prompt + continuation` is tokenized as one string and split after the prompt's own
    tokens, so the continuation is scored on the tokens the model would really see. When
    the tokenizer merges across the boundary (the prompt's tokens are not a prefix of the
    whole), the two are tokenized separately and concatenated instead: the only split
    that scores exactly the continuation. Either way the result depends on this one pair
    only, never on the batch it is scored in."""
    if prompt_ids is None:
        prompt_ids = tok(prompt, add_special_tokens=False)["input_ids"]
    head = prompt_ids
    whole = tok(prompt + continuation, add_special_tokens=False)["input_ids"]
    if len(whole) > len(head) and whole[:len(head)] == head:
        return head, whole[len(head):]
    return head, tok(continuation, add_special_tokens=False)["input_ids"]


@torch.no_grad()
def choice_logprobs(model, tok, prompts: list[str], choices: list[list[str]], batch_size: int,
                    on_batch: OnBatch = None) -> list[list[float]]:
    """For each prompt, the summed log-probability of each of its choices as the text
    that follows it (the choice tokens only), batched over all (prompt, choice) pairs."""
    model.eval()
    requests: list[tuple[int, int, list[int], int]] = []  # item, choice, tokens, choice tokens
    for i, (prompt, options) in enumerate(zip(prompts, choices)):
        head = tok(prompt, add_special_tokens=False)["input_ids"]
        for c, option in enumerate(options):
            head, tail = continuation_tokens(tok, prompt, option, head)
            requests.append((i, c, head + tail, len(tail)))
    result = [[0.0] * len(options) for options in choices]
    for batch in _by_length([len(r[2]) for r in requests], batch_size):
        rows = [requests[k] for k in batch]
        ids, mask, positions = _left_pad([r[2] for r in rows], _pad_id(tok), model.device)
        # Left padding puts every continuation at the end: only the last `keep` positions'
        # logits are needed (the full [batch, length, vocab] tensor can be gigabytes).
        keep = max(r[3] for r in rows) + 1
        logits = model(input_ids=ids, attention_mask=mask, position_ids=positions,
                       use_cache=False, logits_to_keep=keep).logits
        for row, (i, c, _, n) in enumerate(rows):
            # logits[row, j] predicts the token at position width - keep + j + 1.
            logprobs = torch.log_softmax(logits[row, keep - n - 1:keep - 1].float(), dim=-1)
            targets = ids[row, -n:].unsqueeze(-1)
            result[i][c] = logprobs.gather(-1, targets).sum().item()
        if on_batch:
            on_batch(len(rows))
    return result
