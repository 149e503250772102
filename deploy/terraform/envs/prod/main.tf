# Narcis production: composes the modules. Names start with var.name_prefix
# (narcis-prod); see outputs.tf for what the deploy Makefile reads.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  name       = var.name_prefix
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name

  service_names = {
    web      = "${local.name}-web"
    worker   = "${local.name}-worker"
    bot      = "${local.name}-bot"
    metrics  = "${local.name}-metrics"
    webhooks = "${local.name}-webhooks"
  }

  # GPU tier -> the instance type the tier starts with and the NARCIS_WORKER_BATCH the
  # app picks from that GPU's memory (apps: T4 1, A10G 2, L4 2). The task definition
  # sets NARCIS_WORKER_BATCH=0: the worker reads its GPU memory itself; this map is
  # for people and dashboards.
  gpu_tiers = {
    g6   = { gpu = "NVIDIA L4", instance_type = "g6.xlarge", batch = 2, spot = false }
    g5   = { gpu = "NVIDIA A10G", instance_type = "g5.xlarge", batch = 2, spot = true }
    g4dn = { gpu = "NVIDIA T4", instance_type = "g4dn.xlarge", batch = 1, spot = true }
  }
}

# ------------------------------------------------------------------ KMS keys
# One customer-managed key per purpose, so a grant for one never opens another:
#   media   S3 (media, models) and ECR images
#   secrets Secrets Manager, RDS, ElastiCache and the schedules
#   logs    CloudWatch Logs and the alarm topic
# Principals of this account get each key through IAM (the account-root statement),
# and our roles only with kms:ViaService = the one service that uses it for them.
# CloudWatch Logs and CloudWatch alarms (publishing to the encrypted topic) act as
# services and get their own statements on the logs key.
locals {
  kms_purposes = {
    media   = "S3 media and models buckets, ECR images"
    secrets = "Secrets Manager, RDS, ElastiCache, EventBridge schedules"
    logs    = "CloudWatch Logs, the alarm topic"
  }
  kms_account_admin = {
    Sid       = "AccountAdmin"
    Effect    = "Allow"
    Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${local.account_id}:root" }
    Action    = "kms:*"
    Resource  = "*"
  }
  kms_logs_services = [
    {
      Sid       = "CloudWatchLogs"
      Effect    = "Allow"
      Principal = { Service = "logs.${local.region}.amazonaws.com" }
      Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
      Resource  = "*"
      Condition = {
        ArnLike = { "kms:EncryptionContext:aws:logs:arn" = "arn:${data.aws_partition.current.partition}:logs:${local.region}:${local.account_id}:*" }
      }
    },
    {
      Sid       = "CloudWatchAlarmsToSns"
      Effect    = "Allow"
      Principal = { Service = "cloudwatch.amazonaws.com" }
      Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
      Resource  = "*"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    },
  ]
  kms = { for purpose, key in aws_kms_key.this : purpose => key.arn }
}

resource "aws_kms_key" "this" {
  for_each                = local.kms_purposes
  description             = "${local.name} ${each.key}: ${each.value}"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = concat([local.kms_account_admin], each.key == "logs" ? local.kms_logs_services : [])
  })
}

resource "aws_kms_alias" "this" {
  for_each      = aws_kms_key.this
  name          = "alias/${local.name}-${each.key}"
  target_key_id = each.value.key_id
}

# ------------------------------------------------------------------- network
module "network" {
  source             = "../../modules/network"
  name               = local.name
  availability_zones = var.availability_zones
  nat_gateway_per_az = var.nat_gateway_per_az
  logs_kms_key_arn   = local.kms.logs
}

# ------------------------------------------------------------------- storage
module "storage" {
  source      = "../../modules/storage"
  name        = var.bucket_prefix
  kms_key_arn = local.kms.media

  access_logging = !contains(var.emulator_skips, "aws_s3_bucket_logging")
}

# ------------------------------------------------------------- load balancer
module "load_balancer" {
  source                 = "../../modules/load_balancer"
  name                   = local.name
  vpc_id                 = module.network.vpc_id
  vpc_cidr_block         = module.network.vpc_cidr_block
  public_subnet_ids      = module.network.public_subnet_ids
  certificate_arn        = var.certificate_arn
  idle_timeout           = 3600
  access_log_bucket_name = module.storage.logs_bucket_name
  logs_kms_key_arn       = local.kms.logs
  access_logging         = !contains(var.emulator_skips, "aws_s3_bucket_logging")
}

# --------------------------------------------------- cluster + GPU capacity
# No Service Connect: no service calls another (they share PostgreSQL, Redis and S3), so
# its proxy would ride in every task for no traffic (docs/operations.md, Topology).
module "cluster" {
  source             = "../../modules/cluster_capacity"
  cluster_name       = local.name
  vpc_id             = module.network.vpc_id
  private_subnet_ids = module.network.private_subnet_ids
  models_bucket_name = module.storage.models_bucket_name
  models_bucket_arn  = module.storage.models_bucket_arn
  models_kms_key_arn = local.kms.media
  capacity_groups = {
    g6   = { instance_types = ["g6.xlarge", "g6.2xlarge"], spot = false, max_size = var.worker_max_count }
    g5   = { instance_types = ["g5.xlarge", "g5.2xlarge"], spot = true, max_size = var.worker_max_count }
    g4dn = { instance_types = ["g4dn.xlarge", "g4dn.2xlarge"], spot = true, max_size = var.worker_max_count }
  }
}

# ----------------------------------------------------------------------- ECR
resource "aws_ecr_repository" "this" {
  for_each             = toset(["web", "worker"])
  name                 = "${local.name}-${each.key}"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = local.kms.media
  }
}

# The build's layer cache (docker buildx --cache-to type=registry): rewritten by every build, so its
# tags are mutable, unlike the images'.
resource "aws_ecr_repository" "build_cache" {
  #checkov:skip=CKV_AWS_51:a layer cache is overwritten on every build (refs :web and :worker); the image repositories stay IMMUTABLE
  name                 = "${local.name}-build-cache"
  image_tag_mutability = "MUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = local.kms.media
  }
}

resource "aws_ecr_lifecycle_policy" "build_cache" {
  repository = aws_ecr_repository.build_cache.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Drop cache layers no ref points at any more"
      selection    = { tagStatus = "untagged", countType = "sinceImagePushed", countUnit = "days", countNumber = 7 }
      action       = { type = "expire" }
    }]
  })
}

resource "aws_ecr_lifecycle_policy" "this" {
  for_each   = aws_ecr_repository.this
  repository = each.value.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the last 30 images"
      selection = {
        tagStatus   = "any"
        countType   = "imageCountMoreThan"
        countNumber = 30
      }
      action = { type = "expire" }
    }]
  })
}

# ------------------------------------------------------------ data stores
module "database" {
  source           = "../../modules/database"
  name             = local.name
  vpc_id           = module.network.vpc_id
  subnet_ids       = module.network.private_subnet_ids
  kms_key_arn      = local.kms.secrets
  password_version = var.db_password_version

  deletion_protection = var.database_deletion_protection
  allowed_security_group_ids = {
    web        = aws_security_group.web.id
    worker     = aws_security_group.worker.id
    background = aws_security_group.background.id
    webhooks   = aws_security_group.webhooks.id
  }
}

module "cache" {
  source                   = "../../modules/cache"
  name                     = local.name
  vpc_id                   = module.network.vpc_id
  subnet_ids               = module.network.private_subnet_ids
  kms_key_arn              = local.kms.secrets
  auth_token_version       = var.redis_auth_token_version
  create_replication_group = !contains(var.emulator_skips, "aws_elasticache_replication_group")
  create_subnet_group      = !contains(var.emulator_skips, "aws_elasticache_subnet_group")
  allowed_security_group_ids = {
    web        = aws_security_group.web.id
    worker     = aws_security_group.worker.id
    background = aws_security_group.background.id
  }
}

# ------------------------------------------------------------ app secrets
# A new value per plan; only sent (write-only) when secret_key_version changes.
data "aws_secretsmanager_random_password" "secret_key" {
  password_length     = 64
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret" "app" {
  #checkov:skip=CKV2_AWS_57:app secrets are rotated by hand (SECRET_KEY via secret_key_version, tokens by their issuers)
  for_each                = toset(concat(["SECRET_KEY", "DISCORD_BOT_TOKEN"], var.enable_mecene_llm ? ["MECENE_LLM_API_KEY"] : []))
  name                    = "${local.name}/${each.key}"
  kms_key_id              = local.kms.secrets
  recovery_window_in_days = 7
}

# SECRET_KEY is generated here and written write-only. DISCORD_BOT_TOKEN and
# MECENE_LLM_API_KEY are filled in by an operator (README) before the first deploy.
resource "aws_secretsmanager_secret_version" "secret_key" {
  secret_id                = aws_secretsmanager_secret.app["SECRET_KEY"].id
  secret_string_wo         = data.aws_secretsmanager_random_password.secret_key.random_password
  secret_string_wo_version = var.secret_key_version
}
