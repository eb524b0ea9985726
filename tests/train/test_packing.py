"""Padding-free packing is exact: a packed row's loss equals the sum of its samples'
losses, and a sample's logits inside a pack equal its logits alone."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from tests.helpers import DOCS
from toolkit.corpus.sources import documents
from toolkit.corpus.families import FAMILIES
from toolkit.recipe import CorpusSource, ModelSection
from toolkit.train.data import IGNORE, tokenize_chat
from toolkit.models import load_model, load_tokenizer
from toolkit.train.packing import pack_collator, register_segment_attention


@pytest.fixture(scope="module")
def samples(tiny_model):
    tok = load_tokenizer(ModelSection(path=tiny_model))
    docs = list(documents(CorpusSource(path=DOCS)))[:3]
    records = [r for d in docs for task in ("title", "doc_type", "article") for r in FAMILIES[task](d, 200)]
    rows = []
    for rec in records[:6]:
        t = tokenize_chat(tok, rec["messages"], max_len=384)
        rows.append({"input_ids": t.input_ids, "labels": t.labels})
    assert len({len(r["input_ids"]) for r in rows}) > 1  # different lengths, or the test is weak
    return tok, rows


def summed_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits[:-1].float(), labels[1:], ignore_index=IGNORE, reduction="sum")


@torch.no_grad()
def test_packed_loss_equals_sum_of_sample_losses_and_logits_match_alone(tiny_model, samples):
    tok, rows = samples
    section = ModelSection(path=tiny_model)
    alone_model = load_model(section, attn_implementation="sdpa").eval()
    packed_model = load_model(section, attn_implementation=register_segment_attention()).eval()
    batch = pack_collator(tok.pad_token_id)(rows)
    assert batch["input_ids"].shape[0] == 1 and "attention_mask" not in batch
    packed = packed_model(input_ids=batch["input_ids"], position_ids=batch["position_ids"],
                          cu_seq_lens_q=batch["cu_seq_lens_q"], cu_seq_lens_k=batch["cu_seq_lens_k"],
                          max_length_q=batch["max_length_q"], max_length_k=batch["max_length_k"],
                          use_cache=False).logits[0]

    total, start = torch.tensor(0.0), 0
    for row in rows:
        ids, labels = torch.tensor(row["input_ids"]), torch.tensor(row["labels"])
        alone = alone_model(input_ids=ids[None]).logits[0]
        inside = packed[start:start + len(ids)]
        assert (inside - alone).abs().max().item() <= 1e-5
        total += summed_loss(alone, labels)
        start += len(ids)
    packed_sum = summed_loss(packed, batch["labels"][0])
    assert abs(packed_sum.item() - total.item()) / total.item() <= 1e-5

    # The model's own loss over the packed row is the same quantity, averaged.
    n_labels = sum(sum(1 for x in r["labels"][1:] if x != IGNORE) for r in rows)
    out = packed_model(**{k: v for k, v in batch.items() if k != "seq_idx"}, use_cache=False)
    assert abs(out.loss.item() * n_labels - total.item()) / total.item() <= 1e-5


@torch.no_grad()
def test_without_restarted_positions_samples_would_see_each_other(tiny_model, samples):
    """The check above is not vacuous: plain causal attention over the same row differs."""
    tok, rows = samples
    model = load_model(ModelSection(path=tiny_model), attn_implementation="sdpa").eval()
    ids = torch.tensor([x for r in rows for x in r["input_ids"]])[None]
    crossed = model(input_ids=ids).logits[0]
    first = len(rows[0]["input_ids"])
    second_alone = model(input_ids=torch.tensor(rows[1]["input_ids"])[None]).logits[0]
    assert (crossed[first:first + len(rows[1]["input_ids"])] - second_alone).abs().max() > 1e-3
