variable "name" {
  type = string
}

variable "vpc_id" {
  type = string
}

variable "vpc_cidr_block" {
  type = string
}

variable "public_subnet_ids" {
  type = list(string)
}

variable "certificate_arn" {
  description = "ACM certificate ARN for the HTTPS listener (same region as the ALB)."
  type        = string
}

variable "ssl_policy" {
  description = "TLS 1.3 + 1.2 only, forward secrecy."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "idle_timeout" {
  description = "Seconds; long so websockets are not cut every minute (the app reconnects anyway)."
  type        = number
  default     = 3600
}

variable "target_port" {
  type    = number
  default = 8000
}

variable "health_check_path" {
  type    = string
  default = "/health"
}

variable "deregistration_delay" {
  type    = number
  default = 30
}

variable "deletion_protection" {
  type    = bool
  default = true
}

variable "log_retention_days" {
  description = "ALB access-log bucket lifecycle."
  type        = number
  default     = 7
}

variable "access_log_bucket_name" {
  description = "Bucket that receives the S3 server access logs of the ALB log bucket."
  type        = string
}

variable "logs_kms_key_arn" {
  description = "KMS key for the WAF log group."
  type        = string
}

variable "waf_rate_limit" {
  description = "Requests per IP per 5 minutes before the WAF blocks."
  type        = number
  default     = 2000
}

variable "access_logging" {
  description = "S3 server access logs of the ALB log bucket; false only for an emulator that lacks them."
  type        = bool
  default     = true
}
