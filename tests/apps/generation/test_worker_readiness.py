"""`manage.py run_worker` writes NARCIS_WORKER_READY_FILE only once its warm-up is done and removes it when
it exits: the worker container's health check (deploy/terraform/envs/prod/services.tf) reads it."""

import signal

import pytest
from django.core.management import call_command

from apps.generation.worker import Worker

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def restore_signals():
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_the_ready_file_appears_after_the_warm_up_and_goes_when_the_worker_exits(
    settings, tmp_path, monkeypatch, restore_signals
):
    settings.NARCIS_MODELS_DIR = ""  # the tiny offline preset
    ready = tmp_path / "run" / "worker-ready"
    ready.parent.mkdir()
    ready.write_text("left by a killed worker\n")
    monkeypatch.setenv("NARCIS_WORKER_READY_FILE", str(ready))
    seen = {}
    warm_up = Worker.warm_up

    def observed_warm_up(self):
        seen["during warm-up"] = ready.exists()
        warm_up(self)
        seen["right after warm-up"] = ready.exists()

    def first_round(self):
        seen["at the first claim"] = ready.read_text() if ready.exists() else None
        seen["worker"] = self.worker_id
        self.stop()  # as SIGTERM does
        return 0

    monkeypatch.setattr(Worker, "warm_up", observed_warm_up)
    monkeypatch.setattr(Worker, "run_once", first_round)
    call_command("run_worker", "--batch", "1")

    assert seen["during warm-up"] is False  # a stale file is gone before the warm-up starts
    assert seen["right after warm-up"] is False  # written by run_worker once warm_up has returned
    assert seen["at the first claim"] == f"{seen['worker']}\n"
    assert not ready.exists()

