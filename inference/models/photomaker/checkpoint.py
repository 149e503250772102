"""The official PhotoMaker V2 checkpoint: exactly the keys "id_encoder" and "lora_weights".

A `.bin` is a torch pickle of {"id_encoder": state dict, "lora_weights": state dict}; a `.safetensors`
holds the same tensors flat, under the prefixes "id_encoder." and "lora_weights.".
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file

from inference.models.photomaker.encoder import IDEncoderConfig, PhotoMakerIDEncoder

PARTS = ("id_encoder", "lora_weights")


class PhotoMakerCheckpointError(ValueError):
    """The file is not a PhotoMaker V2 checkpoint; the message says what is wrong with it."""


def read_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(id_encoder state dict, lora state dict) from a .bin or .safetensors file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"PhotoMaker checkpoint not found: {path}")
    if path.suffix == ".safetensors":
        flat = load_file(path)
        parts = {name: {} for name in PARTS}
        strays = []
        for key, tensor in flat.items():
            prefix, _, rest = key.partition(".")
            if prefix in parts and rest:
                parts[prefix][rest] = tensor
            else:
                strays.append(key)
        if strays:
            raise PhotoMakerCheckpointError(
                f"{path.name}: keys outside id_encoder./lora_weights.: {strays[:5]}"
            )
    else:
        # weights_only: a checkpoint is data, never code to run.
        parts = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(parts, dict) or sorted(parts) != sorted(PARTS):
            found = sorted(parts) if isinstance(parts, dict) else type(parts).__name__
            raise PhotoMakerCheckpointError(f"{path.name} must hold exactly {list(PARTS)}, found {found}")
    return parts["id_encoder"], parts["lora_weights"]


def load_id_encoder(state_dict: dict[str, torch.Tensor], config: IDEncoderConfig) -> PhotoMakerIDEncoder:
    """Build the encoder and load it strictly: a missing or unexpected key is an error, not a warning."""
    encoder = PhotoMakerIDEncoder(config)
    encoder.load_state_dict(state_dict, strict=True)
    return encoder.eval().requires_grad_(False)


def write_checkpoint(path: Path, encoder: PhotoMakerIDEncoder, lora: dict[str, torch.Tensor]) -> Path:
    """Write the official layout (.bin or .safetensors by suffix): how tests make tiny real-format files."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    encoder_sd = {k: v.contiguous() for k, v in encoder.state_dict().items()}
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        flat = {f"id_encoder.{k}": v for k, v in encoder_sd.items()}
        flat |= {f"lora_weights.{k}": v.contiguous() for k, v in lora.items()}
        save_file(flat, path)
    else:
        torch.save({"id_encoder": encoder_sd, "lora_weights": lora}, path)
    return path
