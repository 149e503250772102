# ElastiCache Redis: 2 nodes, automatic failover, Multi-AZ, TLS + AUTH, encrypted
# at rest. The AUTH token comes from Secrets Manager's password generator (a data
# source, so it does live in the state: keep the state bucket encrypted and
# private). It is generated afresh on every plan, so the group ignores later
# changes and the REDIS_URL secret is written (write-only) once; to rotate, see README.

terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

data "aws_secretsmanager_random_password" "auth" {
  password_length     = 48
  exclude_punctuation = true # AUTH tokens forbid @ " / and must stay URL-safe
}

resource "aws_elasticache_subnet_group" "this" {
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
  replication_group_id       = var.name
  description                = "Narcis queue/cache/channels Redis"
  engine                     = "redis"
  engine_version             = var.engine_version
  node_type                  = var.node_type
  num_cache_clusters         = 2
  port                       = 6379
  automatic_failover_enabled = true
  multi_az_enabled           = true
  subnet_group_name          = aws_elasticache_subnet_group.this.name
  security_group_ids         = [aws_security_group.redis.id]

  at_rest_encryption_enabled = true
  kms_key_id                 = var.kms_key_arn
  transit_encryption_enabled = true
  auth_token                 = data.aws_secretsmanager_random_password.auth.random_password

  snapshot_retention_limit   = 3
  snapshot_window            = "01:00-02:00"
  maintenance_window         = "sun:04:30-sun:05:30"
  auto_minor_version_upgrade = true
  apply_immediately          = false

  lifecycle {
    ignore_changes = [auth_token]
  }
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
  # Write-only and written once, with the token the group was created with. Never
  # bump the version: the generator's next value would not match the group's token.
  # Rotation is done outside Terraform (README).
  secret_string_wo = format(
    "rediss://:%s@%s:6379/0",
    data.aws_secretsmanager_random_password.auth.random_password,
    aws_elasticache_replication_group.this.primary_endpoint_address,
  )
  secret_string_wo_version = 1
}
