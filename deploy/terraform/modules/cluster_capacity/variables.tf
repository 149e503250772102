variable "cluster_name" {
  type = string
}

variable "vpc_id" {
  type = string
}

variable "private_subnet_ids" {
  type = list(string)
}

variable "models_bucket_name" {
  type = string
}

variable "models_bucket_arn" {
  type = string
}

variable "models_kms_key_arn" {
  description = "KMS key of the models bucket (the instances decrypt while syncing)."
  type        = string
}

variable "ebs_kms_key_arn" {
  description = "KMS key for the root volumes; null = the account's default EBS key."
  type        = string
  default     = null
}

variable "root_volume_size_gb" {
  description = "Root volume: CUDA images are large."
  type        = number
  default     = 150
}


variable "capacity_groups" {
  description = "GPU tier => instance types (first is the launch template default), spot or on-demand, ASG max size."
  type = map(object({
    instance_types = list(string)
    spot           = bool
    max_size       = number
  }))
  default = {
    g6   = { instance_types = ["g6.xlarge", "g6.2xlarge"], spot = false, max_size = 6 }
    g5   = { instance_types = ["g5.xlarge", "g5.2xlarge"], spot = true, max_size = 6 }
    g4dn = { instance_types = ["g4dn.xlarge", "g4dn.2xlarge"], spot = true, max_size = 6 }
  }
}

variable "maximum_scaling_step_size" {
  description = "Most instances one managed scale-out adds: a burst of queued jobs reaches its workers in one step, not in steps of 2 with a warm-up between."
  type        = number
  default     = 10
}
