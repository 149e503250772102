import pytest


@pytest.fixture(scope="session")
def offline_engine():
    """The real offline engine: bundled MiniLM embeddings over our lexicon (built once per session)."""
    from inference.mecene.offline import default_offline_engine

    return default_offline_engine()
