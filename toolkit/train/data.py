"""Chat records -> token ids and labels, with the loss on assistant turns only.

The conversation is rendered once with the model's own chat template, exactly as the
serving side will render it; the assistant spans (content and the end-of-turn token that
ends it, so the model learns to stop) are found by rendering the prefixes, and tokens
starting inside a span keep their label. Everything else is -100.
"""

from __future__ import annotations

from dataclasses import dataclass

from toolkit.errors import DataError

IGNORE = -100


@dataclass
class Tokenized:
    input_ids: list[int]
    labels: list[int]
    truncated: bool


def assistant_spans(tok, messages: list[dict]) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the character spans of its assistant turns, each
    ending just after the end-of-turn (eos) token."""
    text = tok.apply_chat_template(messages, tokenize=False)
    spans = []
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        prefix = tok.apply_chat_template(messages[:i], tokenize=False, add_generation_prompt=True)
        upto = tok.apply_chat_template(messages[: i + 1], tokenize=False)
        if not (text.startswith(prefix) and text.startswith(upto) and upto.startswith(prefix)):
            raise DataError(
                "The chat template does not render conversations prefix by prefix (turn "
                f"{i} renders differently alone), so assistant tokens cannot be located. Use "
                "a chat template that renders earlier turns the same way (model.chat_template)."
            )
        turn = upto[len(prefix):]
        stop = turn.rfind(tok.eos_token)
        if stop < 0:
            raise DataError(
                f"The chat template does not end assistant turns with the eos token "
                f"{tok.eos_token!r}: a model trained on it would never learn to stop. Fix the "
                f"template or the tokenizer's eos token."
            )
        spans.append((len(prefix), len(prefix) + stop + len(tok.eos_token)))
    return text, spans


def tokenize_chat(tok, messages: list[dict], max_len: int) -> Tokenized:
    text, spans = assistant_spans(tok, messages)
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = enc["input_ids"], enc["offset_mapping"]
    labels = []
    for token_id, (start, _end) in zip(ids, offsets):
        inside = any(s <= start < e for s, e in spans)
        labels.append(token_id if inside else IGNORE)
    truncated = len(ids) > max_len
    return Tokenized(ids[:max_len], labels[:max_len], truncated)


def tokenize_records(tok, records: list[dict], max_len: int) -> tuple[list[dict], dict]:
    """Tokenize chat records; returns rows for the trainer and counts for the manifest."""
    rows, truncated, no_labels = [], 0, 0
    for rec in records:
        t = tokenize_chat(tok, rec["messages"], max_len)
        truncated += t.truncated
        if all(label == IGNORE for label in t.labels):
            no_labels += 1
            continue
        rows.append({"input_ids": t.input_ids, "labels": t.labels})
    counts = {
        "records": len(records),
        "sequences": len(rows),
        "truncated_to_max_seq_len": truncated,
        "dropped_no_assistant_tokens_left": no_labels,
        "tokens": sum(len(r["input_ids"]) for r in rows),
        "label_tokens": sum(sum(1 for x in r["labels"] if x != IGNORE) for r in rows),
    }
    return rows, counts


def check_template_matches_serving(tok, records: list[dict], n: int = 8) -> int:
    """Training ids must equal what `apply_chat_template(tokenize=True)` gives at serving
    time. Returns how many records were checked; raises DataError on a mismatch."""
    for rec in records[:n]:
        ours = tokenize_chat(tok, rec["messages"], max_len=10**9).input_ids
        served = tok.apply_chat_template(rec["messages"], tokenize=True, return_dict=False)
        if hasattr(served, "input_ids"):
            served = served["input_ids"]
        if list(served) != ours:
            raise DataError(
                f"Record {rec.get('id')}: the training tokens differ from what the tokenizer's "
                f"chat template gives at serving time. Training and serving must render chats "
                f"identically; check model.chat_template and the tokenizer."
            )
    return min(n, len(records))
