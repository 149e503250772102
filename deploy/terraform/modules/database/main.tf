# RDS PostgreSQL 16, Multi-AZ, encrypted, private.
#
# Master password: the only provider in the mirror is aws, so there is no
# random_password; Secrets Manager's generator (data "aws_secretsmanager_random_password")
# makes it. It reaches RDS and the DATABASE_URL secret only through write-only
# arguments (password_wo, secret_string_wo), sent when var.password_version changes,
# so both always get the same value in the same apply. The data source yields a new
# value on every plan and that throw-away value is what sits in the state, not the
# live password after the next plan. (The ephemeral resource of the same name
# would keep it out of the state entirely, but `terraform test` mocks cannot
# serve ephemeral resources yet.) Bump var.password_version to rotate.

terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

data "aws_secretsmanager_random_password" "master" {
  password_length     = 40
  exclude_punctuation = true # URL-safe inside DATABASE_URL
}

resource "aws_db_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.subnet_ids
}

resource "aws_security_group" "db" {
  name        = "${var.name}-db"
  description = "PostgreSQL, reachable only from the app security groups"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "db" {
  for_each                     = var.allowed_security_group_ids
  security_group_id            = aws_security_group.db.id
  description                  = "PostgreSQL from ${each.key}"
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

resource "aws_db_parameter_group" "this" {
  name   = "${var.name}-pg16"
  family = "postgres16"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }

  parameter {
    name  = "log_statement"
    value = "ddl"
  }

  parameter {
    name  = "log_connections"
    value = "1"
  }
}

resource "aws_iam_role" "monitoring" {
  name = "${var.name}-rds-monitoring"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "monitoring.rds.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_db_instance" "this" {
  identifier     = var.name
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.instance_class

  db_name             = var.database_name
  username            = var.username
  password_wo         = data.aws_secretsmanager_random_password.master.random_password
  password_wo_version = var.password_version

  allocated_storage     = var.allocated_storage_gb
  max_allocated_storage = var.max_allocated_storage_gb
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = var.kms_key_arn

  multi_az               = true
  publicly_accessible    = false
  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.db.id]
  parameter_group_name   = aws_db_parameter_group.this.name
  port                   = 5432

  iam_database_authentication_enabled = var.iam_database_authentication_enabled
  deletion_protection                 = var.deletion_protection
  skip_final_snapshot                 = false
  final_snapshot_identifier           = "${var.name}-final"
  copy_tags_to_snapshot               = true
  backup_retention_period             = var.backup_retention_days
  backup_window                       = "02:00-03:00"
  maintenance_window                  = "sun:03:30-sun:04:30"
  auto_minor_version_upgrade          = true
  apply_immediately                   = false

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = var.kms_key_arn
  performance_insights_retention_period = 7
  monitoring_interval                   = 60
  monitoring_role_arn                   = aws_iam_role.monitoring.arn
  enabled_cloudwatch_logs_exports       = ["postgresql", "upgrade"]
}

resource "aws_secretsmanager_secret" "database_url" {
  #checkov:skip=CKV2_AWS_57:rotation is manual (bump password_version); a rotation Lambda would have to rewrite the whole URL
  name                    = "${var.name}/DATABASE_URL"
  description             = "postgres:// URL for the Narcis app (sslmode=require)"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "database_url" {
  secret_id = aws_secretsmanager_secret.database_url.id
  secret_string_wo = format(
    "postgres://%s:%s@%s:%d/%s?sslmode=require",
    var.username,
    data.aws_secretsmanager_random_password.master.random_password,
    aws_db_instance.this.address,
    5432,
    var.database_name,
  )
  secret_string_wo_version = var.password_version
}
