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
  description = "label => security group id allowed to connect."
  type        = map(string)
}

variable "kms_key_arn" {
  type = string
}

variable "engine_version" {
  type    = string
  default = "7.1"
}

variable "node_type" {
  type    = string
  default = "cache.m7g.large"
}

variable "auth_token_version" {
  description = "Bump to rotate the Redis AUTH token: the group and the REDIS_URL secret change in the same apply."
  type        = number
  default     = 1
}

variable "create_replication_group" {
  description = "false only for an AWS API emulator that lacks replication groups (REDIS_URL then names no real host)."
  type        = bool
  default     = true
}

variable "create_subnet_group" {
  description = "false only for an AWS API emulator that cannot delete subnet groups; the replication group needs it."
  type        = bool
  default     = true

  validation {
    condition     = var.create_subnet_group || !var.create_replication_group
    error_message = "The replication group needs its subnet group: create_subnet_group = false requires create_replication_group = false."
  }
}
