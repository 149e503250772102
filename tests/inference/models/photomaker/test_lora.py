import pytest
import torch

from inference.models.photomaker.lora import LoRAFormatError, fuse_lora, group_lora
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


def kohya(name: str, down: torch.Tensor, up: torch.Tensor, alpha: float) -> dict:
    """One layer as kohya-ss writes it: SDXL's own block names, underscores for dots, an alpha scalar."""
    return {
        f"{name}.lora_down.weight": down,
        f"{name}.lora_up.weight": up,
        f"{name}.alpha": torch.tensor(alpha),
    }


def test_a_kohya_lora_is_scaled_by_alpha_over_rank_on_the_layer_diffusers_maps_it_to():
    torch.manual_seed(1)
    unet, reference = tiny_unet(), tiny_unet()
    reference.load_state_dict(unet.state_dict())
    block = "down_blocks.1.attentions.0.transformer_blocks.0"  # SDXL's input_blocks.4.1 on this UNet
    q, out = (
        reference.get_submodule(f"{block}.attn1.to_q"),
        reference.get_submodule(f"{block}.attn2.to_out.0"),
    )
    dq, uq = torch.randn(4, q.in_features), torch.randn(q.out_features, 4)
    do, uo = torch.randn(2, out.in_features), torch.randn(out.out_features, 2)
    lora = {
        **kohya("lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q", dq, uq, alpha=1.0),
        **kohya("lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_out_0", do, uo, alpha=8.0),
    }
    assert fuse_lora(unet, lora) == 2
    # W + (alpha / rank) * up @ down, written out: alpha 1 over rank 4, alpha 8 over rank 2.
    assert torch.allclose(
        unet.get_submodule(f"{block}.attn1.to_q").weight, q.weight + 0.25 * uq @ dq, atol=1e-5
    )
    assert torch.allclose(
        unet.get_submodule(f"{block}.attn2.to_out.0").weight, out.weight + 4.0 * uo @ do, atol=1e-5
    )


def test_a_kohya_lora_for_the_text_encoders_is_refused_by_name():
    lora = kohya(
        "lora_te1_text_model_encoder_layers_0_self_attn_q_proj", torch.zeros(2, 32), torch.zeros(32, 2), 2.0
    )
    with pytest.raises(LoRAFormatError, match="text encoders"):
        fuse_lora(tiny_unet(), lora)


def test_alpha_tensors_beside_photomaker_keys_are_ignored_as_diffusers_ignores_them():
    torch.manual_seed(2)
    unet, reference = tiny_unet(), tiny_unet()
    reference.load_state_dict(unet.state_dict())
    lora = tiny_photomaker_lora(unet)
    alphas = {
        k.replace(".down.weight", ".alpha"): torch.tensor(16.0) for k in lora if k.endswith(".down.weight")
    }
    with_alphas = {**lora, **alphas}
    fuse_lora(unet, with_alphas)
    for name, parts in group_lora(lora).items():
        assert parts["scale"] == 1.0
        expected = reference.get_submodule(name).weight + parts["up"] @ parts["down"]
        assert torch.allclose(unet.get_submodule(name).weight, expected, atol=1e-6)


def test_in_bf16_the_merge_rounds_once_and_differs_from_peft_by_its_rounding_only(capsys):
    """peft fuses in the weight's dtype: the product rounded to bf16, then a bf16 sum (two roundings).
    We add the float32 product to the float32 weight and round once. The difference, measured here and
    recorded in docs/photomaker-v2-format.md, stays within those two roundings."""
    torch.manual_seed(3)
    unet = tiny_unet().to(torch.bfloat16)
    linears = {name: m for name, m in unet.named_modules() if isinstance(m, torch.nn.Linear)}
    before = {name: module.weight.clone() for name, module in linears.items()}
    lora = tiny_photomaker_lora(unet)
    fuse_lora(unet, lora)
    eps = torch.finfo(torch.bfloat16).eps
    worst, changed, total = 0.0, 0, 0
    for name, parts in group_lora(lora).items():
        delta = parts["up"].float() @ parts["down"].float()
        exact = before[name].float() + delta
        ours = unet.get_submodule(name).weight
        assert torch.equal(ours, exact.to(torch.bfloat16))  # the exact sum, rounded once
        peft_like = before[name] + delta.to(torch.bfloat16)
        difference = (ours.float() - peft_like.float()).abs()
        assert (difference <= eps * (exact.abs() + delta.abs())).all()  # two roundings' worth at most
        worst = max(worst, difference.max().item())
        changed, total = changed + (difference > 0).sum().item(), total + difference.numel()
    print(f"bf16 merge vs peft-style: max |difference| {worst:.2e}, {changed / total:.1%} of weights differ")
