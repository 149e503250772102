"""What the landing page shows: one celebrity's photos, dealt into columns that loop forever."""

from __future__ import annotations

import random
from dataclasses import dataclass

from apps.photowall import cache

MAX_COLUMNS = 5  # wide screens; CSS shows 2 on phones, more as the screen widens
MIN_PER_COLUMN = 4  # a column shorter than the screen would show its loop's seam


@dataclass
class Wall:
    celebrity: str
    columns: list[list[dict]]  # each column's items once; the template repeats them for the loop


def wall_for_page(*, columns: int = MAX_COLUMNS, rng: random.Random | None = None) -> Wall | None:
    """A random celebrity among those with published photos, their photos dealt into `columns` columns,
    each filled up to MIN_PER_COLUMN by repeating; None when the wall is empty."""
    rng = rng or random.Random()
    photos = cache.index()["photos"]
    if not photos:
        return None
    celebrity_id = rng.choice(sorted({p["celebrity_id"] for p in photos}))
    mine = [p for p in photos if p["celebrity_id"] == celebrity_id]
    rng.shuffle(mine)
    per_column = max(MIN_PER_COLUMN, -(-len(mine) // columns))
    # Column c takes a run of consecutive photos starting at c * per_column (wrapping around), so with
    # enough photos no photo shows twice in one column and neighbouring columns start differently.
    dealt = [[mine[(c * per_column + r) % len(mine)] for r in range(per_column)] for c in range(columns)]
    return Wall(celebrity=mine[0]["celebrity"], columns=dealt)
