"""The web process paints nothing, so it starts without torch, diffusers or transformers: 0.9 s and 130 MB
instead of 3.9 s and 390 MB on the 2-core machine (docs/benchmarks.md). A module the web imports that
pulls one of them in again (as faults.py's torch.OutOfMemoryError and progress.py's pipeline import did)
fails this test; the web still imports them lazily where a request needs them."""

import subprocess
import sys

import pytest

from tests.apps.generation.processes import PROJECT, child_env

pytestmark = pytest.mark.embedded_default

HEAVY = ("torch", "diffusers", "transformers")


def test_the_web_application_imports_no_model_library(tmp_path):
    probe = (
        "import sys, narcis_site.asgi; "
        f"print('imported:', ','.join(name for name in {HEAVY!r} if name in sys.modules))"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe],
        env=child_env(
            DJANGO_SETTINGS_MODULE="narcis_site.settings",
            DATABASE_URL=f"sqlite:///{tmp_path / 'unused.sqlite3'}",
            REDIS_URL=None,
        ),
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "imported: \n" in run.stdout, run.stdout[-2000:]
