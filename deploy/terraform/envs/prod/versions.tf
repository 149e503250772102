terraform {
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0" # exact: the version in the CI mirror; no lock file is committed (README)
    }
  }

  # Partial configuration: pass the rest at init time, e.g.
  #   terraform init -backend-config=bucket=<state-bucket> -backend-config=key=narcis/prod.tfstate \
  #     -backend-config=region=us-east-1 -backend-config=use_lockfile=true -backend-config=encrypt=true
  # CI runs `terraform init -backend=false` and never touches it.
  backend "s3" {}
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project     = "narcis"
      Environment = var.environment
      ManagedBy   = "terraform"
    }
  }
}
