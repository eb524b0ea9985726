"""Throughput figures: the device's measured matmul peak and model-FLOPs utilisation."""

from __future__ import annotations

import time

import torch


def matmul_peak_flops(n: int = 2048, reps: int = 10) -> float:
    """Measured matmul FLOP/s of this device in fp32 (the MFU denominator)."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    for _ in range(2):
        a @ b
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    if device == "cuda":
        torch.cuda.synchronize()
    return 2 * n**3 * reps / (time.perf_counter() - start)


def model_flops_per_token(parameters: int, adapter_only: bool = True) -> int:
    """Matmul FLOPs per trained token: forward (2N) and activation gradients (2N); full
    fine-tuning adds weight gradients (2N). Attention's own FLOPs are left out."""
    return (4 if adapter_only else 6) * parameters
