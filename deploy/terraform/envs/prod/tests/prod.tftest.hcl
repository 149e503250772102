# Plan-only tests of envs/prod against a mocked AWS provider (no credentials, no
# network). override_during = plan makes mocked computed values known at plan.

mock_provider "aws" {
  override_during = plan

  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
      arn        = "arn:aws:iam::123456789012:user/ci"
      user_id    = "AIDAEXAMPLE"
    }
  }

  mock_data "aws_region" {
    defaults = {
      name = "us-east-1"
      id   = "us-east-1"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition  = "aws"
      dns_suffix = "amazonaws.com"
    }
  }

  mock_data "aws_ssm_parameter" {
    defaults = {
      value = "ami-0123456789abcdef0"
      type  = "String"
    }
  }

  mock_data "aws_elb_service_account" {
    defaults = {
      arn = "arn:aws:iam::127311923021:root"
    }
  }

  mock_data "aws_secretsmanager_random_password" {
    defaults = {
      random_password = "mockedRedisAuthToken0123456789abcdef"
    }
  }
  # Computed attributes the assertions look through (mock defaults are known at plan).
  mock_resource "aws_secretsmanager_secret" {
    defaults = {
      arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:narcis-prod/mock-AbCdEf"
    }
  }

  mock_resource "aws_ecr_repository" {
    defaults = {
      arn            = "arn:aws:ecr:us-east-1:123456789012:repository/narcis-prod-mock"
      repository_url = "123456789012.dkr.ecr.us-east-1.amazonaws.com/narcis-prod-mock"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/narcis-prod-mock"
    }
  }

  mock_resource "aws_kms_key" {
    defaults = {
      arn    = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
      key_id = "00000000-0000-0000-0000-000000000000"
    }
  }

  mock_resource "aws_ecs_cluster" {
    defaults = {
      arn = "arn:aws:ecs:us-east-1:123456789012:cluster/narcis-prod"
    }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:us-east-1:123456789012:log-group:/narcis/mock"
    }
  }
}

variables {
  domain_name     = "narcis.example.com"
  certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
}

run "worker_gpu_capacity" {
  command = plan

  assert {
    condition     = contains(module.worker.capacity_provider_strategy, { capacity_provider = "narcis-prod-g6", base = 1, weight = 3 })
    error_message = "worker strategy must hold g6 (on-demand) with base 1, weight 3"
  }
  assert {
    condition     = contains(module.worker.capacity_provider_strategy, { capacity_provider = "narcis-prod-g5", base = 0, weight = 2 })
    error_message = "worker strategy must hold g5 (spot) with weight 2"
  }
  assert {
    condition     = contains(module.worker.capacity_provider_strategy, { capacity_provider = "narcis-prod-g4dn", base = 0, weight = 1 })
    error_message = "worker strategy must hold g4dn (spot) with weight 1"
  }
  assert {
    condition     = length(module.worker.capacity_provider_strategy) == 3
    error_message = "worker runs on exactly the three GPU capacity providers"
  }
  assert {
    condition = alltrue([
      for tier in ["g5", "g4dn"] :
      one(one(module.cluster.autoscaling_groups[tier].mixed_instances_policy).instances_distribution).on_demand_percentage_above_base_capacity == 0
    ])
    error_message = "g5 and g4dn groups must be 100% spot"
  }
  assert {
    condition     = one(one(module.cluster.autoscaling_groups["g6"].mixed_instances_policy).instances_distribution).on_demand_percentage_above_base_capacity == 100
    error_message = "g6 group must be on-demand"
  }
  assert {
    condition     = module.cluster.autoscaling_groups["g5"].capacity_rebalance && module.cluster.autoscaling_groups["g4dn"].capacity_rebalance
    error_message = "spot groups rebalance capacity"
  }
  assert {
    condition = alltrue([
      for tier in ["g5", "g4dn"] :
      strcontains(module.cluster.launch_template_user_data[tier], "ECS_ENABLE_SPOT_INSTANCE_DRAINING=true")
    ])
    error_message = "spot groups must enable ECS spot instance draining"
  }
  assert {
    condition = alltrue([
      for ud in values(module.cluster.launch_template_user_data) :
      strcontains(ud, "ECS_CLUSTER=narcis-prod\n") && strcontains(ud, "ECS_ENABLE_GPU_SUPPORT=true")
    ])
    error_message = "every GPU instance joins narcis-prod with GPU support"
  }
  assert {
    condition = alltrue([
      for ud in values(module.cluster.launch_template_user_data) :
      strcontains(ud, "s3://narcis-prod-models/models/") && strcontains(ud, "/models")
    ])
    error_message = "instances sync the models bucket to /models at boot"
  }
  assert {
    condition = alltrue([
      for cp in values(module.cluster.capacity_providers) :
      one(cp.auto_scaling_group_provider).managed_termination_protection == "ENABLED" &&
      one(cp.auto_scaling_group_provider).managed_draining == "ENABLED" &&
      one(one(cp.auto_scaling_group_provider).managed_scaling).status == "ENABLED" &&
      one(one(cp.auto_scaling_group_provider).managed_scaling).target_capacity == 100
    ])
    error_message = "capacity providers: managed scaling (100), termination protection and draining enabled"
  }
  assert {
    condition = alltrue([
      for asg in values(module.cluster.autoscaling_groups) : asg.protect_from_scale_in && asg.min_size == 0
    ])
    error_message = "ASGs are protected from scale-in and may reach zero"
  }
  assert {
    condition     = contains(module.cluster.cluster_capacity_providers, "FARGATE") && length(module.cluster.cluster_capacity_providers) == 4
    error_message = "the cluster lists FARGATE and the three GPU providers"
  }
  assert {
    condition     = alltrue([for m in values(module.cluster.launch_template_metadata_options) : m.http_tokens == "required"])
    error_message = "IMDSv2 must be required"
  }
}

run "worker_task_definition" {
  command = plan

  assert {
    condition     = one(module.worker.container_definitions).resourceRequirements == [{ type = "GPU", value = "1" }]
    error_message = "worker reserves exactly one GPU"
  }
  assert {
    condition     = one(module.worker.container_definitions).stopTimeout == 120
    error_message = "worker stopTimeout must be 120 s (deadline 110 s + margin; a spot notice gives 2 minutes)"
  }
  assert {
    condition = one(module.worker.container_definitions).healthCheck == {
      command     = ["CMD-SHELL", "test -f /tmp/narcis-worker-ready"]
      interval    = 30
      timeout     = 5
      retries     = 10
      startPeriod = 300
    }
    error_message = "worker is healthy only once warm: its ready file, start period 300 s (ECS's maximum) then 10 x 30 s"
  }
  assert {
    condition = contains(one(module.worker.container_definitions).environment,
    { name = "NARCIS_WORKER_READY_FILE", value = "/tmp/narcis-worker-ready" })
    error_message = "the worker writes the file its health check reads"
  }
  assert {
    condition     = module.worker.service.deployment_minimum_healthy_percent == 100 && module.worker.service.deployment_maximum_percent == 200
    error_message = "a worker deploy never drops below the running capacity: new beside old (200%), old stop once new are healthy (100%)"
  }
  assert {
    condition = alltrue([
      for cp in values(module.cluster.capacity_providers) :
      one(one(cp.auto_scaling_group_provider).managed_scaling).maximum_scaling_step_size == 10
    ])
    error_message = "one managed scale-out may add up to 10 GPU instances"
  }
  assert {
    condition = one(module.worker.container_definitions).mountPoints == [
      { sourceVolume = "models", containerPath = "/models", readOnly = true },
      { sourceVolume = "inductor-cache", containerPath = "/cache/inductor", readOnly = false },
    ]
    error_message = "worker mounts the host /models read-only and the compiled-kernel cache read-write"
  }

  assert {
    condition = contains(one(module.worker.container_definitions).environment,
    { name = "TORCHINDUCTOR_CACHE_DIR", value = "/cache/inductor" })
    error_message = "worker keeps compiled kernels on the instance's cache volume"
  }
  assert {
    condition = contains(one(module.worker.container_definitions).environment, { name = "NARCIS_WORKER_BATCH", value = "0" }) && contains(
    one(module.worker.container_definitions).environment, { name = "NARCIS_MODELS_DIR", value = "/models" })
    error_message = "worker sizes its own batch (0) and reads models from /models"
  }
  assert {
    condition     = one(module.worker.container_definitions).command == ["python", "manage.py", "run_worker"]
    error_message = "worker command"
  }
}

run "load_balancer" {
  command = plan

  assert {
    condition     = module.load_balancer.target_group_health_check.path == "/health"
    error_message = "health check path must be /health"
  }
  assert {
    condition     = module.load_balancer.target_group_health_check.interval == 5 && module.load_balancer.target_group_health_check.timeout <= 4
    error_message = "health check every 5 s with a timeout of at most 4 s"
  }
  assert {
    condition     = module.load_balancer.target_group_health_check.healthy_threshold == 2 && module.load_balancer.target_group_health_check.unhealthy_threshold == 2
    error_message = "health check thresholds 2/2"
  }
  assert {
    condition = (
      module.load_balancer.http_listener_default_action.type == "redirect" &&
      one(module.load_balancer.http_listener_default_action.redirect).protocol == "HTTPS" &&
      one(module.load_balancer.http_listener_default_action.redirect).status_code == "HTTP_301"
    )
    error_message = "HTTP must redirect to HTTPS with a 301"
  }
  assert {
    condition     = module.load_balancer.alb_idle_timeout >= 3600
    error_message = "ALB idle timeout must allow long websockets (>= 3600 s)"
  }
}

run "worker_autoscaling" {
  command = plan

  assert {
    condition     = aws_appautoscaling_target.worker[0].min_capacity >= 1
    error_message = "worker autoscaling minimum must be at least 1"
  }
  assert {
    condition = [
      for m in one(one(aws_appautoscaling_policy.worker_backlog[0].target_tracking_scaling_policy_configuration).customized_metric_specification).metrics :
      "${one(one(m.metric_stat).metric).namespace}/${one(one(m.metric_stat).metric).metric_name}" if m.id == "m1"
    ] == ["Narcis/Queue/QueuedJobs"]
    error_message = "m1 must be Narcis/Queue QueuedJobs"
  }
  assert {
    condition = [
      for m in one(one(aws_appautoscaling_policy.worker_backlog[0].target_tracking_scaling_policy_configuration).customized_metric_specification).metrics :
      "${one(one(m.metric_stat).metric).namespace}/${one(one(m.metric_stat).metric).metric_name}" if m.id == "m2"
    ] == ["ECS/ContainerInsights/RunningTaskCount"]
    error_message = "m2 must be the worker's running task count"
  }
  assert {
    condition = [
      for m in one(one(aws_appautoscaling_policy.worker_backlog[0].target_tracking_scaling_policy_configuration).customized_metric_specification).metrics :
      m.id if m.return_data
    ] == ["e1"]
    error_message = "only the expression returns data"
  }
  assert {
    condition = [
      for m in one(one(aws_appautoscaling_policy.worker_backlog[0].target_tracking_scaling_policy_configuration).customized_metric_specification).metrics :
      startswith(replace(m.expression, " ", ""), "m1/") && strcontains(m.expression, "m2") if m.id == "e1"
    ] == [true]
    error_message = "the expression divides queued jobs (m1) by running tasks (m2)"
  }
  assert {
    condition = (
      one(aws_appautoscaling_policy.worker_backlog[0].target_tracking_scaling_policy_configuration).scale_in_cooldown >
      one(aws_appautoscaling_policy.worker_backlog[0].target_tracking_scaling_policy_configuration).scale_out_cooldown
    )
    error_message = "scale in more slowly than out"
  }
}

run "buckets_private" {
  command = plan

  assert {
    condition = alltrue([
      for pab in concat(values(module.storage.public_access_blocks), [module.load_balancer.public_access_block]) :
      pab.block_public_acls && pab.block_public_policy && pab.ignore_public_acls && pab.restrict_public_buckets
    ])
    error_message = "every bucket blocks all public access"
  }
  assert {
    condition     = length(module.storage.public_access_blocks) == 3
    error_message = "media, models and logs buckets each have a public access block"
  }
  assert {
    condition = [
      for r in module.storage.media_lifecycle_rules :
      "${one(r.filter).prefix}:${one(r.noncurrent_version_expiration).noncurrent_days}" if r.id == "faces-noncurrent"
    ] == ["faces/:1"]
    error_message = "deleted selfies (noncurrent faces/ versions) must expire after 1 day"
  }
}

run "secrets_never_plain" {
  command = plan

  assert {
    condition = alltrue(flatten([
      for svc in [module.web, module.worker, module.bot, module.metrics, module.webhooks] : [
        for c in svc.container_definitions : [
          for e in c.environment : length(regexall("(SECRET|PASSWORD|TOKEN|DATABASE_URL|REDIS_URL|API_KEY)", upper(e.name))) == 0
        ]
      ]
    ]))
    error_message = "no secret-looking name in any container's plain environment"
  }
  assert {
    condition = alltrue(flatten([
      for name, svc in { web = module.web, worker = module.worker, bot = module.bot, metrics = module.metrics, webhooks = module.webhooks } : [
        for c in svc.container_definitions :
        length(setsubtract(name == "webhooks" ? ["DATABASE_URL", "SECRET_KEY"] : ["DATABASE_URL", "REDIS_URL", "SECRET_KEY"], [for s in c.secrets : s.name])) == 0 &&
        alltrue([for s in c.secrets : startswith(s.valueFrom, "arn:aws:secretsmanager:")])
      ]
    ]))
    error_message = "SECRET_KEY, DATABASE_URL and (but for webhooks) REDIS_URL come from Secrets Manager (valueFrom ARNs)"
  }
  assert {
    condition     = contains([for s in one(module.bot.container_definitions).secrets : s.name], "DISCORD_BOT_TOKEN")
    error_message = "the bot gets DISCORD_BOT_TOKEN as a secret"
  }
}

run "data_stores" {
  command = plan

  assert {
    condition     = module.database.instance.multi_az
    error_message = "RDS must be Multi-AZ"
  }
  assert {
    condition     = module.database.instance.storage_encrypted
    error_message = "RDS storage must be encrypted"
  }
  assert {
    condition     = !module.database.instance.publicly_accessible
    error_message = "RDS must not be public"
  }
  assert {
    condition     = module.cache.replication_group.transit_encryption_enabled && module.cache.replication_group.at_rest_encryption_enabled
    error_message = "Redis must encrypt in transit and at rest"
  }
}

run "logs_and_outputs" {
  command = plan

  assert {
    condition     = alltrue([for svc in [module.web, module.worker, module.bot, module.metrics, module.webhooks] : svc.log_retention_days == 30])
    error_message = "app log groups keep 30 days"
  }
  assert {
    condition     = output.service_names == { web = "narcis-prod-web", worker = "narcis-prod-worker", bot = "narcis-prod-bot", metrics = "narcis-prod-metrics", webhooks = "narcis-prod-webhooks" }
    error_message = "service names"
  }
  assert {
    condition     = output.worker_batch_by_tier.g4dn.batch == 1 && output.worker_batch_by_tier.g5.batch == 2 && output.worker_batch_by_tier.g6.batch == 2
    error_message = "worker batch per tier (T4 1, A10G 2, L4 2)"
  }
}

run "iam_policies_iam_accepts" {
  command = plan

  assert {
    condition     = alltrue([for k, statements in local.task_policies : length(statements) > 0 || !contains(keys(aws_iam_role_policy.task), k)])
    error_message = "IAM refuses a policy with no statement (MalformedPolicyDocument): a role with nothing to allow gets no policy"
  }
  assert {
    condition     = contains(keys(aws_iam_role.task), "webhooks") && !contains(keys(aws_iam_role_policy.task), "webhooks")
    error_message = "the webhooks task role exists and carries no inline policy (it needs no AWS API)"
  }
}

run "scheduled_tasks_named_for_the_deploy" {
  command = plan

  # The pinned revision itself is checked after the apply against moto (apply_on_moto.py).
  assert {
    condition     = length(output.scheduled_task_schedule_names) == 2
    error_message = "the deploy reads the schedules' names from scheduled_task_schedule_names"
  }
}

run "redis_secret_follows_the_token" {
  command = plan

  assert {
    condition     = module.cache.replication_group.auth_token_update_strategy == "ROTATE"
    error_message = "a new AUTH token is accepted beside the old one while clients move"
  }
}

run "emulator_skips_only_known_types" {
  command = plan

  variables {
    emulator_skips = ["aws_lb"]
  }
  expect_failures = [var.emulator_skips]
}

run "webhooks_isolated" {
  command = plan

  assert {
    condition     = contains(module.database.allowed_from, "webhooks") && !contains(module.cache.allowed_from, "webhooks")
    error_message = "the database admits the webhooks' group; Redis does not"
  }
  assert {
    condition = (
      aws_vpc_security_group_egress_rule.webhooks_https.from_port == 443 &&
      aws_vpc_security_group_egress_rule.webhooks_database.from_port == 5432 &&
      length([for k, r in aws_vpc_security_group_egress_rule.app : k if startswith(k, "webhooks")]) == 0
    )
    error_message = "webhooks may reach HTTPS and the database only (no Redis, no VPC-wide rules)"
  }
  assert {
    condition     = !contains([for s in one(module.webhooks.container_definitions).secrets : s.name], "REDIS_URL")
    error_message = "webhooks get no REDIS_URL: their group cannot reach Redis"
  }
}

run "no_service_connect" {
  command = plan

  assert {
    condition     = alltrue([for svc in [module.web, module.worker, module.bot, module.metrics, module.webhooks] : length(svc.service.service_connect_configuration) == 0])
    error_message = "no Service Connect: no service calls another, so its proxy would only cost every task"
  }
}
