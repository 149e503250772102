"""deploy/ecs-deploy.sh run for real against a pretend AWS with state (tests/deploy/fake_aws.py): a rollout
is verified, not just waited for; a failed migration deregisters its revision; deploy-all records a
release and points the schedules at its web revision; rollback goes to the previous release."""

import json
import shlex
import sys
from pathlib import Path

import pytest

from tests.deploy import test_deploy_makefile as dry_run
from tests.deploy.test_deploy_makefile import NAMES, SECRETS, TAG, option

# The fake programs on PATH and the make runner, shared with the dry-run tests.
fakes = dry_run.fakes
make = dry_run.make

FAKE_AWS = Path(__file__).with_name("fake_aws.py")
SERVICES = ("web", "worker", "bot", "metrics", "webhooks")
ARN = "arn:aws:ecs:eu-west-3:111122223333:task-definition/narcis-test-{}:{}"
SCHEDULES = ("narcis-test-sweep-faces", "narcis-test-purge-guest-sessions")


def task_definition(service: str, revision: int, tag: str) -> dict:
    repository = NAMES["ECR_WORKER"] if service == "worker" else NAMES["ECR_WEB"]
    return {
        "taskDefinitionArn": ARN.format(service, revision),
        "family": f"narcis-test-{service}",
        "revision": revision,
        "status": "ACTIVE",
        "containerDefinitions": [{"name": service, "image": f"{repository}:{tag}"}],
    }


class World:
    """The fake's state file: every service on revision 1 of the image `first`, which Terraform made."""

    def __init__(self, path: Path):
        self.path = path
        definitions = [task_definition(s, 1, "first") for s in SERVICES]
        self.save(
            {
                "taskDefinitions": {d["taskDefinitionArn"]: d for d in definitions},
                "services": {f"narcis-test-{s}": {"taskDefinition": ARN.format(s, 1)} for s in SERVICES},
                "tasks": [],
                "parameters": {},
                "schedules": {
                    name: {
                        "Arn": f"arn:aws:scheduler:eu-west-3:111122223333:schedule/default/{name}",
                        "Name": name,
                        "GroupName": "default",
                        "ScheduleExpression": "cron(0 3 * * ? *)",
                        "FlexibleTimeWindow": {"Mode": "OFF"},
                        "CreationDate": "2026-01-01T00:00:00+00:00",
                        "Target": {
                            "Arn": "arn:aws:ecs:eu-west-3:111122223333:cluster/narcis-test",
                            "RoleArn": "arn:aws:iam::111122223333:role/scheduler",
                            "EcsParameters": {"TaskDefinitionArn": ARN.format("web", 1)},
                        },
                    }
                    for name in SCHEDULES
                },
            }
        )

    def load(self) -> dict:
        return json.loads(self.path.read_text())

    def save(self, state: dict) -> None:
        self.path.write_text(json.dumps(state))

    def change(self, **changes) -> None:
        state = self.load()
        state.update(changes)
        self.save(state)

    def fail_rollouts_of(self, service: str, *reasons: str) -> None:
        state = self.load()
        state["services"][f"narcis-test-{service}"].update(fails=True, stoppedReasons=list(reasons))
        self.save(state)

    def running(self, service: str) -> str:
        return self.load()["services"][f"narcis-test-{service}"]["taskDefinition"]

    def release(self, tag: str) -> dict:
        return json.loads(self.load()["parameters"][f"/narcis-test/releases/{tag}"])


@pytest.fixture
def world(fakes, tmp_path):
    bin_dir, _log = fakes
    (bin_dir / "aws").write_text(
        f'#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(FAKE_AWS))} "$@"\n'
    )
    (bin_dir / "aws").chmod(0o755)
    return World(tmp_path / "aws-state.json")


@pytest.fixture
def deploy(make, world):
    def run(*args, tag=TAG):
        return make(*args, dry=False, tag=tag, extra_env={"FAKE_AWS_STATE": str(world.path)})

    return run


def calls(fakes) -> list[list[str]]:
    return [shlex.split(line) for line in fakes[1].read_text().splitlines()]


def test_deploy_all_records_the_release_and_points_the_schedules_at_its_web_revision(deploy, world):
    run = deploy("deploy-all")
    assert run.rc == 0, run.err
    for service in SERVICES:
        assert world.running(service) == ARN.format(service, 2)
    release = world.release(TAG)
    assert release == {"tag": TAG, "previous": "", "services": {s: ARN.format(s, 2) for s in SERVICES}}
    assert world.load()["parameters"]["/narcis-test/releases/current"] == TAG
    for name in SCHEDULES:
        schedule = world.load()["schedules"][name]
        assert schedule["Target"]["EcsParameters"]["TaskDefinitionArn"] == ARN.format("web", 2)
        assert schedule["ScheduleExpression"] == "cron(0 3 * * ? *)"  # the rest of the schedule kept
    # the next release names this one as its previous
    assert deploy("deploy-all", tag="def5678").rc == 0
    assert world.release("def5678")["previous"] == TAG


def test_a_rollout_the_circuit_breaker_rolled_back_stops_deploy_all(deploy, world, fakes):
    world.fail_rollouts_of(
        "webhooks", "Task failed container health checks", "Essential container in task exited"
    )
    run = deploy("deploy-all")
    assert run.rc != 0
    assert "ROLLOUT FAILED: narcis-test-webhooks" in run.err
    assert ARN.format("webhooks", 2) in run.err  # the revision that did not make it
    assert (
        "Task failed container health checks" in run.err and "Essential container in task exited" in run.err
    )
    updated = [option(c, "--service") for c in calls(fakes) if c[1:3] == ["ecs", "update-service"]]
    assert updated == [
        "narcis-test-web",
        "narcis-test-metrics",
        "narcis-test-webhooks",
    ]  # bot, worker untouched
    assert "/narcis-test/releases/current" not in world.load()["parameters"]  # no release recorded
    web_schedule = world.load()["schedules"][SCHEDULES[0]]["Target"]["EcsParameters"]["TaskDefinitionArn"]
    assert web_schedule == ARN.format("web", 1)


def test_a_single_deploy_whose_rollout_was_rolled_back_exits_non_zero(deploy, world):
    world.fail_rollouts_of(
        "worker", "CannotPullContainerError: pull image manifest has been retried 5 time(s)"
    )
    run = deploy("deploy", "SERVICE=worker")
    assert run.rc != 0
    assert "ROLLOUT FAILED: narcis-test-worker" in run.err and "CannotPullContainerError" in run.err
    assert world.running("worker") == ARN.format("worker", 1)


@pytest.mark.parametrize("exit_code", [1, None])
def test_a_failed_migration_deregisters_its_revision_and_deploys_nothing(deploy, world, fakes, exit_code):
    world.change(migrationExitCode=exit_code)
    run = deploy("deploy-all")
    assert run.rc != 0
    assert "MIGRATION FAILED" in run.err and f"exit code {'none' if exit_code is None else 1}" in run.err
    new = world.load()["taskDefinitions"][ARN.format("web", 2)]
    assert new["status"] == "INACTIVE"  # never "latest", never a rollback target
    assert not any(c[1:3] == ["ecs", "update-service"] for c in calls(fakes))
    run_task = next(c for c in calls(fakes) if c[1:3] == ["ecs", "run-task"])
    assert json.loads(option(run_task, "--overrides"))["containerOverrides"][0]["name"] == "web"


def test_a_migration_on_a_revision_it_did_not_register_deregisters_nothing(deploy, world):
    state = world.load()
    state["taskDefinitions"][ARN.format("web", 1)]["containerDefinitions"][0]["image"] = (
        f"{NAMES['ECR_WEB']}:{TAG}"
    )
    state["migrationExitCode"] = 1
    world.save(state)
    run = deploy("migrate")
    assert run.rc != 0 and "MIGRATION FAILED" in run.err
    assert world.load()["taskDefinitions"][ARN.format("web", 1)]["status"] == "ACTIVE"


def test_a_revision_already_on_the_tag_is_reused_not_registered_again(deploy, world, fakes):
    # migrate registered it: deploy web must not make a second one
    assert deploy("migrate").rc == 0
    run = deploy("deploy", "SERVICE=web")
    assert run.rc == 0, run.err
    assert sum(c[1:3] == ["ecs", "register-task-definition"] for c in calls(fakes)) == 1
    assert world.running("web") == ARN.format("web", 2)


def test_rollback_goes_to_the_previous_release_not_the_previous_revision(deploy, world):
    assert deploy("deploy-all", tag="rel1").rc == 0  # revision 2 everywhere
    # a migration that failed after rel1 registered web revision 3 (deregistered) ...
    world.change(migrationExitCode=1)
    assert deploy("deploy-all", tag="broken").rc != 0
    world.change(migrationExitCode=0)
    assert deploy("deploy-all", tag="rel2").rc == 0  # web 4, the others 3
    assert world.running("web") == ARN.format("web", 4)

    run = deploy("rollback", "SERVICE=web")
    assert run.rc == 0, run.err
    assert world.running("web") == ARN.format("web", 2)  # rel1's, not 4 - 1
    assert "(release rel1)" in run.err
    schedule = world.load()["schedules"][SCHEDULES[0]]["Target"]["EcsParameters"]["TaskDefinitionArn"]
    assert schedule == ARN.format("web", 2)

    # a service that runs a revision deployed after the last release goes back to that release
    assert deploy("deploy", "SERVICE=bot", tag="hotfix").rc == 0
    assert world.running("bot") == ARN.format("bot", 4)
    assert deploy("rollback", "SERVICE=bot").rc == 0
    assert world.running("bot") == ARN.format("bot", 3)  # rel2's


def test_rollback_to_a_named_release(deploy, world):
    assert deploy("deploy-all", tag="rel1").rc == 0
    assert deploy("deploy-all", tag="rel2").rc == 0
    assert deploy("deploy-all", tag="rel3").rc == 0
    run = deploy("rollback", "SERVICE=worker", "RELEASE=rel1")
    assert run.rc == 0, run.err
    assert world.running("worker") == ARN.format("worker", 2)
    run = deploy("rollback", "SERVICE=worker", "RELEASE=nope")
    assert run.rc != 0 and "no release nope is recorded" in run.err


def test_rollback_without_any_release_says_so(deploy, world):
    run = deploy("rollback", "SERVICE=web")
    assert run.rc != 0
    assert "no release is recorded under /narcis-test/releases" in run.err and "RELEASE=" in run.err
    assert world.running("web") == ARN.format("web", 1)


def test_a_rollback_the_circuit_breaker_undid_exits_non_zero(deploy, world):
    assert deploy("deploy-all", tag="rel1").rc == 0
    assert deploy("deploy-all", tag="rel2").rc == 0
    world.fail_rollouts_of(
        "web", "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:x)"
    )
    run = deploy("rollback", "SERVICE=web")
    assert run.rc != 0
    assert "ROLLOUT FAILED: narcis-test-web" in run.err and "Task failed ELB health checks" in run.err
    assert world.running("web") == ARN.format("web", 3)


def test_no_secret_value_is_printed_by_a_real_deploy_all(deploy, world):
    run = deploy("deploy-all")
    assert run.rc == 0, run.err
    for name, value in SECRETS.items():
        assert value not in run.out + run.err, name
