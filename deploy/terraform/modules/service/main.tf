# One ECS service + task definition (family = service name), its log group and its
# execution role. Secrets only ever travel as `secrets` (valueFrom Secrets Manager).

terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

data "aws_region" "current" {}

locals {
  fargate     = var.launch_type == "FARGATE"
  serves_port = var.container_port != null
  port_name   = "http"
  secret_arns = distinct(values(var.secrets))
  has_secrets = length(local.secret_arns) > 0
  requires    = local.fargate ? ["FARGATE"] : ["EC2"]

  container = merge(
    {
      name        = var.container_name
      image       = var.image
      essential   = true
      stopTimeout = var.stop_timeout
      environment = [for k in sort(keys(var.environment)) : { name = k, value = var.environment[k] }]
      secrets     = [for k in sort(keys(var.secrets)) : { name = k, valueFrom = var.secrets[k] }]
      portMappings = local.serves_port ? [{
        name          = local.port_name
        containerPort = var.container_port
        protocol      = "tcp"
        appProtocol   = "http"
      }] : []
      mountPoints = [for m in var.host_volumes : {
        sourceVolume  = m.name
        containerPath = m.container_path
        readOnly      = m.read_only
      }]
      readonlyRootFilesystem = false
      privileged             = false
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.this.name
          awslogs-region        = data.aws_region.current.name
          awslogs-stream-prefix = var.container_name
        }
      }
    },
    { for k, v in { command = var.command } : k => v if v != null },
    var.health_check == null ? {} : {
      healthCheck = {
        command     = var.health_check.command
        interval    = var.health_check.interval
        timeout     = var.health_check.timeout
        retries     = var.health_check.retries
        startPeriod = var.health_check.start_period
      }
    },
    { for k, v in { resourceRequirements = [{ type = "GPU", value = tostring(var.gpu_count) }] } : k => v if var.gpu_count > 0 },
  )
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:application logs are kept var.log_retention_days (30) by policy, not a year
  name              = "/narcis/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
}

# ----------------------------------------------------------- execution role
resource "aws_iam_role" "execution" {
  name = "${var.name}-execution"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "execution" {
  #checkov:skip=CKV_AWS_355:ecr:GetAuthorizationToken has no resource-level permissions; it must be "*"
  #checkov:skip=CKV_AWS_290:the only "*" statement is ecr:GetAuthorizationToken, which cannot be scoped
  name = "pull-log-secrets"
  role = aws_iam_role.execution.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid      = "EcrAuth"
          Effect   = "Allow"
          Action   = ["ecr:GetAuthorizationToken"]
          Resource = "*"
        },
        {
          Sid      = "EcrPull"
          Effect   = "Allow"
          Action   = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
          Resource = var.ecr_repository_arns
        },
        {
          Sid      = "Logs"
          Effect   = "Allow"
          Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
          Resource = "${aws_cloudwatch_log_group.this.arn}:*"
        },
      ],
      slice([
        {
          Sid      = "Secrets"
          Effect   = "Allow"
          Action   = ["secretsmanager:GetSecretValue"]
          Resource = local.secret_arns
        },
        {
          Sid       = "SecretsKms"
          Effect    = "Allow"
          Action    = ["kms:Decrypt"]
          Resource  = var.secrets_kms_key_arn
          Condition = { StringEquals = { "kms:ViaService" = "secretsmanager.${data.aws_region.current.name}.amazonaws.com" } }
        },
      ], 0, local.has_secrets ? 2 : 0),
    )
  })
}

# ---------------------------------------------------------- task definition
resource "aws_ecs_task_definition" "this" {
  #checkov:skip=CKV_AWS_336:the app (Django, torch) writes temporary files; a read-only root filesystem is not supported yet
  family                   = var.name
  requires_compatibilities = local.requires
  network_mode             = "awsvpc"
  cpu                      = tostring(var.cpu)
  memory                   = tostring(var.memory)
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = var.task_role_arn
  container_definitions    = jsonencode([local.container])

  dynamic "runtime_platform" {
    for_each = local.fargate ? [1] : []
    content {
      operating_system_family = "LINUX"
      cpu_architecture        = "X86_64"
    }
  }

  dynamic "volume" {
    for_each = var.host_volumes
    content {
      name      = volume.value.name
      host_path = volume.value.host_path
    }
  }
}

# ------------------------------------------------------------------ service
resource "aws_ecs_service" "this" {
  #checkov:skip=CKV_AWS_332:platform_version is LATEST for every Fargate service; checkov cannot evaluate the EC2/Fargate conditional
  name                               = var.name
  cluster                            = var.cluster_arn
  task_definition                    = aws_ecs_task_definition.this.arn
  desired_count                      = var.desired_count
  launch_type                        = local.fargate && length(var.capacity_provider_strategy) == 0 ? "FARGATE" : null
  platform_version                   = local.fargate ? "LATEST" : null
  deployment_minimum_healthy_percent = var.deployment_minimum_healthy_percent
  deployment_maximum_percent         = var.deployment_maximum_percent
  enable_execute_command             = false
  propagate_tags                     = "SERVICE"
  enable_ecs_managed_tags            = true
  health_check_grace_period_seconds  = var.target_group_arn == null ? null : var.health_check_grace_period
  wait_for_steady_state              = false

  dynamic "capacity_provider_strategy" {
    for_each = var.capacity_provider_strategy
    content {
      capacity_provider = capacity_provider_strategy.value.capacity_provider
      base              = capacity_provider_strategy.value.base
      weight            = capacity_provider_strategy.value.weight
    }
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = var.security_group_ids
    assign_public_ip = false
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  dynamic "load_balancer" {
    for_each = var.target_group_arn == null ? [] : [1]
    content {
      target_group_arn = var.target_group_arn
      container_name   = var.container_name
      container_port   = var.container_port
    }
  }

  lifecycle {
    # Rollouts (new image revisions) belong to the deploy Makefile, scaling to
    # Application Auto Scaling; Terraform registers revisions but does not roll them out.
    ignore_changes = [task_definition, desired_count]
  }
}
