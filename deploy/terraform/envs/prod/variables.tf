variable "region" {
  description = "AWS region (g4dn, g5 and g6 must all be offered there)."
  type        = string
  default     = "us-east-1"
}

variable "availability_zones" {
  description = "Three AZs of var.region that offer the GPU instance types."
  type        = list(string)
  default     = ["us-east-1a", "us-east-1b", "us-east-1c"]
}

variable "environment" {
  description = "NARCIS_ENVIRONMENT and the Environment dimension of the queue metrics."
  type        = string
  default     = "prod"
}

variable "name_prefix" {
  description = "Prefix of every name (cluster, services, families, buckets...)."
  type        = string
  default     = "narcis-prod"
}

variable "bucket_prefix" {
  description = "Prefix of the S3 bucket names, which are global: set something unique if narcis-prod is taken."
  type        = string
  default     = "narcis-prod"
}

variable "domain_name" {
  description = "Public host name of the site (ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS). Point its DNS at alb_dns_name."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate ARN covering domain_name, in var.region."
  type        = string
}

variable "nat_gateway_per_az" {
  description = "One NAT gateway per AZ (true, default: survives an AZ outage) or a single shared one (false, cheaper)."
  type        = bool
  default     = true
}

variable "web_image_tag" {
  description = "Tag of the narcis-prod-web image for the revision Terraform registers (tags are immutable; the deploy Makefile rolls out newer revisions)."
  type        = string
  default     = "initial"
}

variable "worker_image_tag" {
  description = "Tag of the narcis-prod-worker image for the revision Terraform registers."
  type        = string
  default     = "initial"
}

variable "web_desired_count" {
  type    = number
  default = 2
}

variable "worker_min_count" {
  description = "Never below 1: the backlog-per-task metric needs a running task, and a job should never wait for a cold GPU instance."
  type        = number
  default     = 1

  validation {
    condition     = var.worker_min_count >= 1
    error_message = "worker_min_count must be at least 1."
  }
}

variable "worker_max_count" {
  type    = number
  default = 12
}

variable "worker_target_jobs_per_task" {
  description = "Target backlog per worker task: queued jobs one worker clears within an acceptable wait."
  type        = number
  default     = 8
}

variable "alarm_email" {
  description = "Optional e-mail subscribed to the alarm topic."
  type        = string
  default     = null
}

variable "enable_mecene_llm" {
  description = "Create the MECENE_LLM_API_KEY secret and hand it to the app containers (fill its value before deploying)."
  type        = bool
  default     = false
}

variable "db_password_version" {
  description = "Bump to rotate the PostgreSQL master password (RDS and DATABASE_URL change in the same apply)."
  type        = number
  default     = 1
}

variable "secret_key_version" {
  description = "Bump to generate a new Django SECRET_KEY."
  type        = number
  default     = 1
}

variable "log_retention_days" {
  description = "CloudWatch retention of the app log groups."
  type        = number
  default     = 30
}

variable "emulator_skips" {
  description = "Resource types left out of an apply against an AWS API emulator that lacks them (deploy/terraform/apply_on_moto.py). Always empty in AWS."
  type        = set(string)
  default     = []

  validation {
    condition     = alltrue([for t in var.emulator_skips : contains(["aws_appautoscaling_target", "aws_elasticache_replication_group", "aws_elasticache_subnet_group", "aws_s3_bucket_logging"], t)])
    error_message = "emulator_skips may only name aws_appautoscaling_target (with its policy), aws_elasticache_replication_group, aws_elasticache_subnet_group and aws_s3_bucket_logging."
  }
}

variable "redis_auth_token_version" {
  description = "Bump to rotate the Redis AUTH token (the group and REDIS_URL change in the same apply)."
  type        = number
  default     = 1
}

variable "database_deletion_protection" {
  description = "RDS deletion protection. Set false and apply only right before a deliberate destroy."
  type        = bool
  default     = true
}
