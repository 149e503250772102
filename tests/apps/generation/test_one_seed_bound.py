"""The seed's bounds are the catalogue's (inference.params.MAX_SEED): no other copy of the number in the
web's code (every app, the site), where a second copy would drift from the first (issue 33, item 3)."""

from __future__ import annotations

import re
from pathlib import Path

from apps.generation.uploads import SEED_IN_OPENAPI, check_concept_seed
from inference.params import MAX_SEED, GenerationParams

ROOT = Path(__file__).resolve().parents[3]
COPIES = re.compile(r"2\s*\*\*\s*31|2147483647|0x7fffffff", re.IGNORECASE)


def test_no_app_and_no_module_of_the_site_writes_the_seed_bound_again():
    sources = [*(ROOT / "apps").rglob("*.py"), *(ROOT / "narcis_site").rglob("*.py")]
    copies = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sources
        if "migrations" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if COPIES.search(line)
    ]
    assert copies == []


def test_the_concept_seed_and_the_noise_seed_share_the_catalogues_bound():
    assert SEED_IN_OPENAPI["maximum"] == MAX_SEED
    assert GenerationParams.model_json_schema()["properties"]["seed"]["anyOf"][0]["maximum"] == MAX_SEED
    assert check_concept_seed(MAX_SEED) == MAX_SEED
