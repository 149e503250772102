"""deploy/compose.yaml, checked without a Docker daemon: pinned or built images, health checks and the
start order they allow, the README's variables only, no secret written into the file, a GPU for the
worker with the models read-only, the bot behind a profile; `docker compose config` when the plugin is
there."""

import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = PROJECT / "deploy" / "compose.yaml"
COMPOSE = yaml.safe_load(COMPOSE_FILE.read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ["migrate", "web", "worker", "webhooks", "bot"]
INFRASTRUCTURE = ["postgres", "redis", "minio", "minio-setup"]
# Variables that are not Narcis settings: the infrastructure images' own, and where the models folder is
# on the host. Anything else the file names must be in the README's table.
COMPOSE_ONLY = {
    "NARCIS_MODELS_HOST_DIR",
    "POSTGRES_USER",
    "POSTGRES_DB",
    "POSTGRES_PASSWORD",
    "MINIO_ROOT_USER",
    "MINIO_ROOT_PASSWORD",
}
SECRET_WORDS = re.compile(r"SECRET|TOKEN|PASSWORD|PASSWD|API_KEY|ACCESS_KEY|CREDENTIAL", re.IGNORECASE)
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def readme_variables() -> set[str]:
    text = (PROJECT / "README.md").read_text()
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([A-Z][A-Z0-9_]*)`", line.split("|")[1]))
    return names


def environment(service: str) -> dict[str, str]:
    env = SERVICES[service].get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {name: "" if value is None else str(value) for name, value in env.items()}


def depends(service: str) -> dict[str, str]:
    return {name: spec["condition"] for name, spec in SERVICES[service].get("depends_on", {}).items()}


def test_the_readme_table_is_parsed():
    assert {"DATABASE_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "LOG_LEVEL"} <= readme_variables()


@pytest.mark.parametrize("name", SERVICES)
def test_every_image_is_built_here_or_pinned_to_a_version(name):
    service = SERVICES[name]
    if "build" in service:
        build = service["build"]
        assert (COMPOSE_FILE.parent / build["context"] / build["dockerfile"]).is_file()
        return
    image, _, tag = service["image"].rpartition(":")
    assert image and tag != "latest" and re.search(r"\d+\.\d+|RELEASE\.\d{4}-", tag), service["image"]


def test_the_web_image_is_one_build_shared_by_migrate_and_bot():
    images = {SERVICES[name]["image"] for name in ("migrate", "web", "webhooks", "bot")}
    assert images == {"narcis-web:local"}
    assert SERVICES["worker"]["build"]["dockerfile"] == "deploy/docker/worker.Dockerfile"


def test_the_infrastructure_has_health_checks_and_named_volumes():
    assert "pg_isready" in SERVICES["postgres"]["healthcheck"]["test"]
    assert SERVICES["redis"]["healthcheck"]["test"][-2:] == ["redis-cli", "ping"]
    assert SERVICES["minio"]["healthcheck"]["test"]
    for name, path in (("postgres", "/var/lib/postgresql/data"), ("minio", "/data")):
        volume = next(v for v in SERVICES[name]["volumes"] if v.endswith(f":{path}"))
        assert volume.split(":")[0] in COMPOSE["volumes"]


def test_migrate_runs_once_when_postgres_is_healthy():
    assert SERVICES["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert depends("migrate") == {"postgres": "service_healthy"}
    assert SERVICES["migrate"]["restart"] == "no"


def test_minio_setup_makes_the_private_bucket_once_minio_is_healthy():
    assert depends("minio-setup") == {"minio": "service_healthy"}
    script = " ".join(SERVICES["minio-setup"]["command"])
    assert "mc mb --ignore-existing" in script and "mc anonymous set none" in script


@pytest.mark.parametrize("name", ["web", "worker"])
def test_web_and_worker_start_after_the_infrastructure_is_ready(name):
    assert depends(name) == {
        "postgres": "service_healthy",
        "redis": "service_healthy",
        "minio-setup": "service_completed_successfully",
        "migrate": "service_completed_successfully",
    }


def test_the_web_listens_on_loopback_with_a_health_check():
    assert SERVICES["web"]["ports"] == ["127.0.0.1:8000:8000"]
    assert any("/health" in part for part in SERVICES["web"]["healthcheck"]["test"])


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_set_only_the_readme_variables(name):
    undocumented = environment(name).keys() - readme_variables()
    assert not undocumented, f"{name} sets variables the README does not document: {undocumented}"


def test_every_variable_the_file_reads_is_documented_or_compose_only():
    read = {m["name"] for m in INTERPOLATION.finditer(COMPOSE_FILE.read_text())}
    assert not read - readme_variables() - COMPOSE_ONLY


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_run_as_the_deployed_product_does(name):
    env = environment(name)
    assert env["DEBUG"] == "false" and env["NARCIS_EMBEDDED_WORKER"] == "false"
    assert env["COOKIE_SECURE"] == "false"  # plain HTTP: Secure cookies would never come back
    assert (
        env["DATABASE_URL"].startswith("postgres://") and urlsplit(env["DATABASE_URL"]).hostname == "postgres"
    )
    assert urlsplit(env["REDIS_URL"]).hostname == "redis"
    assert env["NARCIS_S3_BUCKET"] and env["NARCIS_MODELS_DIR"] == "/models"
    assert "?" in INTERPOLATION.fullmatch(env["SECRET_KEY"])["op"]  # required, no default


def test_presigned_urls_name_a_host_that_containers_and_the_browser_both_reach():
    endpoint = urlsplit(environment("web")["AWS_S3_ENDPOINT_URL"])
    minio = SERVICES["minio"]
    # inside: a network alias of the MinIO container
    assert endpoint.hostname in minio["networks"]["default"]["aliases"]
    # outside: browsers resolve *.localhost to the loopback address, where MinIO is published
    assert endpoint.hostname.endswith(".localhost")
    assert f"127.0.0.1:{endpoint.port}:9000" in minio["ports"]


@pytest.mark.parametrize("name", APP_SERVICES + INFRASTRUCTURE)
def test_no_secret_is_written_into_the_file(name):
    for variable, value in environment(name).items():
        if variable == "DATABASE_URL":
            value = urlsplit(value).password or ""
        elif not SECRET_WORDS.search(variable):
            continue
        match = INTERPOLATION.fullmatch(value)
        assert match, f"{name}: {variable} is written into the file instead of read from the environment"
        if variable in {"SECRET_KEY", "DISCORD_BOT_TOKEN", "MECENE_LLM_API_KEY"}:
            assert match["op"] is None or "?" in match["op"] or not match["arg"], variable
        elif match["op"] and "-" in match["op"]:
            # the only defaults allowed say what they are: local-only (documented in the file's header)
            assert match["arg"].startswith("local-only-"), f"{name}: {variable} defaults to {match['arg']!r}"
    assert "local-only-" in COMPOSE_FILE.read_text().split("services:", 1)[0]  # the header explains them


def test_the_worker_gets_a_gpu_and_the_models_read_only():
    worker = SERVICES["worker"]
    devices = worker["deploy"]["resources"]["reservations"]["devices"]
    assert any(d["driver"] == "nvidia" and "gpu" in d["capabilities"] for d in devices)
    mounts = [v.rsplit(":", 2) for v in worker["volumes"]]
    assert ["${NARCIS_MODELS_HOST_DIR:-./models}", "/models", "ro"] in mounts
    assert "deploy/models/" in (PROJECT / ".dockerignore").read_text().splitlines()


def test_the_bot_starts_only_when_asked():
    bot = SERVICES["bot"]
    assert bot["profiles"] == ["bot"]
    assert bot["command"] == ["python", "manage.py", "run_discord_bot"]
    assert INTERPOLATION.fullmatch(environment("bot")["DISCORD_BOT_TOKEN"])["name"] == "DISCORD_BOT_TOKEN"
    assert all("profiles" not in SERVICES[name] for name in SERVICES if name != "bot")
    assert "metrics" not in SERVICES  # CloudWatch metrics are for ECS only


def test_docker_compose_accepts_the_file():
    docker = shutil.which("docker")
    if not docker:
        pytest.skip("no docker CLI here")
    version = subprocess.run([docker, "compose", "version"], capture_output=True, text=True)
    if version.returncode != 0:
        reason = (version.stderr or version.stdout).strip().splitlines()[0]
        pytest.skip(f"no docker compose plugin here: {reason}")
    run = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE_FILE), "--profile", "bot", "config", "-q"],
        capture_output=True,
        text=True,
        env={**os.environ, "SECRET_KEY": "compose-config-check"},
    )
    assert run.returncode == 0, run.stderr
