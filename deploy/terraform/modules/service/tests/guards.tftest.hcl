# The service module refuses secret-looking plain environment variables and stop
# timeouts ECS would reject; a GPU count becomes resourceRequirements.

mock_provider "aws" {
  override_during = plan

  mock_data "aws_region" {
    defaults = {
      name = "us-east-1"
    }
  }
}

variables {
  name                = "narcis-test-svc"
  cluster_arn         = "arn:aws:ecs:us-east-1:123456789012:cluster/narcis-test"
  container_name      = "app"
  image               = "123456789012.dkr.ecr.us-east-1.amazonaws.com/narcis-test:1"
  cpu                 = 256
  memory              = 512
  ecr_repository_arns = ["arn:aws:ecr:us-east-1:123456789012:repository/narcis-test"]
  task_role_arn       = "arn:aws:iam::123456789012:role/narcis-test-task"
  logs_kms_key_arn    = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
  subnet_ids          = ["subnet-0123456789abcdef0"]
  security_group_ids  = ["sg-0123456789abcdef0"]
}

run "secret_in_environment_is_refused" {
  command = plan

  variables {
    environment = { DATABASE_URL = "postgres://user:pass@db/narcis" }
  }

  expect_failures = [var.environment]
}

run "token_in_environment_is_refused" {
  command = plan

  variables {
    environment = { DISCORD_BOT_TOKEN = "abc" }
  }

  expect_failures = [var.environment]
}

run "stop_timeout_above_fargate_maximum_is_refused" {
  command = plan

  variables {
    stop_timeout = 121
  }

  expect_failures = [var.stop_timeout]
}

run "health_check_beyond_ecs_limits_is_refused" {
  command = plan

  variables {
    health_check = { command = ["CMD-SHELL", "true"], interval = 30, timeout = 5, retries = 10, start_period = 600 }
  }

  expect_failures = [var.health_check]
}

run "gpu_becomes_resource_requirement" {
  command = plan

  variables {
    launch_type = "EC2"
    gpu_count   = 1
    capacity_provider_strategy = [
      { capacity_provider = "narcis-test-g6", base = 1, weight = 1 },
    ]
  }

  assert {
    condition     = one(output.container_definitions).resourceRequirements == [{ type = "GPU", value = "1" }]
    error_message = "gpu_count = 1 must reserve one GPU"
  }
  assert {
    condition     = !contains(keys(one(output.container_definitions)), "command")
    error_message = "no command key when command is null (the image default runs)"
  }
}
