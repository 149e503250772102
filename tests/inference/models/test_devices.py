"""Jobs per batch from a GPU's memory: the tiers the deployment uses, from the measured peak memory."""

import pytest
import torch

from inference.models.devices import CPU_BATCH, batch_size_for

CUDA = torch.device("cuda", 0)


@pytest.mark.parametrize(
    "gpu, total_mb, batch",
    [("T4 16 GB", 15_360, 1), ("A10G 24 GB", 23_028, 2), ("L4 24 GB", 22_563, 2), ("H100 80 GB", 81_559, 8)],
)
def test_each_gpu_tier_gets_the_batch_its_memory_holds(gpu, total_mb, batch):
    assert batch_size_for(CUDA, total_mb=total_mb) == batch, gpu


def test_the_estimate_stays_within_the_measured_peaks():
    # docs/benchmarks.md (H100, 1024², fp16): 11,978 MB at batch 1 and 23,499 MB at batch 4. A device
    # whose usable memory is just over one of those holds that batch and not the next.
    assert batch_size_for(CUDA, total_mb=23_499 / 0.85 + 1) == 4
    assert batch_size_for(CUDA, total_mb=11_978 / 0.85 + 1) == 1
    assert batch_size_for(CUDA, total_mb=4_000) == 1  # never zero: the worker halves on out-of-memory


def test_a_cpu_runs_the_tiny_preset_in_fours():
    assert batch_size_for(torch.device("cpu")) == CPU_BATCH == 4
