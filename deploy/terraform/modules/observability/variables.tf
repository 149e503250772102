variable "name" {
  type = string
}

variable "environment" {
  description = "Value of the Environment dimension of the Narcis/Queue metrics (NARCIS_ENVIRONMENT)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for the SNS topic (its policy must let CloudWatch use it)."
  type        = string
}

variable "alarm_email" {
  description = "Optional e-mail address subscribed to the alarm topic (confirm the subscription mail)."
  type        = string
  default     = null
}

variable "cluster_name" {
  type = string
}

variable "worker_service_name" {
  type = string
}

variable "alb_arn_suffix" {
  type = string
}

variable "target_group_arn_suffix" {
  type = string
}

variable "db_instance_identifier" {
  type = string
}

variable "redis_cluster_ids" {
  type = list(string)
}

variable "alb_5xx_threshold" {
  type    = number
  default = 10
}

variable "queue_backlog_threshold" {
  type    = number
  default = 100
}

variable "oldest_queued_age_threshold_seconds" {
  type    = number
  default = 900
}

variable "rds_free_storage_threshold_bytes" {
  type    = number
  default = 10737418240 # 10 GiB
}
