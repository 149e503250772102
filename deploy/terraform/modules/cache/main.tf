# ElastiCache Redis: 2 nodes, automatic failover, Multi-AZ, TLS + AUTH, encrypted
# at rest. The AUTH token comes from Secrets Manager's password generator and is
# kept (in the state: keep the state bucket encrypted and private) until
# auth_token_version changes. The REDIS_URL secret is rewritten whenever the group
# changes, so a rotated token or a replaced group never leaves it stale.

terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

data "aws_secretsmanager_random_password" "auth" {
  password_length     = 48
  exclude_punctuation = true # AUTH tokens forbid @ " / and must stay URL-safe
}

# The generator answers anew on every plan: the first answer is kept until the version changes.
resource "terraform_data" "auth_token" {
  input            = data.aws_secretsmanager_random_password.auth.random_password
  triggers_replace = var.auth_token_version

  lifecycle {
    ignore_changes = [input]
  }
}

resource "aws_elasticache_subnet_group" "this" {
  count      = var.create_subnet_group ? 1 : 0
  name       = var.name
  subnet_ids = var.subnet_ids
}

resource "aws_security_group" "redis" {
  name        = "${var.name}-redis"
  description = "Redis, reachable only from the app security groups"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "redis" {
  for_each                     = var.allowed_security_group_ids
  security_group_id            = aws_security_group.redis.id
  description                  = "Redis from ${each.key}"
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
}

resource "aws_elasticache_replication_group" "this" {
  count                      = var.create_replication_group ? 1 : 0
  replication_group_id       = var.name
  description                = "Narcis queue/cache/channels Redis"
  engine                     = "redis"
  engine_version             = var.engine_version
  node_type                  = var.node_type
  num_cache_clusters         = 2
  port                       = 6379
  automatic_failover_enabled = true
  multi_az_enabled           = true
  subnet_group_name          = aws_elasticache_subnet_group.this[0].name
  security_group_ids         = [aws_security_group.redis.id]

  at_rest_encryption_enabled = true
  kms_key_id                 = var.kms_key_arn
  transit_encryption_enabled = true
  auth_token                 = terraform_data.auth_token.output
  # A new token is accepted beside the old one, so connected clients survive the rotation.
  auth_token_update_strategy = "ROTATE"

  snapshot_retention_limit   = 3
  snapshot_window            = "01:00-02:00"
  maintenance_window         = "sun:04:30-sun:05:30"
  auto_minor_version_upgrade = true
  apply_immediately          = false
}

locals {
  primary_endpoint = var.create_replication_group ? aws_elasticache_replication_group.this[0].primary_endpoint_address : "replication-group-left-out.invalid"
}

# What REDIS_URL is made of. A write-only value never shows in a plan, so a change of either part
# replaces this, and through it the secret's version below.
resource "terraform_data" "redis_url_parts" {
  triggers_replace = [terraform_data.auth_token.id, local.primary_endpoint]
}

resource "aws_secretsmanager_secret" "redis_url" {
  #checkov:skip=CKV2_AWS_57:AUTH token rotation is a planned, manual operation (README)
  name                    = "${var.name}/REDIS_URL"
  description             = "rediss:// URL for the Narcis app"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "redis_url" {
  secret_id = aws_secretsmanager_secret.redis_url.id
  # Write-only (never in the state). Replaced, hence written again, whenever the token
  # or the group's address changes: the secret always holds what the group accepts.
  secret_string_wo = format(
    "rediss://:%s@%s:6379/0",
    terraform_data.auth_token.output,
    local.primary_endpoint,
  )
  secret_string_wo_version = 1

  lifecycle {
    replace_triggered_by = [terraform_data.redis_url_parts]
  }
}
