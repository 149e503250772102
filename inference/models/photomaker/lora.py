"""PhotoMaker's LoRA (or a community LoRA in the same places), merged into the UNet's Linear layers:
W += (alpha / rank) * up @ down, as diffusers' `load_lora_weights` + `fuse_lora` would leave them.

Key families we read, and their scale:
- PhotoMaker's own, diffusers' attention-processor style:
      unet.<block path>.processor.to_{q,k,v,out}_lora.{down,up}.weight
  scale 1. `.alpha` tensors beside them are ignored, as diffusers ignores them for this family.
- peft style: unet.<module path>.lora_{A,B}.weight, scale 1 (peft keeps alpha in its config file).
- kohya-ss (`lora_unet_...lora_down.weight`, `.lora_up.weight`, `.alpha`): converted with diffusers' own
  `lora_state_dict` (the SDXL block names mapped by the UNet's config), scale alpha / rank per layer.
Anything else, text-encoder layers included, is refused with its keys named.

The product up @ down and the sum are computed in float32 and rounded once to the UNet's dtype: in
bf16 that differs from peft's fused weight (rounded product, then a rounded sum) by at most one
rounding step of the weight (docs/photomaker-v2-format.md has the measured figure).
"""

from __future__ import annotations

import re
from collections import defaultdict

import torch
from diffusers import UNet2DConditionModel

ADAPTER = "photomaker"

_PROCESSOR_KEY = re.compile(
    r"^unet\.(?P<path>.+)\.processor\.(?P<proj>to_q|to_k|to_v|to_out)_lora\.(?P<part>down|up)\.weight$"
)
_PROCESSOR_ALPHA = re.compile(r"^unet\..+\.processor\.(?:to_q|to_k|to_v|to_out)_lora\.alpha$")
_PEFT_KEY = re.compile(r"^unet\.(?P<path>.+)\.lora_(?P<part>A|B)\.weight$")
_DIFFUSERS_LINEAR_KEY = re.compile(r"^unet\.(?P<path>.+)\.lora\.(?P<part>down|up)\.weight$")
_KOHYA_PREFIXES = ("lora_unet_", "lora_te_", "lora_te1_", "lora_te2_")
_PART = {"down": "down", "up": "up", "A": "down", "B": "up"}


class LoRAFormatError(ValueError):
    pass


def _target(path: str, proj: str) -> str:
    return f"{path}.to_out.0" if proj == "to_out" else f"{path}.{proj}"


def _from_kohya(state_dict: dict, unet_config) -> tuple[dict, dict[str, float]]:
    """diffusers' conversion of kohya-ss keys: (processor-style state dict, {down key: alpha})."""
    if unet_config is None:
        raise LoRAFormatError(
            f"a kohya-ss LoRA ({list(state_dict)[:3]} ...) needs the UNet's config to map it"
        )
    # Imported here: the pipeline module pulls in every image processor transformers has (slow, noisy).
    from diffusers import StableDiffusionXLPipeline

    try:
        converted, alphas = StableDiffusionXLPipeline.lora_state_dict(
            dict(state_dict), unet_config=unet_config
        )
    except ValueError as error:  # diffusers names the keys it could not convert
        raise LoRAFormatError(f"unrecognised kohya-ss LoRA keys: {error}") from None
    text = [key for key in converted if not key.startswith("unet.")]
    if text:
        raise LoRAFormatError(f"LoRA layers for the text encoders are not supported: {text[:5]}")
    return converted, {key.removesuffix(".alpha"): value for key, value in (alphas or {}).items()}


def group_lora(state_dict: dict[str, torch.Tensor], unet_config=None) -> dict[str, dict]:
    """{UNet module name: {"down": [r, in], "up": [out, r], "scale": alpha / r}}; unknown keys are an
    error naming them."""
    alphas: dict[str, float] = {}
    if state_dict and all(key.startswith(_KOHYA_PREFIXES) for key in state_dict):
        state_dict, alphas = _from_kohya(state_dict, unet_config)
    groups: dict[str, dict] = defaultdict(dict)
    unknown = []
    for key, tensor in state_dict.items():
        if _PROCESSOR_ALPHA.match(key):
            continue  # diffusers ignores these for this family: so do we
        if match := _PROCESSOR_KEY.match(key):
            name = _target(match["path"], match["proj"])
        elif match := _PEFT_KEY.match(key) or _DIFFUSERS_LINEAR_KEY.match(key):
            name = match["path"] + (".0" if match["path"].endswith(".to_out") else "")
        else:
            unknown.append(key)
            continue
        part = _PART[match["part"]]
        groups[name][part] = tensor
        if part == "down" and key in alphas:
            groups[name]["alpha"] = alphas[key]
    if unknown:
        raise LoRAFormatError(f"unrecognised LoRA keys: {unknown[:5]}{' ...' if len(unknown) > 5 else ''}")
    incomplete = [name for name, parts in groups.items() if not {"down", "up"} <= set(parts)]
    if incomplete:
        raise LoRAFormatError(f"LoRA layers missing their down or up half: {incomplete[:5]}")
    for parts in groups.values():
        rank = parts["down"].shape[0]
        parts["scale"] = parts.pop("alpha", rank) / rank
    return dict(groups)


@torch.no_grad()
def fuse_lora(unet: UNet2DConditionModel, state_dict: dict[str, torch.Tensor], *, scale: float = 1.0) -> int:
    """Merge every LoRA pair into its Linear layer; returns how many layers changed."""
    groups = group_lora(state_dict, unet.config)
    for name, parts in groups.items():
        try:
            layer = unet.get_submodule(name)
        except AttributeError:
            raise LoRAFormatError(f"the LoRA targets {name}, which this UNet does not have") from None
        if not isinstance(layer, torch.nn.Linear):
            raise LoRAFormatError(
                f"the LoRA targets {name}, a {type(layer).__name__}: only Linear layers merge"
            )
        delta = parts["up"].float() @ parts["down"].float()
        if delta.shape != layer.weight.shape:
            raise LoRAFormatError(
                f"LoRA for {name} is {tuple(delta.shape)}, the layer is {tuple(layer.weight.shape)}"
            )
        merged = layer.weight.float() + (scale * parts["scale"]) * delta.to(layer.weight.device)
        layer.weight.copy_(merged.to(layer.weight.dtype))
    return len(groups)
