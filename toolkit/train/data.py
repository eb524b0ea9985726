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


def _render(tok, messages: list[dict], **kwargs) -> str:
    """The chat template's text for `messages`; a template that refuses the conversation
    (Gemma's "System role not supported") is a DataError, not a Jinja traceback."""
    from jinja2 import TemplateError

    try:
        return tok.apply_chat_template(messages, tokenize=False, **kwargs)
    except TemplateError as exc:
        roles = "/".join(m["role"] for m in messages)
        raise DataError(
            f"The chat template refuses a conversation of roles {roles}: {exc}. Use a chat "
            f"template that accepts it (model.chat_template), e.g. one that puts a system "
            f"prompt into the first user turn."
        ) from None


def assistant_spans(tok, messages: list[dict]) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the character spans of its assistant turns, each
    ending just after the end-of-turn token: the tokenizer's eos, which `model.eos_token`
    sets when the template ends turns with another token (Gemma 2: <end_of_turn>)."""
    text = _render(tok, messages)
    spans = []
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        prefix = _render(tok, messages[:i], add_generation_prompt=True)
        upto = _render(tok, messages[: i + 1])
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
                f"{tok.eos_token!r} (it renders {turn[-40:]!r}): a model trained on it would "
                f"never learn to stop. Set model.eos_token to the token the template ends "
                f"turns with (Gemma 2: <end_of_turn>), or fix the template."
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


def serving_mismatch(tok, messages: list[dict]) -> str | None:
    """How what training feeds for `messages` differs from what serving does, or None.

    For each assistant turn, a server renders the conversation before it with
    `apply_chat_template(..., add_generation_prompt=True)`, tokenizes that prompt, and the
    model writes the answer and the end-of-turn token, where generation stops. Training
    must show the model exactly those prompt tokens, learn exactly the tokens after them
    up to and including the end-of-turn token, and those tokens must read as the answer."""
    t = tokenize_chat(tok, messages, max_len=10**9)
    done = 0  # tokens up to the end of the previous assistant turn
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        prompt = tok(_render(tok, messages[:i], add_generation_prompt=True),
                     add_special_tokens=False)["input_ids"]
        if t.input_ids[:len(prompt)] != prompt:
            at = next((k for k, (a, b) in enumerate(zip(t.input_ids, prompt)) if a != b),
                      min(len(prompt), len(t.input_ids)))
            return (f"turn {i}: the prompt a server tokenizes differs from the training tokens "
                    f"at token {at} ({tok.decode(prompt[at:at + 3])!r} served, "
                    f"{tok.decode(t.input_ids[at:at + 3])!r} trained): the template's "
                    f"generation prompt does not end on a token boundary")
        end = len(prompt)
        while end < len(t.labels) and t.labels[end] != IGNORE:
            end += 1
        trained = [k for k in range(done, end) if t.labels[k] != IGNORE]
        if trained != list(range(len(prompt), end)) or end == len(prompt):
            return (f"turn {i}: the trained tokens are not exactly those after the serving "
                    f"prompt (trained {len(trained)} from token {trained[0] if trained else '-'}, "
                    f"the answer starts at token {len(prompt)})")
        if t.input_ids[end - 1] != tok.eos_token_id:
            return (f"turn {i}: the trained answer ends with "
                    f"{tok.decode(t.input_ids[end - 1:end])!r}, not the eos token "
                    f"{tok.eos_token!r} generation stops at")
        answer = tok.decode(t.input_ids[len(prompt):end - 1])
        if answer.strip() != message["content"].strip():
            return (f"turn {i}: the trained answer reads {answer[:60]!r}, not the record's "
                    f"{message['content'][:60]!r}")
        done = end
    return None


def check_template_matches_serving(tok, records: list[dict], n: int = 8) -> int:
    """What training feeds must be what serving renders (`serving_mismatch`), checked on
    the first `n` records. Returns how many were checked; raises DataError on a mismatch."""
    for rec in records[:n]:
        problem = serving_mismatch(tok, rec["messages"])
        if problem is not None:
            raise DataError(
                f"Record {rec.get('id')}: training and serving would see different tokens: "
                f"{problem}. Use a chat template (model.chat_template) whose generation "
                f"prompt is exactly how assistant turns begin, and whose turns end with the "
                f"eos token."
            )
    return min(n, len(records))
