import pytest
import torch

from inference.identity.lora import LoRAFormatError, fuse_lora, group_lora
from inference.models.tiny import tiny_photomaker_lora, tiny_unet


def test_every_named_layer_gains_up_times_down_and_nothing_else_moves():
    torch.manual_seed(0)
    unet, reference = tiny_unet(), tiny_unet()
    reference.load_state_dict(unet.state_dict())
    lora = tiny_photomaker_lora(unet)
    assert fuse_lora(unet, lora) == len(group_lora(lora)) == len(lora) // 2
    for name, parts in group_lora(lora).items():
        expected = reference.get_submodule(name).weight + parts["up"] @ parts["down"]
        assert torch.allclose(unet.get_submodule(name).weight, expected, atol=1e-6)
    targeted = {f"{name}.weight" for name in group_lora(lora)}
    untouched = [k for k in unet.state_dict() if k not in targeted]
    assert all(torch.equal(unet.state_dict()[k], reference.state_dict()[k]) for k in untouched)


def test_to_out_lora_targets_the_linear_inside_to_out():
    name = "down_blocks.1.attentions.0.transformer_blocks.0.attn1"
    groups = group_lora(
        {
            f"unet.{name}.processor.to_out_lora.down.weight": torch.zeros(1, 2),
            f"unet.{name}.processor.to_out_lora.up.weight": torch.zeros(2, 1),
        }
    )
    assert list(groups) == [f"{name}.to_out.0"]


def test_unknown_or_half_keys_are_refused_with_names():
    with pytest.raises(LoRAFormatError, match="lora_unet_foo"):
        group_lora({"lora_unet_foo.alpha": torch.zeros(1)})
    half = "unet.mid_block.attentions.0.transformer_blocks.0.attn1.processor.to_q_lora.down.weight"
    with pytest.raises(LoRAFormatError, match="missing their down or up"):
        group_lora({half: torch.zeros(1, 2)})


def test_a_lora_for_another_unet_is_refused():
    unet = tiny_unet()
    with pytest.raises(LoRAFormatError, match="does not have"):
        fuse_lora(
            unet,
            {
                "unet.nowhere.processor.to_q_lora.down.weight": torch.zeros(1, 2),
                "unet.nowhere.processor.to_q_lora.up.weight": torch.zeros(2, 1),
            },
        )
