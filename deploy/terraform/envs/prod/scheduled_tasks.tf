# Daily housekeeping as one-off tasks of the web task definition, started by
# EventBridge Scheduler with a command override. Always a pinned revision, never the
# family's latest ACTIVE one (which can be a revision whose migration failed):
# Terraform's own at first, then each release's (deploy/ecs-deploy.sh deploy-all).

locals {
  scheduled_tasks = {
    sweep-faces          = { command = ["python", "manage.py", "sweep_faces"], cron = "cron(0 3 * * ? *)" }
    purge-guest-sessions = { command = ["python", "manage.py", "purge_guest_sessions"], cron = "cron(30 3 * * ? *)" }
  }
}

resource "aws_iam_role" "scheduler" {
  name = "${local.name}-scheduler"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "scheduler.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

resource "aws_iam_role_policy" "scheduler" {
  name = "run-web-task"
  role = aws_iam_role.scheduler.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect    = "Allow"
        Action    = ["ecs:RunTask"]
        Resource  = ["${module.web.task_definition_arn_without_revision}:*", module.web.task_definition_arn_without_revision]
        Condition = { ArnEquals = { "ecs:cluster" = module.cluster.cluster_arn } }
      },
      {
        Effect   = "Allow"
        Action   = ["ecs:TagResource"]
        Resource = "arn:${data.aws_partition.current.partition}:ecs:${local.region}:${local.account_id}:task/${local.name}/*"
      },
      {
        Effect    = "Allow"
        Action    = ["iam:PassRole"]
        Resource  = [module.web.execution_role_arn, aws_iam_role.task["web"].arn]
        Condition = { StringEquals = { "iam:PassedToService" = "ecs-tasks.amazonaws.com" } }
      },
      {
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = local.kms.secrets
      },
    ]
  })
}

resource "aws_scheduler_schedule" "task" {
  for_each                     = local.scheduled_tasks
  name                         = "${local.name}-${each.key}"
  schedule_expression          = each.value.cron
  schedule_expression_timezone = "UTC"
  kms_key_arn                  = local.kms.secrets

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = module.cluster.cluster_arn
    role_arn = aws_iam_role.scheduler.arn
    input = jsonencode({
      containerOverrides = [{ name = "web", command = each.value.command }]
    })

    ecs_parameters {
      task_definition_arn     = module.web.task_definition_arn
      launch_type             = "FARGATE"
      platform_version        = "LATEST"
      task_count              = 1
      enable_ecs_managed_tags = true
      propagate_tags          = "TASK_DEFINITION"

      network_configuration {
        subnets          = module.network.private_subnet_ids
        security_groups  = [aws_security_group.background.id]
        assign_public_ip = false
      }
    }

    retry_policy {
      maximum_event_age_in_seconds = 3600
      maximum_retry_attempts       = 2
    }
  }

  lifecycle {
    # The released revision belongs to the deploy, as the services' task definitions do.
    ignore_changes = [target[0].ecs_parameters[0].task_definition_arn]
  }
}
