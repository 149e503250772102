import numpy as np

from inference.mecene.embeddings import bundled_model_dir, default_embedder


def test_the_bundled_model_loads_offline_and_embeds_meaning():
    assert (bundled_model_dir() / "model.safetensors").exists()
    vectors = default_embedder().encode(["business suit", "corporate office", "seashell on a beach"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    suit, office, shell = vectors
    assert suit @ office > suit @ shell + 0.1


def test_batches_give_the_same_vectors_as_single_calls():
    embedder = default_embedder()
    together = embedder.encode(["golden hour", "a much longer phrase about a misty forest at dawn"])
    alone = embedder.encode(["golden hour"])
    assert np.allclose(together[0], alone[0], atol=1e-5)  # padding must not leak into the mean
