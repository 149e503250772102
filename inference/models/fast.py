"""The fast path: the same UNet and VAE, prepared to run faster, behind one switch (`FastPath`).

    models = ModelRegistry.load("/models")
    fast = FastPath.parse("auto", device=models.device)   # NARCIS_FAST_PATH; or "compile,channels-last"
    models = prepare(models, fast)                       # copy=True keeps the eager modules as they are

What each option does:
    compile        torch.compile (inductor) of the UNet, mode `mode`; the VAE decoder too with `compile_vae`
    channels_last  the UNet's convolutions read NHWC (faster cuDNN kernels on tensor-core GPUs)
    fuse_qkv       one projection for q, k and v in self-attention (diffusers' fuse_qkv_projections)
    fp8            float8 dynamic activations and weights on the UNet's linear layers (torchao); Hopper
                   class GPUs only, off unless asked: its drift is reported on its own (docs/benchmarks.md)

Shapes: the UNet is compiled per resolution (height and width are static) with the batch dimension
dynamic for batches of 2 and more (`mark_batch_dynamic`, called by the denoiser); PyTorch always
specialises a size of 1, so a batch of one gets its own graph. Two graphs per resolution then serve
every batch size and the adaptive-guidance switch from 2N to N rows: `warm_up` compiles them before a
worker claims work.

CUDA graphs come from mode `reduce-overhead` (inductor's CUDA-graph trees), not from a hand-written
capture: a graph is recorded per concrete input shape, so the guided steps (2N rows) and the unguided
tail (N rows) replay separate graphs, while the face switch at `start_merge_step` changes only the
values of `encoder_hidden_states`, which are copied into the graph's static input buffers. Every
output is consumed (guidance, scheduler step) before the next UNet call overwrites it.
"""

from __future__ import annotations

import dataclasses
import logging
import time

import torch

logger = logging.getLogger("narcis.inference.fast")

COMPILE_MODES = ("default", "max-autotune-no-cudagraphs", "reduce-overhead", "max-autotune")
OPTIONS = ("compile", "compile-vae", "channels-last", "fuse-qkv", "fp8")


class FastPathError(ValueError):
    """A fast-path setting that cannot be honoured here; the message says which and why."""


@dataclasses.dataclass(frozen=True)
class FastPath:
    compile: bool = False
    mode: str = "default"
    compile_vae: bool = False
    channels_last: bool = False
    fuse_qkv: bool = False
    fp8: bool = False

    @property
    def enabled(self) -> bool:
        return any((self.compile, self.compile_vae, self.channels_last, self.fuse_qkv, self.fp8))

    @classmethod
    def off(cls) -> FastPath:
        return cls()

    @classmethod
    def for_device(cls, device: torch.device) -> FastPath:
        """What 'auto' runs: everything but fp8 on a GPU; eager on a CPU, where compiling the tiny preset
        costs minutes of start-up for `make run` (ask for 'compile' to try it there)."""
        if device.type == "cuda":
            return cls(True, "max-autotune-no-cudagraphs", True, True, True)
        return cls.off()

    @classmethod
    def parse(cls, text: str, *, device: torch.device) -> FastPath:
        """'off', 'auto' (for_device) or a comma list of OPTIONS with an optional mode, e.g.
        'compile,compile-vae,channels-last,fuse-qkv,mode=reduce-overhead'."""
        text = text.strip().lower()
        if text in ("", "off", "eager", "none"):
            return cls.off()
        if text == "auto":
            return cls.for_device(device)
        fields, mode = {}, "default"
        for item in (part.strip() for part in text.split(",") if part.strip()):
            if item.startswith("mode="):
                mode = item.removeprefix("mode=")
                if mode not in COMPILE_MODES:
                    known = ", ".join(COMPILE_MODES)
                    raise FastPathError(f"unknown compile mode {mode!r}; use one of {known}")
            elif item in OPTIONS:
                fields[item.replace("-", "_")] = True
            else:
                known = ", ".join(OPTIONS)
                raise FastPathError(f"unknown fast-path option {item!r}; use off, auto or {known}")
        return cls(mode=mode, **fields)

    def describe(self) -> str:
        if not self.enabled:
            return "eager"
        names = [name for name in OPTIONS if getattr(self, name.replace("-", "_"))]
        return ",".join(names) + (f",mode={self.mode}" if self.compile or self.compile_vae else "")


def mark_batch_dynamic(*tensors: torch.Tensor) -> None:
    """Tell torch.compile the first dimension varies (batches of 2+), so one graph serves them all.
    A no-op for eager modules; batch-1 tensors are left alone (PyTorch specialises size 1 anyway)."""
    for tensor in tensors:
        if tensor.shape[0] >= 2:
            torch._dynamo.mark_dynamic(tensor, 0)


def prepare(models, fast: FastPath, *, copy: bool = False):
    """A registry whose UNet (and VAE decoder) run the fast path. With `copy` the given registry keeps
    its modules untouched (the benchmark compares both); without, the modules are changed in place
    (a worker needs one UNet in memory, not two)."""
    if not fast.enabled:
        return models
    if fast.fp8:
        _check_fp8(models.device)
    unet = models.unet
    vae = models.vae
    if copy and (fast.fuse_qkv or fast.channels_last or fast.fp8):  # these change the module itself;
        unet = _copy_module(unet)  # compiling alone wraps it and leaves it as it was
    if copy and fast.compile_vae:
        vae = _copy_module(vae)
    if fast.fuse_qkv:
        unet.fuse_qkv_projections()
    if fast.channels_last:
        unet.to(memory_format=torch.channels_last)
    if fast.fp8:
        _quantize_fp8(unet)
    if fast.compile:
        unet = torch.compile(unet, mode=fast.mode, dynamic=False)
    if fast.compile_vae:
        vae.decoder = torch.compile(vae.decoder, mode=fast.mode, dynamic=False)
    return dataclasses.replace(models, unet=unet, vae=vae, fast=fast)


def _copy_module(module: torch.nn.Module) -> torch.nn.Module:
    import copy

    return copy.deepcopy(module)


def _check_fp8(device: torch.device) -> None:
    if device.type != "cuda" or torch.cuda.get_device_capability(device) < (8, 9):
        raise FastPathError("fp8 needs a CUDA GPU of compute capability 8.9 or more (Ada, Hopper)")
    try:
        import torchao  # noqa: F401
    except ImportError as error:
        raise FastPathError("fp8 needs torchao: pip install torchao") from error


def fp8_config():
    """torchao's float8 recipe for the UNet's linear layers: activations quantised on the fly and
    weights ahead, both e4m3, one scale per row (finer than one per tensor, so fewer outliers clip)."""
    from torchao.quantization import Float8DynamicActivationFloat8WeightConfig, PerRow

    return Float8DynamicActivationFloat8WeightConfig(granularity=PerRow())


def _quantize_fp8(unet: torch.nn.Module) -> None:
    from torchao.quantization import quantize_

    quantize_(unet, fp8_config())


def warm_up(*, sizes: list[tuple[int, int]], max_batch: int, run) -> float:
    """Compile every graph the worker will serve before it claims a job: for each (height, width) in
    `sizes`, a batch of 1 and a batch of `max_batch` through `run(height, width, batch)`, which paints
    one (short) request batch. Returns the seconds it took, logged too."""
    started = time.perf_counter()
    for height, width in sizes:
        for batch in sorted({1, max(1, max_batch)}):
            run(height, width, batch)
    seconds = time.perf_counter() - started
    extra = {"seconds": round(seconds, 1), "sizes": sizes, "max_batch": max_batch}
    logger.info("fast path warm", extra=extra)
    return seconds
