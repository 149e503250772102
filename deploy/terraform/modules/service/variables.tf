variable "name" {
  description = "Service name and task definition family, e.g. narcis-prod-web."
  type        = string
}

variable "cluster_arn" {
  type = string
}

variable "container_name" {
  type = string
}

variable "image" {
  type = string
}

variable "command" {
  description = "Container command; null keeps the image's default."
  type        = list(string)
  default     = null
}

variable "cpu" {
  type = number
}

variable "memory" {
  type = number
}

variable "environment" {
  description = "Plain, non-secret environment variables."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([
      for k in keys(var.environment) :
      length(regexall("(SECRET|PASSWORD|TOKEN|API_KEY|DATABASE_URL|REDIS_URL)", upper(k))) == 0
    ])
    error_message = "Secret-looking variables belong in var.secrets (Secrets Manager valueFrom), not in environment."
  }
}

variable "secrets" {
  description = "Env var name => Secrets Manager secret ARN (injected with valueFrom)."
  type        = map(string)
  default     = {}
}

variable "secrets_kms_key_arn" {
  description = "KMS key that encrypts the secrets."
  type        = string
  default     = null
}

variable "ecr_repository_arns" {
  type = list(string)
}

variable "task_role_arn" {
  type = string
}

variable "logs_kms_key_arn" {
  type = string
}

variable "log_retention_days" {
  type    = number
  default = 30
}

variable "launch_type" {
  description = "FARGATE, or EC2 (then capacity_provider_strategy places the tasks)."
  type        = string
  default     = "FARGATE"

  validation {
    condition     = contains(["FARGATE", "EC2"], var.launch_type)
    error_message = "launch_type must be FARGATE or EC2."
  }
}

variable "capacity_provider_strategy" {
  type = list(object({
    capacity_provider = string
    base              = number
    weight            = number
  }))
  default = []
}

variable "desired_count" {
  type    = number
  default = 1
}

variable "deployment_minimum_healthy_percent" {
  type    = number
  default = 100
}

variable "deployment_maximum_percent" {
  type    = number
  default = 200
}

variable "subnet_ids" {
  type = list(string)
}

variable "security_group_ids" {
  type = list(string)
}

variable "container_port" {
  description = "Port the container serves; null for workers."
  type        = number
  default     = null
}

variable "target_group_arn" {
  type    = string
  default = null
}

variable "health_check_grace_period" {
  type    = number
  default = 60
}


variable "stop_timeout" {
  description = "Seconds between SIGTERM and SIGKILL (Fargate's maximum is 120; EC2 allows more)."
  type        = number
  default     = 30

  validation {
    condition     = var.stop_timeout >= 2 && (var.launch_type == "EC2" || var.stop_timeout <= 120)
    error_message = "stop_timeout must be at least 2 seconds, and at most 120 on Fargate."
  }
}

variable "gpu_count" {
  description = "GPUs reserved per container (resourceRequirements); 0 for none."
  type        = number
  default     = 0
}

variable "host_volumes" {
  description = "Host paths mounted into the container (EC2 only)."
  type = list(object({
    name           = string
    host_path      = string
    container_path = string
    read_only      = bool
  }))
  default = []
}

variable "health_check" {
  description = "Container health check (ECS limits: interval 5-300 s, timeout 2-120 s, retries 1-10, start_period 0-300 s); null for none."
  type = object({
    command      = list(string)
    interval     = number
    timeout      = number
    retries      = number
    start_period = number
  })
  default = null

  validation {
    condition = var.health_check == null ? true : (
      var.health_check.interval >= 5 && var.health_check.interval <= 300 &&
      var.health_check.timeout >= 2 && var.health_check.timeout <= 120 &&
      var.health_check.retries >= 1 && var.health_check.retries <= 10 &&
      var.health_check.start_period >= 0 && var.health_check.start_period <= 300
    )
    error_message = "health_check must stay within ECS's limits: interval 5-300, timeout 2-120, retries 1-10, start_period 0-300."
  }
}
