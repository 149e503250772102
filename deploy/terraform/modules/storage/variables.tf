variable "name" {
  description = "Name prefix; buckets are <name>-media, <name>-models, <name>-logs (S3 names are global: pick a unique prefix)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for SSE-KMS on the media and models buckets."
  type        = string
}

variable "access_log_retention_days" {
  type    = number
  default = 90
}

variable "access_logging" {
  description = "S3 server access logs of media and models into the logs bucket; false only for an emulator that lacks them."
  type        = bool
  default     = true
}
