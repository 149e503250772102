"""ModelRegistry: the SDXL components, from a models folder (production) or the offline tiny preset.

    models = ModelRegistry.load("tiny")               # tests, `make run`
    models = ModelRegistry.load("/models")            # $NARCIS_MODELS_DIR, see DESIGN.md §4

A models folder holds `sdxl/` in diffusers format. Loading never touches the network.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch
from diffusers import AutoencoderKL, EulerDiscreteScheduler, UNet2DConditionModel
from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

from inference.models.clip_vocab import load_tokenizer, write_tokenizer_folder
from inference.models.devices import pick_device, pick_dtype
from inference.models.fast import FastPath
from inference.models.photomaker.checkpoint import load_id_encoder, read_checkpoint, write_checkpoint
from inference.models.photomaker.encoder import PhotoMakerIDEncoder, config_for_text_dim
from inference.models.photomaker.lora import ADAPTER, fuse_lora
from inference.models.presets import TINY
from inference.models.tiny import tiny_components

logger = logging.getLogger("narcis.inference.models.registry")

PHOTOMAKER_FILE = "photomaker/photomaker-v2.bin"

_DIFFUSERS_WEIGHTS = (
    "diffusion_pytorch_model.safetensors",
    "diffusion_pytorch_model.fp16.safetensors",
    "diffusion_pytorch_model.bin",
)
_TRANSFORMERS_WEIGHTS = ("model.safetensors", "model.fp16.safetensors", "pytorch_model.bin")

# For each part of a diffusers SDXL folder: files that must all exist, and weight files of which one must.
SDXL_LAYOUT: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "unet": (("config.json",), _DIFFUSERS_WEIGHTS),
    "vae": (("config.json",), _DIFFUSERS_WEIGHTS),
    "text_encoder": (("config.json",), _TRANSFORMERS_WEIGHTS),
    "text_encoder_2": (("config.json",), _TRANSFORMERS_WEIGHTS),
    "tokenizer": (("vocab.json", "merges.txt"), ()),
    "tokenizer_2": (("vocab.json", "merges.txt"), ()),
    "scheduler": (("scheduler_config.json",), ()),
}


class ModelFolderError(FileNotFoundError):
    """The models folder is missing files; the message names each one."""


def missing_sdxl_files(folder: Path) -> list[str]:
    missing = []
    for part, (required, weights) in SDXL_LAYOUT.items():
        missing += [f"{part}/{name}" for name in required if not (folder / part / name).is_file()]
        if weights and not any((folder / part / name).is_file() for name in weights):
            missing.append(f"{part}/{weights[0]} (or {', '.join(weights[1:])})")
    return missing


def _variant(part_dir: Path, weights: tuple[str, ...]) -> str | None:
    """Use the fp16 variant only when it is the sole weight file present."""
    full = [name for name in weights if ".fp16." not in name]
    if any((part_dir / name).is_file() for name in full):
        return None
    return "fp16"


@dataclass
class ModelRegistry:
    name: str
    device: torch.device
    dtype: torch.dtype
    unet: UNet2DConditionModel
    vae: AutoencoderKL
    text_encoder: CLIPTextModel
    text_encoder_2: CLIPTextModelWithProjection
    tokenizer: CLIPTokenizer
    tokenizer_2: CLIPTokenizer
    scheduler_config: dict = field(repr=False)
    id_encoder: PhotoMakerIDEncoder | None = None  # PhotoMaker V2, when the models folder has it
    fast: FastPath = FastPath()  # how the UNet and VAE were prepared (inference.models.fast.prepare)

    @classmethod
    def load(
        cls,
        source: str | Path | None = TINY,
        device: str | torch.device | None = None,
        dtype: str | torch.dtype | None = None,
    ) -> ModelRegistry:
        """Load from a models folder (holding `sdxl/`) or build the tiny preset when source is "tiny"/None."""
        device = pick_device(device)
        dtype = pick_dtype(device, dtype)
        if source is None or str(source) == TINY:
            return cls.from_components(TINY, tiny_components(), device=device, dtype=dtype)
        components = _load_sdxl_folder(Path(source) / "sdxl", dtype)
        components["id_encoder"] = _load_photomaker(Path(source) / PHOTOMAKER_FILE, components)
        return cls.from_components(str(source), components, device=device, dtype=dtype)

    @classmethod
    def from_components(
        cls,
        name: str,
        components: dict,
        *,
        device: str | torch.device | None = None,
        dtype: str | torch.dtype | None = None,
    ) -> ModelRegistry:
        """Wrap built components (unet, vae, text encoders, tokenizers, scheduler) and place them."""
        device = pick_device(device)
        dtype = pick_dtype(device, dtype)
        parts = dict(components)
        scheduler = parts.pop("scheduler")
        registry = cls(
            name=name, device=device, dtype=dtype, scheduler_config=dict(scheduler.config), **parts
        )
        registry._place()
        return registry

    def _place(self) -> None:
        for module in (self.unet, self.text_encoder, self.text_encoder_2, self.id_encoder):
            if module is not None:
                _move(module, self.device, self.dtype)
        # SDXL's VAE overflows to NaN in fp16: it stays in fp32 (bf16 has fp32's range and is safe).
        _move(self.vae, self.device, torch.float32 if self.dtype == torch.float16 else self.dtype)

    @property
    def vae_scale_factor(self) -> int:
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def latent_channels(self) -> int:
        return self.unet.config.in_channels

    def new_scheduler(self) -> EulerDiscreteScheduler:
        """A fresh scheduler per run: diffusers schedulers keep a step index, so runs must not share one."""
        return EulerDiscreteScheduler.from_config(self.scheduler_config)


def _text_dim(components: dict) -> int:
    return components["text_encoder"].config.hidden_size + components["text_encoder_2"].config.hidden_size


def _load_photomaker(path: Path, components: dict) -> PhotoMakerIDEncoder:
    """The ID encoder (strict) and its LoRA merged into the UNet."""
    if not path.is_file():
        raise ModelFolderError(f"The models folder is missing {PHOTOMAKER_FILE} (PhotoMaker V2).")
    encoder_state, lora_state = read_checkpoint(path)
    encoder = load_id_encoder(encoder_state, config_for_text_dim(_text_dim(components)))
    layers = fuse_lora(components["unet"], lora_state)
    logger.info("PhotoMaker loaded", extra={"lora_layers": layers, "adapter": ADAPTER})
    return encoder


def _move(module: torch.nn.Module, device: torch.device, dtype: torch.dtype) -> None:
    if next(module.parameters()).dtype != dtype:
        module.to(dtype=dtype)
    module.to(device).eval().requires_grad_(False)


def _load_sdxl_folder(folder: Path, dtype: torch.dtype) -> dict:
    if not folder.is_dir():
        raise ModelFolderError(f"No SDXL folder at {folder}: expected a diffusers-format checkpoint there.")
    missing = missing_sdxl_files(folder)
    if missing:
        raise ModelFolderError(f"The SDXL folder {folder} is incomplete; missing: {', '.join(missing)}")
    logger.info("loading SDXL", extra={"folder": str(folder)})

    def diffusers_part(model_class, part: str, part_dtype: torch.dtype):
        return model_class.from_pretrained(
            folder / part,
            torch_dtype=part_dtype,
            local_files_only=True,
            variant=_variant(folder / part, _DIFFUSERS_WEIGHTS),
        )

    def transformers_part(model_class, part: str):
        return model_class.from_pretrained(
            folder / part,
            dtype=dtype,
            local_files_only=True,
            variant=_variant(folder / part, _TRANSFORMERS_WEIGHTS),
        )

    vae_dtype = torch.float32 if dtype == torch.float16 else dtype
    return {
        "unet": diffusers_part(UNet2DConditionModel, "unet", dtype),
        "vae": diffusers_part(AutoencoderKL, "vae", vae_dtype),
        "text_encoder": transformers_part(CLIPTextModel, "text_encoder"),
        "text_encoder_2": transformers_part(CLIPTextModelWithProjection, "text_encoder_2"),
        "tokenizer": load_tokenizer(folder / "tokenizer"),
        "tokenizer_2": load_tokenizer(folder / "tokenizer_2"),
        "scheduler": EulerDiscreteScheduler.from_pretrained(folder / "scheduler", local_files_only=True),
    }


def save_models_folder(registry: ModelRegistry, folder: Path, *, lora: dict) -> Path:
    """A whole models folder in the production layout: sdxl/ and photomaker/photomaker-v2.bin."""
    save_sdxl_folder(registry, folder / "sdxl")
    write_checkpoint(folder / PHOTOMAKER_FILE, registry.id_encoder, lora)
    return folder


def save_sdxl_folder(registry: ModelRegistry, folder: Path) -> Path:
    """Write the components as a diffusers SDXL folder (safetensors): tiny real-format weights for tests."""
    folder.mkdir(parents=True, exist_ok=True)
    for part in ("unet", "vae", "text_encoder", "text_encoder_2"):
        getattr(registry, part).save_pretrained(folder / part)
    for part in ("tokenizer", "tokenizer_2"):
        write_tokenizer_folder(folder / part, part)
    registry.new_scheduler().save_pretrained(folder / "scheduler")
    return folder
