"""PhotoMaker's LoRA, merged into the UNet's attention projections (W += scale * up @ down).

The official file names its keys in diffusers' attention-processor style:
    unet.<block path>.processor.to_{q,k,v,out}_lora.{down,up}.weight
(peft-style `unet.<block path>.to_q.lora_A.weight` / `lora_B` is read too). Merging once at load
time is what fusing the "photomaker" adapter amounts to: afterwards inference costs nothing extra.
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
_PEFT_KEY = re.compile(
    r"^unet\.(?P<path>.+)\.(?P<proj>to_q|to_k|to_v|to_out(?:\.0)?)\.lora_(?P<part>A|B)\.weight$"
)
_PART = {"down": "down", "up": "up", "A": "down", "B": "up"}


class LoRAFormatError(ValueError):
    pass


def _target(path: str, proj: str) -> str:
    return f"{path}.to_out.0" if proj.startswith("to_out") else f"{path}.{proj}"


def group_lora(state_dict: dict[str, torch.Tensor]) -> dict[str, dict[str, torch.Tensor]]:
    """{UNet module name: {"down": [r, in], "up": [out, r]}}; unknown keys are an error naming them."""
    groups: dict[str, dict[str, torch.Tensor]] = defaultdict(dict)
    unknown = []
    for key, tensor in state_dict.items():
        match = _PROCESSOR_KEY.match(key) or _PEFT_KEY.match(key)
        if match is None:
            unknown.append(key)
            continue
        groups[_target(match["path"], match["proj"])][_PART[match["part"]]] = tensor
    if unknown:
        raise LoRAFormatError(f"unrecognised LoRA keys: {unknown[:5]}{' ...' if len(unknown) > 5 else ''}")
    incomplete = [name for name, parts in groups.items() if set(parts) != {"down", "up"}]
    if incomplete:
        raise LoRAFormatError(f"LoRA layers missing their down or up half: {incomplete[:5]}")
    return dict(groups)


@torch.no_grad()
def fuse_lora(unet: UNet2DConditionModel, state_dict: dict[str, torch.Tensor], *, scale: float = 1.0) -> int:
    """Merge every LoRA pair into its Linear layer; returns how many layers changed."""
    groups = group_lora(state_dict)
    for name, parts in groups.items():
        try:
            layer = unet.get_submodule(name)
        except AttributeError:
            raise LoRAFormatError(f"the LoRA targets {name}, which this UNet does not have") from None
        delta = parts["up"].float() @ parts["down"].float()
        if delta.shape != layer.weight.shape:
            raise LoRAFormatError(
                f"LoRA for {name} is {tuple(delta.shape)}, the layer is {tuple(layer.weight.shape)}"
            )
        layer.weight += (scale * delta).to(layer.weight.device, layer.weight.dtype)
    return len(groups)
