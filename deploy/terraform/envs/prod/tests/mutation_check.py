"""Mutation check for envs/prod/tests/prod.tftest.hcl: each entry breaks the code in
one way and expects `terraform test` to fail on the named assertion. Slow (about
15 minutes for all, two at a time), so not part of deploy/terraform/check.

    python3 deploy/terraform/envs/prod/tests/mutation_check.py        # all
    python3 deploy/terraform/envs/prod/tests/mutation_check.py 3 17   # some
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
MIRROR = os.environ.get("TF_PROVIDER_MIRROR", "/opt/tf-plugins")
WORK = tempfile.mkdtemp(prefix="narcis-tf-mutations-")
TFRC = os.path.join(WORK, "offline.tfrc")
with open(TFRC, "w") as f:
    f.write(
        f'provider_installation {{\n  filesystem_mirror {{\n    path    = "{MIRROR}"\n    include = ["registry.terraform.io/*/*"]\n  }}\n  direct {{\n    exclude = ["registry.terraform.io/*/*"]\n  }}\n}}\n'
    )
E = "envs/prod/"
M = "modules/"
# (expected error_message fragment, [(file, old, new), ...])
muts = [
    (
        "base 1, weight 3",
        [
            (
                E + "services.tf",
                'capacity_provider_names["g6"], base = 1, weight = 3',
                'capacity_provider_names["g6"], base = 0, weight = 3',
            )
        ],
    ),
    (
        "g5 (spot) with weight 2",
        [
            (
                E + "services.tf",
                'capacity_provider_names["g5"], base = 0, weight = 2',
                'capacity_provider_names["g5"], base = 0, weight = 1',
            )
        ],
    ),
    (
        "g4dn (spot) with weight 1",
        [
            (
                E + "services.tf",
                'capacity_provider_names["g4dn"], base = 0, weight = 1',
                'capacity_provider_names["g4dn"], base = 0, weight = 2',
            )
        ],
    ),
    (
        "exactly the three GPU capacity providers",
        [
            (
                E + "services.tf",
                '    { capacity_provider = module.cluster.capacity_provider_names["g4dn"], base = 0, weight = 1 },\n',
                '    { capacity_provider = module.cluster.capacity_provider_names["g4dn"], base = 0, weight = 1 },\n    { capacity_provider = "FARGATE", base = 0, weight = 1 },\n',
            )
        ],
    ),
    (
        "must be 100% spot",
        [(M + "cluster_capacity/main.tf", "each.value.spot ? 0 : 100", "each.value.spot ? 10 : 100")],
    ),
    (
        "g6 group must be on-demand",
        [(M + "cluster_capacity/main.tf", "each.value.spot ? 0 : 100", "each.value.spot ? 0 : 50")],
    ),
    (
        "spot groups rebalance capacity",
        [
            (
                M + "cluster_capacity/main.tf",
                "capacity_rebalance      = each.value.spot",
                "capacity_rebalance      = false",
            )
        ],
    ),
    (
        "spot instance draining",
        [
            (
                M + "cluster_capacity/user_data.sh.tftpl",
                "ECS_ENABLE_SPOT_INSTANCE_DRAINING=${spot}",
                "ECS_ENABLE_SPOT_INSTANCE_DRAINING=false",
            )
        ],
    ),
    (
        "joins narcis-prod with GPU support",
        [
            (
                M + "cluster_capacity/user_data.sh.tftpl",
                "ECS_ENABLE_GPU_SUPPORT=true",
                "ECS_ENABLE_GPU_SUPPORT=false",
            )
        ],
    ),
    (
        "sync the models bucket",
        [
            (
                M + "cluster_capacity/user_data.sh.tftpl",
                "s3://${models_bucket}/models/",
                "s3://${models_bucket}/weights/",
            )
        ],
    ),
    (
        "managed scaling (100), termination",
        [
            (
                M + "cluster_capacity/main.tf",
                'managed_draining               = "ENABLED"',
                'managed_draining               = "DISABLED"',
            )
        ],
    ),
    (
        "protected from scale-in",
        [
            (
                M + "cluster_capacity/main.tf",
                "protect_from_scale_in   = true",
                "protect_from_scale_in   = false",
            )
        ],
    ),
    ("lists FARGATE", [(M + "cluster_capacity/main.tf", 'concat(["FARGATE"], ', "concat([], ")]),
    (
        "IMDSv2 must be required",
        [
            (
                M + "cluster_capacity/main.tf",
                'http_tokens                 = "required"',
                'http_tokens                 = "optional"',
            )
        ],
    ),
    ("exactly one GPU", [(E + "services.tf", "gpu_count    = 1", "gpu_count    = 2")]),
    ("stopTimeout must be 120", [(E + "services.tf", "stop_timeout = 120", "stop_timeout = 110")]),
    (
        "host /models read-only",
        [
            (
                E + "services.tf",
                'container_path = "/models", read_only = true',
                'container_path = "/models", read_only = false',
            )
        ],
    ),
    (
        "sizes its own batch",
        [(E + "services.tf", 'NARCIS_WORKER_BATCH         = "0"', 'NARCIS_WORKER_BATCH         = "2"')],
    ),
    ("worker command", [(E + "services.tf", '"manage.py", "run_worker"]', '"manage.py", "run_workers"]')]),
    (
        "path must be /health",
        [(M + "load_balancer/variables.tf", 'default = "/health"', 'default = "/healthz"')],
    ),
    (
        "every 5 s with a timeout",
        [(M + "load_balancer/main.tf", "interval            = 5", "interval            = 10")],
    ),
    ("thresholds 2/2", [(M + "load_balancer/main.tf", "unhealthy_threshold = 2", "unhealthy_threshold = 3")]),
    (
        "redirect to HTTPS with a 301",
        [(M + "load_balancer/main.tf", 'status_code = "HTTP_301"', 'status_code = "HTTP_302"')],
    ),
    (
        "idle timeout must allow",
        [(E + "main.tf", "idle_timeout           = 3600", "idle_timeout           = 60")],
    ),
    (
        "minimum must be at least 1",
        [(E + "autoscaling.tf", "min_capacity       = var.worker_min_count", "min_capacity       = 0")],
    ),
    (
        "m1 must be Narcis/Queue QueuedJobs",
        [(E + "autoscaling.tf", 'metric_name = "QueuedJobs"', 'metric_name = "OldestQueuedAge"')],
    ),
    (
        "m2 must be the worker",
        [(E + "autoscaling.tf", 'metric_name = "RunningTaskCount"', 'metric_name = "DesiredTaskCount"')],
    ),
    (
        "only the expression returns data",
        [
            (
                E + "autoscaling.tf",
                'label       = "Queued jobs"\n        return_data = false',
                'label       = "Queued jobs"\n        return_data = true',
            )
        ],
    ),
    ("divides queued jobs", [(E + "autoscaling.tf", '"m1 / IF(m2 < 1, 1, m2)"', '"m1 * 1"')]),
    ("scale in more slowly", [(E + "autoscaling.tf", "scale_in_cooldown  = 600", "scale_in_cooldown  = 30")]),
    (
        "blocks all public access",
        [
            (
                M + "storage/main.tf",
                'resource "aws_s3_bucket_public_access_block" "models" {\n  bucket                  = aws_s3_bucket.models.id\n  block_public_acls       = true',
                'resource "aws_s3_bucket_public_access_block" "models" {\n  bucket                  = aws_s3_bucket.models.id\n  block_public_acls       = false',
            )
        ],
    ),
    (
        "each have a public access block",
        [(M + "storage/outputs.tf", "    models = aws_s3_bucket_public_access_block.models\n", "")],
    ),
    (
        "noncurrent faces/ versions",
        [
            (
                M + "storage/main.tf",
                'prefix = "faces/"\n    }\n    noncurrent_version_expiration {\n      noncurrent_days = 1',
                'prefix = "faces/"\n    }\n    noncurrent_version_expiration {\n      noncurrent_days = 7',
            )
        ],
    ),
    (
        "no secret-looking name",
        [
            (
                M + "service/variables.tf",
                'length(regexall("(SECRET|PASSWORD|TOKEN|API_KEY|DATABASE_URL|REDIS_URL)", upper(k))) == 0',
                "true",
            ),
            (
                E + "services.tf",
                '    LOG_LEVEL         = "INFO"\n',
                '    LOG_LEVEL         = "INFO"\n    REDIS_URL         = "rediss://plain"\n',
            ),
        ],
    ),
    (
        "come from Secrets Manager",
        [(E + "services.tf", '      SECRET_KEY   = aws_secretsmanager_secret.app["SECRET_KEY"].arn\n', "")],
    ),
    (
        "DISCORD_BOT_TOKEN as a secret",
        [
            (
                E + "services.tf",
                'merge(local.app_secrets, { DISCORD_BOT_TOKEN = aws_secretsmanager_secret.app["DISCORD_BOT_TOKEN"].arn })',
                "local.app_secrets",
            )
        ],
    ),
    (
        "RDS must be Multi-AZ",
        [(M + "database/main.tf", "multi_az               = true", "multi_az               = false")],
    ),
    (
        "RDS storage must be encrypted",
        [(M + "database/main.tf", "storage_encrypted     = true", "storage_encrypted     = false")],
    ),
    (
        "RDS must not be public",
        [(M + "database/main.tf", "publicly_accessible    = false", "publicly_accessible    = true")],
    ),
    (
        "Redis must encrypt",
        [(M + "cache/main.tf", "transit_encryption_enabled = true", "transit_encryption_enabled = false")],
    ),
    (
        "keep 30 days",
        [
            (
                E + "variables.tf",
                "  type        = number\n  default     = 30\n",
                "  type        = number\n  default     = 14\n",
            )
        ],
    ),
    (
        "service names",
        [(E + "main.tf", 'bot      = "${local.name}-bot"', 'bot      = "${local.name}-discord"')],
    ),
    (
        "worker batch per tier",
        [
            (
                E + "main.tf",
                'instance_type = "g4dn.xlarge", batch = 1',
                'instance_type = "g4dn.xlarge", batch = 2',
            )
        ],
    ),
    # issue 34
    (
        "IAM refuses a policy with no statement",
        [(E + "iam.tf", "for_each = local.task_policies_with_statements", "for_each = local.task_policies")],
    ),
    (
        "worker is healthy only once warm",
        [(E + "services.tf", "start_period = 300", "start_period = 60")],
    ),
    (
        "a worker deploy never drops below the running capacity",
        [
            (
                E + "services.tf",
                "deployment_minimum_healthy_percent = 100\n  deployment_maximum_percent         = 200\n  host_volumes",
                "deployment_minimum_healthy_percent = 50\n  deployment_maximum_percent         = 200\n  host_volumes",
            )
        ],
    ),
    (
        "one managed scale-out may add up to 10 GPU instances",
        [(M + "cluster_capacity/variables.tf", "default     = 10", "default     = 2")],
    ),
    (
        "webhooks may reach HTTPS and the database only",
        [
            (
                E + "security_groups.tf",
                "from_port                    = 5432",
                "from_port                    = 6379",
            )
        ],
    ),
    (
        "webhooks get no REDIS_URL",
        [(E + "services.tf", 'if k != "REDIS_URL"', 'if k != "NOTHING"')],
    ),
    (
        "a new AUTH token is accepted beside the old one",
        [
            (
                M + "cache/main.tf",
                'auth_token_update_strategy = "ROTATE"',
                'auth_token_update_strategy = "SET"',
            )
        ],
    ),
    (
        "no Service Connect",
        [
            (
                M + "service/main.tf",
                "  lifecycle {\n    # Rollouts",
                "  service_connect_configuration {\n    enabled = true\n  }\n\n  lifecycle {\n    # Rollouts",
            )
        ],
    ),
]
env = dict(os.environ, TF_CLI_CONFIG_FILE=TFRC)


def run(i):
    msg, edits = muts[i]
    d = os.path.join(WORK, f"w{i}")
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(SRC, d, ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl"))
    for f, old, new in edits:
        p = os.path.join(d, f)
        s = open(p).read()
        n = s.count(old)
        if n != 1:
            return (i, msg, f"BAD MUTATION ({n} matches in {f})")
        open(p, "w").write(s.replace(old, new))
    e = dict(env, TF_DATA_DIR=f"{d}/.tfdata")
    subprocess.run(
        ["terraform", "init", "-backend=false", "-input=false", "-no-color"],
        cwd=f"{d}/envs/prod",
        env=e,
        capture_output=True,
    )
    r = subprocess.run(
        ["terraform", "test", "-no-color"], cwd=f"{d}/envs/prod", env=e, capture_output=True, text=True
    )
    out = r.stdout + r.stderr
    flat = re.sub(r"\s+", " ", out)
    caught = r.returncode != 0 and "Test assertion failed" in out and msg in flat
    shutil.rmtree(d, ignore_errors=True)
    return (i, msg, "FAILS AS EXPECTED" if caught else f"NOT CAUGHT rc={r.returncode}\n{out[-1500:]}")


sel = range(len(muts)) if len(sys.argv) < 2 else [int(x) for x in sys.argv[1:]]
results = []
with ThreadPoolExecutor(2) as ex:
    for i, msg, res in ex.map(run, sel):
        line = f"{i:2d} [{msg}] {res}"
        results.append(line)
        print(line, flush=True)
caught = sum(1 for line in results if line.endswith("FAILS AS EXPECTED"))
print(f"{caught} of {len(results)} mutations caught")
shutil.rmtree(WORK, ignore_errors=True)
sys.exit(0 if caught == len(results) else 1)
