variable "name" {
  type = string
}

variable "vpc_id" {
  type = string
}

variable "subnet_ids" {
  type = list(string)
}

variable "allowed_security_group_ids" {
  description = "label => security group id allowed to connect (static labels, so for_each works before the groups exist)."
  type        = map(string)
}

variable "kms_key_arn" {
  description = "KMS key for storage, Performance Insights and the DATABASE_URL secret."
  type        = string
}

variable "engine_version" {
  type    = string
  default = "16"
}

variable "instance_class" {
  type    = string
  default = "db.m7g.large"
}

variable "allocated_storage_gb" {
  type    = number
  default = 50
}

variable "max_allocated_storage_gb" {
  type    = number
  default = 500
}

variable "database_name" {
  type    = string
  default = "narcis"
}

variable "username" {
  type    = string
  default = "narcis"
}

variable "password_version" {
  description = "Bump to generate a new master password (RDS and DATABASE_URL change together)."
  type        = number
  default     = 1
}

variable "backup_retention_days" {
  type    = number
  default = 14
}

variable "iam_database_authentication_enabled" {
  type    = bool
  default = true
}

variable "deletion_protection" {
  description = "Refuse to delete the instance; turn off (apply) only right before a deliberate destroy."
  type        = bool
  default     = true
}
