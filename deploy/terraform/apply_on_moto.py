"""A real `terraform apply` then `destroy` of envs/prod against moto's server (an AWS API emulator we did
not write), so that what the mocked `terraform test` cannot see -- IAM's policy grammar, S3 and ECS
rules, the order of creation and deletion -- is checked before the first apply in AWS.

    .venv/bin/python deploy/terraform/apply_on_moto.py      (deploy/terraform/check runs it)

The configuration is copied to a temporary folder with one override file: a local backend and the
provider's endpoints on moto. Resource types moto lacks are left out through envs/prod's
`emulator_skips` variable (EMULATOR_SKIPS below), in this run only. Never touches AWS: the provider
has only moto's address and dummy credentials, and the environment's AWS_* variables are dropped.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

TF_ROOT = Path(__file__).resolve().parent
REGION = "us-east-1"
# Resource types moto lacks or implements too narrowly for this configuration; each stays covered by
# `terraform test` (mock provider) and checkov. Keep in step with envs/prod's emulator_skips validation.
EMULATOR_SKIPS = {
    # moto registers the target but has no ListTagsForResource for it (HTTP 500), which the provider
    # reads after every create; its scaling policy goes with it
    "aws_appautoscaling_target",
    # moto creates the group but not its member clusters (DescribeCacheClusters: CacheClusterNotFound)
    "aws_elasticache_replication_group",
    # moto has no DeleteCacheSubnetGroup: the destroy would wait forever
    "aws_elasticache_subnet_group",
    # moto accepts a target bucket only when its policy names the exact log prefix (AWS allows any
    # prefix pattern) and cannot read a policy with Principal "*"
    "aws_s3_bucket_logging",
}
# The services envs/prod calls, all pointed at moto.
ENDPOINTS = (
    "acm appautoscaling autoscaling cloudwatch ec2 ecr ecs elasticache elbv2 iam kms logs rds s3 "
    "scheduler secretsmanager sns ssm sts wafv2"
).split()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto(port: int, log_path: Path) -> subprocess.Popen:
    # IAM's AWS-managed policies (AmazonEC2ContainerServiceforEC2Role...) exist only when asked for.
    env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
    log = open(log_path, "w")  # noqa: SIM115 (closed with the process)
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"moto's server exited at start: see {log_path}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=2)
            return server
        except OSError:
            time.sleep(0.5)
    server.terminate()
    sys.exit(f"moto's server did not answer on 127.0.0.1:{port} within 60 s: see {log_path}")


def override(endpoint: str) -> str:
    lines = "\n".join(f'    {name} = "{endpoint}"' for name in ENDPOINTS)
    return f"""# Written by apply_on_moto.py into a temporary copy: never part of envs/prod.
terraform {{
  backend "local" {{}}
}}

provider "aws" {{
  access_key                  = "moto"
  secret_key                  = "moto"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true
  endpoints {{
{lines}
  }}
}}
"""


def certificate_arn(endpoint: str) -> str:
    """The HTTPS listener needs a certificate that exists: one requested from moto's ACM."""
    import boto3

    acm = boto3.client(
        "acm",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="moto",
        aws_secret_access_key="moto",
    )
    return acm.request_certificate(DomainName="narcis.example")["CertificateArn"]


def check_schedules_pinned(endpoint: str) -> None:
    """What the mocked test cannot see: the schedules run a revision of the web family, not its latest."""
    import boto3

    kw = dict(
        endpoint_url=endpoint, region_name=REGION, aws_access_key_id="moto", aws_secret_access_key="moto"
    )
    scheduler, ecs = boto3.client("scheduler", **kw), boto3.client("ecs", **kw)
    web = ecs.describe_services(cluster="narcis-prod", services=["narcis-prod-web"])["services"][0]
    for summary in scheduler.list_schedules()["Schedules"]:
        schedule = scheduler.get_schedule(Name=summary["Name"])
        arn = schedule["Target"]["EcsParameters"]["TaskDefinitionArn"]
        if arn != web["taskDefinition"]:
            sys.exit(f"schedule {summary['Name']} runs {arn}, not the web's pinned {web['taskDefinition']}")


def terraform(args: list[str], cwd: Path, env: dict, log: Path) -> float:
    started = time.monotonic()
    with open(log, "w") as out:
        done = subprocess.run(["terraform", *args], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        text = log.read_text()
        errors = text[text.find("Error:") :] if "Error:" in text else text[-4000:]
        sys.exit(f"terraform {args[0]} against moto failed after {seconds:.0f} s (log: {log}):\n{errors}")
    return seconds


def main() -> None:
    # SIGTERM (check stopping early) unwinds like an error: terraform killed, moto stopped, folder removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="narcis-tf-moto-"))
    keep = os.environ.get("KEEP_MOTO_WORKDIR") == "1"
    tree = work / "terraform"
    shutil.copytree(TF_ROOT / "envs", tree / "envs", ignore=shutil.ignore_patterns("tests", ".terraform*"))
    shutil.copytree(
        TF_ROOT / "modules", tree / "modules", ignore=shutil.ignore_patterns("tests", ".terraform*")
    )
    prod = tree / "envs" / "prod"
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    (prod / "emulator_override.tf").write_text(override(endpoint))

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(TF_DATA_DIR=str(work / "data"), TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1")
    server = start_moto(port, work / "moto.log")
    try:
        variables = [
            "-var=domain_name=narcis.example",
            f"-var=certificate_arn={certificate_arn(endpoint)}",
            "-var=emulator_skips=[" + ",".join(f'"{t}"' for t in sorted(EMULATOR_SKIPS)) + "]",
            # RDS refuses to delete a protected instance, in AWS as in moto; an operator lifts it (an
            # apply) before a deliberate destroy. Off from the start here: a second apply costs minutes.
            "-var=database_deletion_protection=false",
        ]
        flags = ["-input=false", "-no-color", "-parallelism=20"]
        terraform(["init", "-input=false", "-no-color"], prod, env, work / "init.log")
        applied = terraform(["apply", "-auto-approve", *flags, *variables], prod, env, work / "apply.log")
        print(f"apply against moto: {applied:.0f} s")
        check_schedules_pinned(endpoint)
        destroyed = terraform(
            ["destroy", "-auto-approve", *flags, *variables], prod, env, work / "destroy.log"
        )
        print(f"destroy against moto: {destroyed:.0f} s")
        print("left out (moto lacks them): " + ", ".join(sorted(EMULATOR_SKIPS)))
    finally:
        server.terminate()
        server.wait(timeout=30)
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"work folder kept: {work}")


if __name__ == "__main__":
    main()
