"""The lock files (requirements/*.lock, made by `make lock` with uv): every line pinned with hashes; the
development lock agrees with pyproject.toml (a dependency added or narrowed there without `make lock`
fails here, offline; `make lock-check` in CI compiles again and compares); both images install from their
lock with hashes checked, and run the torch, diffusers and nextcord versions every test runs."""

import re
import tomllib
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

PROJECT = Path(__file__).resolve().parents[2]
LOCKS = PROJECT / "requirements"
IMAGE_LOCKS = {"web": "web-cpu.lock", "worker": "worker-cuda.lock"}
SHIPPED = ("torch", "diffusers", "nextcord")


def pins(lock: str) -> dict[str, str]:
    """name => version of every requirement in a lock, each checked to carry at least one hash."""
    text = (LOCKS / lock).read_text()
    found = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        line = block.split("\\", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        name, _, version = line.partition("==")
        assert version, f"{lock}: {line!r} is not pinned with =="
        assert "--hash=sha256:" in block, f"{lock}: {name} has no hash"
        found[canonicalize_name(name.split("[")[0])] = version.strip()
    return found


def public(version: str) -> Version:
    return Version(Version(version).public)


@pytest.mark.parametrize("lock", ["dev-cpu.lock", "web-cpu.lock", "worker-cuda.lock", "no-deps.lock"])
def test_every_line_is_pinned_with_hashes(lock):
    assert pins(lock)


def test_the_development_lock_satisfies_pyproject():
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    locked = pins("dev-cpu.lock")
    for spec in project["dependencies"] + project["optional-dependencies"]["dev"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{spec} is in pyproject.toml but not in the lock: make lock"
        assert requirement.specifier.contains(public(locked[name]), prereleases=True), (
            f"{name} {locked[name]} in the lock does not satisfy {spec!r} in pyproject.toml: make lock"
        )


def test_the_pins_the_project_requires():
    locked = pins("dev-cpu.lock")
    assert locked["nextcord"] == "2.6.0"
    assert public(locked["setuptools"]) < Version("81")  # nextcord imports pkg_resources
    assert locked["torch"].endswith("+cpu")  # the CPU build on these machines


@pytest.mark.parametrize("image", IMAGE_LOCKS)
def test_each_image_installs_its_lock_with_hashes_checked(image):
    dockerfile = DockerfileParser(fileobj=(PROJECT / f"deploy/docker/{image}.Dockerfile").open("rb"))
    runs = [
        i["value"] for i in dockerfile.structure if i["instruction"] == "RUN" and "pip install" in i["value"]
    ]
    locked_installs = [r for r in runs if f"requirements/{IMAGE_LOCKS[image]}" in r]
    assert locked_installs, f"the {image} image does not install requirements/{IMAGE_LOCKS[image]}"
    for run in runs:
        for command in run.split("&&"):
            if "pip install" not in command:
                continue
            # every install is either the lock with hashes checked, or the project itself without deps
            assert ("--require-hashes" in command and "--no-deps" in command) or (
                "--no-deps" in command and command.strip().split()[-1] == "."
            ), command


@pytest.mark.parametrize("image", IMAGE_LOCKS)
@pytest.mark.parametrize("package", SHIPPED)
def test_each_image_runs_the_versions_the_tests_run(image, package):
    tested = pins("dev-cpu.lock")[package]
    shipped = pins(IMAGE_LOCKS[image])[package]
    assert public(shipped) == public(tested), (
        f"the {image} image would run {package} {shipped}, the tests {tested}"
    )


def test_the_worker_image_takes_the_cuda_build_and_the_web_image_the_cpu_one():
    assert "+" not in pins("worker-cuda.lock")["torch"]  # the package index's build: CUDA
    assert any(name.startswith("nvidia-") for name in pins("worker-cuda.lock"))
    assert pins("web-cpu.lock")["torch"].endswith("+cpu")
    assert "onnxruntime-gpu" in pins("worker-cuda.lock")


def test_the_images_share_every_other_version_with_the_tests():
    tested = pins("dev-cpu.lock")
    for image, lock in IMAGE_LOCKS.items():
        for name, version in pins(lock).items():
            if name in tested and name != "torch":
                assert version == tested[name], f"{image}: {name} {version}, the tests {tested[name]}"
