import pytest

from inference.registry import ModelRegistry


@pytest.fixture(scope="session")
def tiny_models() -> ModelRegistry:
    """The tiny preset on the CPU, built once per test session (treat it as read-only)."""
    return ModelRegistry.load("tiny", device="cpu")
