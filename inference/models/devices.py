"""Device and dtype: CUDA with half precision when there is a GPU, else the CPU in fp32."""

from __future__ import annotations

import torch

_DTYPES = {
    "fp32": torch.float32,
    "float32": torch.float32,
    "fp16": torch.float16,
    "float16": torch.float16,
    "bf16": torch.bfloat16,
    "bfloat16": torch.bfloat16,
}


def pick_device(requested: str | torch.device | None = None) -> torch.device:
    if requested is not None:
        return torch.device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def pick_dtype(device: torch.device, requested: str | torch.dtype | None = None) -> torch.dtype:
    if isinstance(requested, torch.dtype):
        dtype = requested
    elif requested is not None:
        try:
            dtype = _DTYPES[requested.lower()]
        except KeyError:
            raise ValueError(f"unknown dtype {requested!r}; use fp32, fp16 or bf16") from None
    else:
        dtype = torch.float16 if device.type == "cuda" else torch.float32
    if device.type == "cpu" and dtype == torch.float16:
        raise ValueError("fp16 is not supported on the CPU; use fp32 (or bf16)")
    return dtype


# Stage 1 at 1024², fp16, measured on an H100 (docs/benchmarks.md, batch 1 and 4): 11,978 MB and
# 23,499 MB peak, so about 8,138 MB fixed and 3,840 MB per image. HEADROOM leaves room for the identity
# encoder, detailing and the allocator's fragmentation; a batch that still runs out of memory is halved
# by the worker, so an estimate a little high costs a retry, never a job.
FIXED_MB, PER_IMAGE_MB, HEADROOM, MAX_BATCH = 8_138, 3_840, 0.85, 8
CPU_BATCH = 4  # the tiny preset on a CPU (make run)


def batch_size_for(device: torch.device, total_mb: float | None = None) -> int:
    """Jobs per batch the device holds at 1024²: T4 (16 GB) 1, A10G / L4 (24 GB) 2, H100 (80 GB) 8."""
    if device.type != "cuda":
        return CPU_BATCH
    if total_mb is None:
        total_mb = torch.cuda.get_device_properties(device).total_memory / 2**20
    return max(1, min(MAX_BATCH, int((total_mb * HEADROOM - FIXED_MB) // PER_IMAGE_MB)))
