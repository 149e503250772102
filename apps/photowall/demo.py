"""Demo portraits, so the wall is never empty on a fresh machine: the tiny offline models paint a few
mecene concepts from photos that ship inside our dependencies (scikit-image's astronaut, insightface's
sample faces). They are flagged `is_demo` and labelled DEMO DATA in the admin."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import numpy as np
from PIL import Image

from apps.photowall import services
from apps.photowall.models import Photo

DEMO_CELEBRITY = "Narcis demo"
DEMO_WORDS = (
    "corporate confidence",
    "ethereal beauty",
    "cyberpunk rebel",
    "autumn melancholy",
    "royal elegance",
    "ocean dreamer",
    "jazz age",
    "forest spirit",
)


def packaged_faces() -> list[np.ndarray]:
    import skimage.data

    faces = [skimage.data.astronaut()]
    spec = importlib.util.find_spec("insightface")
    if spec is not None and spec.submodule_search_locations:
        images = Path(next(iter(spec.submodule_search_locations))) / "data" / "images"
        for name in ("t1.jpg", "Tom_Hanks_54745.png"):
            if (images / name).exists():
                faces.append(np.asarray(Image.open(images / name).convert("RGB")))
    return faces


def seed_demo(*, count: int = 6) -> list[Photo]:
    """Paint and publish `count` demo portraits unless demo photos already exist (idempotent)."""
    if Photo.objects.filter(is_demo=True).exists():
        return []
    from inference.mecene.agent import Mecene
    from inference.models.presets import TINY_DEFAULTS
    from inference.portrait.build import build
    from inference.portrait.pipeline import PortraitRequest

    pipeline = build("tiny")
    mecene = Mecene()
    # Portrait-shaped and quick: a fresh `make run` paints these before it serves the first page.
    params = TINY_DEFAULTS.replace(height=320, steps=12, start_merge_step=4, detailing_steps=8)
    faces = packaged_faces()
    celebrity = services.celebrity_get_or_create(DEMO_CELEBRITY)
    photos = []
    for i, words in enumerate(DEMO_WORDS[:count]):
        concept = mecene.run(words, seed=i)
        request = PortraitRequest(
            f"demo-{i}",
            concept.prompt,
            concept.negative_prompt,
            face_image=faces[i % len(faces)],
            params=params.replace(seed=i),
        )
        result = pipeline.run([request])[0]
        if not result.ok:
            continue
        buffer = io.BytesIO()
        result.image.save(buffer, format="PNG")
        photos.append(
            services.photo_create(
                image_bytes=buffer.getvalue(),
                celebrity=celebrity,
                keywords=concept.chosen,
                is_demo=True,
                reload_cache=False,  # the command reloads once at the end
            )
        )
    return photos
