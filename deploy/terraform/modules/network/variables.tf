variable "name" {
  description = "Name prefix, e.g. narcis-prod."
  type        = string
}

variable "cidr_block" {
  description = "VPC CIDR; split into /20s (public: first three, private: from the ninth)."
  type        = string
  default     = "10.40.0.0/16"
}

variable "availability_zones" {
  description = "Three AZ names; one public and one private subnet in each."
  type        = list(string)
}

variable "nat_gateway_per_az" {
  description = "true: one NAT gateway per AZ (an AZ outage does not cut the others off). false: one shared NAT gateway (cheaper, single point of failure)."
  type        = bool
  default     = true
}

variable "flow_log_retention_days" {
  type    = number
  default = 90
}

variable "logs_kms_key_arn" {
  description = "KMS key that encrypts the flow-log log group."
  type        = string
}
