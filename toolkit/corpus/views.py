"""The alpaca and sharegpt views of the corpus's chat records (`corpus.views`)."""

from __future__ import annotations

_SHAREGPT_FROM = {"system": "system", "user": "human", "assistant": "gpt"}
_SHAREGPT_ROLE = {v: k for k, v in _SHAREGPT_FROM.items()}


def to_alpaca(record: dict) -> dict:
    """{"instruction", "input", "output"} of a one-turn chat record: the user message's
    first paragraph is the instruction, the rest (the source passage) the input; a system
    message, if any, is put before the instruction. Raises ValueError on several turns."""
    messages = record["messages"]
    system = [m["content"] for m in messages if m["role"] == "system"]
    turns = [m for m in messages if m["role"] != "system"]
    if [m["role"] for m in turns] != ["user", "assistant"]:
        raise ValueError(f"record {record.get('id')}: the alpaca view takes one user and one "
                         f"assistant message, not {[m['role'] for m in turns]}")
    instruction, _, given = turns[0]["content"].partition("\n\n")
    if system:
        instruction = "\n\n".join(system + [instruction])
    return {"instruction": instruction, "input": given, "output": turns[1]["content"]}


def from_alpaca(row: dict) -> list[dict]:
    """The chat messages of an alpaca row (inverse of to_alpaca for records without a
    system message)."""
    user = f"{row['instruction']}\n\n{row['input']}" if row.get("input") else row["instruction"]
    return [{"role": "user", "content": user}, {"role": "assistant", "content": row["output"]}]


def to_sharegpt(record: dict) -> dict:
    """{"conversations": [{"from": "system"|"human"|"gpt", "value"}]} of a chat record."""
    return {"conversations": [{"from": _SHAREGPT_FROM[m["role"]], "value": m["content"]}
                              for m in record["messages"]]}


def from_sharegpt(row: dict) -> list[dict]:
    """The chat messages of a sharegpt row (inverse of to_sharegpt)."""
    return [{"role": _SHAREGPT_ROLE[t["from"]], "content": t["value"]} for t in row["conversations"]]
