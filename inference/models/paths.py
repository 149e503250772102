"""Where inference keeps what it builds once (tokenizer files): NARCIS_CACHE_DIR, else var/cache."""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    configured = os.environ.get("NARCIS_CACHE_DIR", "").strip()
    return Path(configured) if configured else PROJECT_ROOT / "var" / "cache"
