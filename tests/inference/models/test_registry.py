import pytest
import torch

from inference.models.registry import ModelFolderError, ModelRegistry, save_models_folder, save_sdxl_folder
from inference.models.tiny import tiny_components, tiny_photomaker_lora


def test_tiny_preset_has_the_sdxl_layout(tiny_models):
    unet = tiny_models.unet.config
    assert unet.addition_embed_type == "text_time"
    assert unet.cross_attention_dim == tiny_models.text_encoder.config.hidden_size * 2
    assert unet.projection_class_embeddings_input_dim == 6 * unet.addition_time_embed_dim + 32
    assert tiny_models.vae_scale_factor == 8
    assert (tiny_models.device.type, tiny_models.dtype) == ("cpu", torch.float32)


def test_tiny_weights_come_from_a_fixed_seed():
    a, b, c = tiny_components(0), tiny_components(0), tiny_components(1)
    weights = [next(x["unet"].parameters()) for x in (a, b, c)]
    assert torch.equal(weights[0], weights[1]) and not torch.equal(weights[0], weights[2])


def test_a_saved_folder_loads_back_through_the_real_loader(tiny_models, tmp_path):
    lora = tiny_photomaker_lora(tiny_models.unet)
    save_models_folder(tiny_models, tmp_path, lora=lora)
    loaded = ModelRegistry.load(tmp_path, device="cpu")
    assert loaded.name == str(tmp_path)
    for ours, theirs in zip(tiny_models.id_encoder.parameters(), loaded.id_encoder.parameters(), strict=True):
        assert torch.equal(ours, theirs)
    # The PhotoMaker LoRA is merged: W' = W + up @ down on exactly the layers it names.
    name = "down_blocks.1.attentions.0.transformer_blocks.0.attn2"
    down, up = (lora[f"unet.{name}.processor.to_k_lora.{part}.weight"] for part in ("down", "up"))
    before = tiny_models.unet.get_submodule(f"{name}.to_k").weight
    assert torch.allclose(loaded.unet.get_submodule(f"{name}.to_k").weight, before + up @ down, atol=1e-6)
    assert torch.equal(loaded.unet.conv_in.weight, tiny_models.unet.conv_in.weight)
    for part in ("vae", "text_encoder", "text_encoder_2"):
        for ours, theirs in zip(
            getattr(tiny_models, part).parameters(), getattr(loaded, part).parameters(), strict=True
        ):
            assert torch.equal(ours, theirs)
    assert loaded.tokenizer("a cat").input_ids == [49406, 320, 2368, 49407]
    assert loaded.tokenizer_2.pad_token == "!"
    assert loaded.scheduler_config["beta_schedule"] == "scaled_linear"


def test_a_folder_without_photomaker_says_so(tiny_models, tmp_path):
    save_sdxl_folder(tiny_models, tmp_path / "sdxl")
    with pytest.raises(ModelFolderError, match="photomaker/photomaker-v2.bin"):
        ModelRegistry.load(tmp_path, device="cpu")


def test_an_incomplete_folder_names_every_missing_file(tiny_models, tmp_path):
    save_sdxl_folder(tiny_models, tmp_path / "sdxl")
    (tmp_path / "sdxl" / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    (tmp_path / "sdxl" / "tokenizer_2" / "merges.txt").unlink()
    with pytest.raises(ModelFolderError) as error:
        ModelRegistry.load(tmp_path, device="cpu")
    message = str(error.value)
    assert "unet/diffusion_pytorch_model.safetensors" in message and "tokenizer_2/merges.txt" in message


def test_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ModelFolderError, match="No SDXL folder"):
        ModelRegistry.load(tmp_path / "nowhere", device="cpu")


def test_fp16_keeps_the_vae_in_fp32():
    # fp16 cannot run on this CPU, but placing the weights can: this checks dtypes only.
    components = tiny_components()
    scheduler = components.pop("scheduler")
    registry = ModelRegistry(
        name="tiny",
        device=torch.device("cpu"),
        dtype=torch.float16,
        scheduler_config=dict(scheduler.config),
        **components,
    )
    registry._place()
    assert registry.unet.dtype == torch.float16 and registry.text_encoder.dtype == torch.float16
    assert registry.vae.dtype == torch.float32


def test_fp16_on_the_cpu_is_refused():
    with pytest.raises(ValueError, match="fp16"):
        ModelRegistry.load("tiny", device="cpu", dtype="fp16")
