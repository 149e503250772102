import pytest
import torch

from inference.models.photomaker.checkpoint import (
    PhotoMakerCheckpointError,
    load_id_encoder,
    read_checkpoint,
    write_checkpoint,
)
from inference.models.photomaker.encoder import PhotoMakerIDEncoder, official_config, tiny_config
from inference.models.tiny import tiny_photomaker_lora


@pytest.fixture(scope="module")
def encoder():
    torch.manual_seed(3)
    return PhotoMakerIDEncoder(tiny_config())


@pytest.mark.parametrize("suffix", [".bin", ".safetensors"])
def test_official_format_loads_strictly(encoder, tiny_models, tmp_path, suffix):
    lora = tiny_photomaker_lora(tiny_models.unet)
    path = write_checkpoint(tmp_path / f"photomaker-v2{suffix}", encoder, lora)
    encoder_state, lora_state = read_checkpoint(path)
    assert lora_state.keys() == lora.keys()
    assert all(k.startswith("unet.") and ".processor.to_" in k for k in lora_state)
    loaded = load_id_encoder(encoder_state, tiny_config())
    for ours, theirs in zip(encoder.state_dict().values(), loaded.state_dict().values(), strict=True):
        assert torch.equal(ours, theirs)


def test_the_bin_holds_exactly_the_two_official_keys(encoder, tmp_path):
    path = write_checkpoint(tmp_path / "pm.bin", encoder, {})
    assert sorted(torch.load(path, weights_only=True)) == ["id_encoder", "lora_weights"]
    torch.save({"id_encoder": encoder.state_dict()}, tmp_path / "half.bin")
    with pytest.raises(PhotoMakerCheckpointError, match="exactly"):
        read_checkpoint(tmp_path / "half.bin")


def test_a_missing_or_unexpected_key_fails_the_strict_load(encoder):
    state = dict(encoder.state_dict())
    state.pop("fuse_module.layer_norm.weight")
    with pytest.raises(RuntimeError, match="fuse_module.layer_norm.weight"):
        load_id_encoder(state, tiny_config())
    state = {**encoder.state_dict(), "qformer_perceiver.extra": torch.zeros(1)}
    with pytest.raises(RuntimeError, match="qformer_perceiver.extra"):
        load_id_encoder(state, tiny_config())


def test_the_official_architecture_has_the_published_size():
    with torch.device("meta"):
        encoder = PhotoMakerIDEncoder(official_config())
    state = encoder.state_dict()
    assert len(state) == 463
    assert round(sum(p.numel() for p in encoder.parameters()) / 1e6, 1) == 543.4
    shapes = {
        "visual_projection.weight": (768, 1024),
        "visual_projection_2.weight": (1280, 1024),
        "fuse_module.mlp1.fc1.weight": (2048, 4096),
        "qformer_perceiver.token_proj.0.weight": (2048, 512),
        "qformer_perceiver.token_proj.2.weight": (4096, 2048),
        "qformer_perceiver.perceiver_resampler.proj_in.weight": (2048, 1024),
        "qformer_perceiver.perceiver_resampler.layers.3.0.to_kv.weight": (4096, 2048),
        "qformer_perceiver.perceiver_resampler.layers.3.1.1.weight": (8192, 2048),
    }
    assert {k: tuple(state[k].shape) for k in shapes} == shapes
    assert not any("position_ids" in k for k in state)
