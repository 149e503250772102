#!/usr/bin/env python3
"""A pretend `aws` CLI for the deploy script's tests, with state: the ECS, ECR, SSM and EventBridge
Scheduler calls deploy/ecs-deploy.sh makes, answered from a JSON file ($FAKE_AWS_STATE) the test
writes and reads back. --query is JMESPath (the library the real CLI uses) and --output json|text
behaves like the CLI's. Every call is appended to $FAKE_LOG.

The state says how the world reacts:
  services[name] = {"taskDefinition": arn, "fails": bool, "stoppedReasons": [...]}
    fails: the circuit breaker rolls a rollout back (the old revision stays PRIMARY, the waiter
    still says stable, as on AWS); stoppedReasons: what the failed tasks report.
  migrationExitCode: the exit code of a run-task's container.
"""

import json
import os
import shlex
import sys
from pathlib import Path

import jmespath

STATE = Path(os.environ["FAKE_AWS_STATE"])
ACCOUNT = "111122223333"


def options(argv: list[str]) -> dict[str, str | list[str]]:
    found: dict[str, str | list[str]] = {}
    i = 0
    while i < len(argv):
        name = argv[i]
        values = []
        i += 1
        while i < len(argv) and not argv[i].startswith("--"):
            values.append(argv[i])
            i += 1
        found[name] = values[0] if len(values) == 1 else values
    return found


def text(value) -> str:
    if value is None:
        return "None"
    if isinstance(value, list):
        return "\t".join(text(v) for v in value)
    if isinstance(value, dict):
        return "\t".join(text(v) for v in value.values())
    return str(value)


class NotFound(Exception):
    pass


def region_of(opts) -> str:
    return opts.get("--region", "eu-west-3")


def definition(state, ref: str) -> dict:
    """A task definition by ARN, family:revision or family (its latest ACTIVE revision)."""
    defs = state["taskDefinitions"]
    if ref in defs:
        return defs[ref]
    name = ref.split("task-definition/")[-1]
    if ":" in name:
        family, revision = name.split(":")
        hits = [d for d in defs.values() if d["family"] == family and d["revision"] == int(revision)]
    else:
        hits = [d for d in defs.values() if d["family"] == name and d["status"] == "ACTIVE"]
        hits = sorted(hits, key=lambda d: d["revision"])[-1:]
    if not hits:
        raise NotFound(f"Unable to describe task definition {ref}")
    return hits[0]


def ecs(state, command: str, opts) -> object:
    if command == "describe-task-definition":
        return {"taskDefinition": definition(state, opts["--task-definition"])}
    if command == "register-task-definition":
        body = json.loads(Path(opts["--cli-input-json"].removeprefix("file://")).read_text())
        family = body["family"]
        revision = 1 + max(
            (d["revision"] for d in state["taskDefinitions"].values() if d["family"] == family), default=0
        )
        arn = f"arn:aws:ecs:{region_of(opts)}:{ACCOUNT}:task-definition/{family}:{revision}"
        state["taskDefinitions"][arn] = {
            **body,
            "taskDefinitionArn": arn,
            "revision": revision,
            "status": "ACTIVE",
        }
        return {"taskDefinition": state["taskDefinitions"][arn]}
    if command == "deregister-task-definition":
        found = definition(state, opts["--task-definition"])
        found["status"] = "INACTIVE"
        return {"taskDefinition": found}
    if command == "run-task":
        arn = f"arn:aws:ecs:{region_of(opts)}:{ACCOUNT}:task/{opts['--cluster']}/migrate{len(state['tasks'])}"
        overrides = json.loads(opts["--overrides"])["containerOverrides"][0]
        state["tasks"].append(
            {
                "taskArn": arn,
                "taskDefinitionArn": definition(state, opts["--task-definition"])["taskDefinitionArn"],
                "lastStatus": "STOPPED",
                "stoppedReason": "Essential container in task exited",
                "containers": [{"name": overrides["name"], "exitCode": state.get("migrationExitCode", 0)}],
            }
        )
        return {"tasks": [state["tasks"][-1]], "failures": []}
    if command == "wait":
        return None  # the waiters pass; what they cannot see is the script's to check
    if command == "describe-tasks":
        wanted = opts["--tasks"] if isinstance(opts["--tasks"], list) else [opts["--tasks"]]
        return {"tasks": [t for t in state["tasks"] if t["taskArn"] in wanted], "failures": []}
    if command == "list-tasks":
        service = opts.get("--service-name")
        status = opts.get("--desired-status", "RUNNING")
        return {
            "taskArns": [
                t["taskArn"]
                for t in state["tasks"]
                if t.get("service") == service and (status != "STOPPED" or t["lastStatus"] == "STOPPED")
            ]
        }
    if command == "update-service":
        name = opts["--service"]
        service = state["services"][name]
        target = definition(state, opts["--task-definition"])["taskDefinitionArn"]
        if service.get("fails"):
            # The new tasks stop; the circuit breaker puts the old revision back and the service settles.
            for i, reason in enumerate(service.get("stoppedReasons", ["Essential container in task exited"])):
                state["tasks"].append(
                    {
                        "taskArn": f"arn:aws:ecs:{region_of(opts)}:{ACCOUNT}:task/{name}-failed{i}",
                        "taskDefinitionArn": target,
                        "service": name,
                        "lastStatus": "STOPPED",
                        "stoppedReason": reason,
                        "containers": [{"name": "app", "exitCode": 1}],
                    }
                )
            service["rolloutStateReason"] = (
                "ECS deployment circuit breaker: rolling back to the previous deployment."
            )
        else:
            service["taskDefinition"] = target
            service["rolloutStateReason"] = "ECS deployment completed."
        return {"service": describe_service(name, service, opts)}
    if command == "describe-services":
        names = opts["--services"] if isinstance(opts["--services"], list) else [opts["--services"]]
        return {"services": [describe_service(n, state["services"][n], opts) for n in names], "failures": []}
    raise NotFound(f"fake aws: ecs {command} is not faked")


def describe_service(name: str, service: dict, opts) -> dict:
    return {
        "serviceName": name,
        "serviceArn": f"arn:aws:ecs:{region_of(opts)}:{ACCOUNT}:service/{opts.get('--cluster')}/{name}",
        "taskDefinition": service["taskDefinition"],
        "deployments": [
            {
                "id": "ecs-svc/1",
                "status": "PRIMARY",
                "taskDefinition": service["taskDefinition"],
                "rolloutState": "COMPLETED",
                "rolloutStateReason": service.get("rolloutStateReason", "ECS deployment completed."),
            }
        ],
    }


def ssm(state, command: str, opts) -> object:
    params = state.setdefault("parameters", {})
    name = opts.get("--name")
    if command == "put-parameter":
        if name in params and "--overwrite" not in opts:
            raise NotFound(f"ParameterAlreadyExists: {name}")
        params[name] = opts["--value"]
        return {"Version": 1}
    if command == "get-parameter":
        if name not in params:
            raise NotFound(f"ParameterNotFound: {name}")
        return {"Parameter": {"Name": name, "Value": params[name], "Type": "String"}}
    raise NotFound(f"fake aws: ssm {command} is not faked")


def scheduler(state, command: str, opts) -> object:
    schedules = state.setdefault("schedules", {})
    if command == "get-schedule":
        if opts["--name"] not in schedules:
            raise NotFound(f"ResourceNotFoundException: Schedule {opts['--name']} does not exist.")
        return schedules[opts["--name"]]
    if command == "update-schedule":
        body = json.loads(Path(opts["--cli-input-json"].removeprefix("file://")).read_text())
        for read_only in ("Arn", "CreationDate", "LastModificationDate"):
            if read_only in body:
                raise NotFound(f"ParamValidation: Unknown parameter in input: {read_only!r}")
        schedules[body["Name"]] = {**schedules[body["Name"]], **body}
        return {"ScheduleArn": schedules[body["Name"]].get("Arn")}
    raise NotFound(f"fake aws: scheduler {command} is not faked")


def ecr(state, command: str, opts) -> object:
    if command == "describe-images":
        return {
            "imageDetails": [{"imageDigest": "sha256:0123", "imageTags": [opts["--image-ids"].split("=")[1]]}]
        }
    raise NotFound(f"fake aws: ecr {command} is not faked")


def main(argv: list[str]) -> int:
    with open(os.environ["FAKE_LOG"], "a") as log:
        log.write("aws " + shlex.join(argv) + "\n")
    service, command, rest = argv[0], argv[1], argv[2:]
    if service == "ecs" and command == "wait":
        return 0
    opts = options(rest)
    state = json.loads(STATE.read_text())
    handler = {"ecs": ecs, "ssm": ssm, "scheduler": scheduler, "ecr": ecr}.get(service)
    try:
        if handler is None:
            raise NotFound(f"fake aws: {service} is not faked")
        answer = handler(state, command, opts)
    except NotFound as error:
        print(f"\nAn error occurred: {error}", file=sys.stderr)
        return 254
    STATE.write_text(json.dumps(state, indent=1))
    if answer is None:
        return 0
    if "--query" in opts:
        answer = jmespath.search(opts["--query"], answer)
    if opts.get("--output") == "text":
        print(text(answer))
    else:
        print(json.dumps(answer, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
