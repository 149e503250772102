"""Align-Your-Steps timesteps for SDXL, at any step count.

AYS (Sabour et al., 2024, "Align Your Steps: Optimizing Sampling Schedules in Diffusion Models") gives
ten optimised timesteps for SDXL. Other step counts come from log-linear interpolation of those
anchors: xs = linspace(0, 1, 10), ys = log(anchors, increasing), interpolate at linspace(0, 1, n),
exponentiate, and reverse into the decreasing order the sampler walks.
"""

from __future__ import annotations

import numpy as np
from diffusers import EulerDiscreteScheduler

AYS_SDXL_ANCHORS = (999, 845, 730, 587, 443, 310, 193, 116, 53, 13)


def ays_timesteps(steps: int) -> list[int]:
    """`steps` strictly decreasing integer timesteps from 999 down to 13."""
    if steps < 1:
        raise ValueError("steps must be at least 1")
    if steps == 1:
        return [AYS_SDXL_ANCHORS[0]]
    anchors = np.log(np.array(AYS_SDXL_ANCHORS[::-1], dtype=np.float64))
    curve = np.exp(np.interp(np.linspace(0, 1, steps), np.linspace(0, 1, len(anchors)), anchors))
    timesteps = np.round(curve[::-1]).astype(int).tolist()
    # At large step counts neighbours can round to the same integer near t=13; keep them distinct.
    for i in range(len(timesteps) - 2, -1, -1):
        timesteps[i] = max(timesteps[i], timesteps[i + 1] + 1)
    if timesteps[0] > AYS_SDXL_ANCHORS[0]:
        raise ValueError(f"{steps} steps do not fit between timesteps 999 and 13")
    return timesteps


def prepare_scheduler(scheduler: EulerDiscreteScheduler, steps: int, device) -> list[int]:
    """Set the AYS timesteps on a (fresh) diffusers scheduler; returns them."""
    timesteps = ays_timesteps(steps)
    scheduler.set_timesteps(timesteps=timesteps, device=device)
    return timesteps
