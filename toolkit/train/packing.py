"""Padding-free packing: several samples in one row, attention only within each sample.

TRL's padding-free collator concatenates a batch into one row, restarts `position_ids`
per sample and passes the sample boundaries as `cu_seq_lens_q`. With plain SDPA,
transformers turns that into a block-diagonal mask over the whole row and still computes
attention for every pair of tokens. The attention registered here as "gongmu_segments"
runs causal SDPA once per sample instead, so nothing is computed for padding or across
samples. On a GPU with flash-attention installed, recipes pick "flash_attention_2",
whose varlen kernel does the same from the same `cu_seq_lens_q`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

SEGMENT_ATTENTION = "gongmu_segments"


def _repeat_kv(states: torch.Tensor, groups: int) -> torch.Tensor:
    if groups == 1:
        return states
    b, h, n, d = states.shape
    return states[:, :, None].expand(b, h, groups, n, d).reshape(b, h * groups, n, d)


def segment_attention(module, query, key, value, attention_mask, dropout: float = 0.0,
                      scaling: float | None = None, **kwargs):
    """Causal attention per packed sample (from `cu_seq_lens_q`); plain SDPA otherwise."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    bounds = kwargs.get("cu_seq_lens_q")
    if bounds is None or query.shape[0] != 1 or attention_mask is not None:
        return sdpa_attention_forward(module, query, key, value, attention_mask,
                                      dropout=dropout, scaling=scaling, **kwargs)
    groups = getattr(module, "num_key_value_groups", 1)
    key, value = _repeat_kv(key, groups), _repeat_kv(value, groups)
    p = dropout if module.training else 0.0
    edges = [int(x) for x in bounds.tolist()]
    parts = [
        F.scaled_dot_product_attention(query[:, :, s:e], key[:, :, s:e], value[:, :, s:e],
                                       is_causal=True, dropout_p=p, scale=scaling)
        for s, e in zip(edges[:-1], edges[1:]) if e > s
    ]
    out = torch.cat(parts, dim=2)
    return out.transpose(1, 2).contiguous(), None


def _segment_mask(*args, attention_mask=None, **kwargs):
    # Packed rows carry no padding: the attention above needs no mask at all. Anything
    # else (padded batches) gets the ordinary SDPA mask.
    from transformers.masking_utils import sdpa_mask

    if attention_mask is None:
        return None
    return sdpa_mask(*args, attention_mask=attention_mask, **kwargs)


def register_segment_attention() -> str:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    AttentionInterface.register(SEGMENT_ATTENTION, segment_attention)
    AttentionMaskInterface.register(SEGMENT_ATTENTION, _segment_mask)
    return SEGMENT_ATTENTION


def pack_collator(pad_token_id: int):
    """TRL's padding-free collator: one row per batch, positions restarting per sample,
    sample boundaries in `cu_seq_lens_q`, the first token of each sample unlabelled."""
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    return DataCollatorForLanguageModeling(pad_token_id=pad_token_id, padding_free=True)
