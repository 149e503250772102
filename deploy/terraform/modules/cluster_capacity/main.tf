# ECS cluster + GPU capacity: one Auto Scaling group / launch template / capacity
# provider per GPU tier (g6 on-demand, g5 spot, g4dn spot), plus FARGATE.

terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

data "aws_region" "current" {}

data "aws_ssm_parameter" "gpu_ami" {
  name = "/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id"
}

resource "aws_ecs_cluster" "this" {
  name = var.cluster_name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

# ------------------------------------------------------------ instance identity
resource "aws_iam_role" "instance" {
  name = "${var.cluster_name}-gpu-instance"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ec2.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "ecs_agent" {
  role       = aws_iam_role.instance.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
}

resource "aws_iam_role_policy" "models_read" {
  name = "read-models-bucket"
  role = aws_iam_role.instance.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["s3:ListBucket"]
        Resource = var.models_bucket_arn
      },
      {
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = "${var.models_bucket_arn}/models/*"
      },
      {
        Effect    = "Allow"
        Action    = ["kms:Decrypt"]
        Resource  = var.models_kms_key_arn
        Condition = { StringEquals = { "kms:ViaService" = "s3.${data.aws_region.current.name}.amazonaws.com" } }
      },
    ]
  })
}

# A bootstrap that failed (user data) marks its own instance unhealthy, so the group replaces it.
resource "aws_iam_role_policy" "self_health" {
  name = "report-own-health"
  role = aws_iam_role.instance.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["autoscaling:SetInstanceHealth"]
      Resource = [for g in aws_autoscaling_group.gpu : g.arn]
    }]
  })
}

resource "aws_iam_instance_profile" "instance" {
  name = "${var.cluster_name}-gpu-instance"
  role = aws_iam_role.instance.name
}

resource "aws_security_group" "instance" {
  name        = "${var.cluster_name}-gpu-instance"
  description = "GPU container instances: no inbound, HTTPS out (ECS, ECR, S3, CloudWatch)"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_egress_rule" "instance_https" {
  security_group_id = aws_security_group.instance.id
  description       = "HTTPS to AWS APIs and the models bucket"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

# ---------------------------------------------------------- one group per tier
resource "aws_launch_template" "gpu" {
  for_each = var.capacity_groups

  name                   = "${var.cluster_name}-${each.key}"
  image_id               = data.aws_ssm_parameter.gpu_ami.value
  instance_type          = each.value.instance_types[0]
  update_default_version = true
  vpc_security_group_ids = [aws_security_group.instance.id]
  ebs_optimized          = true

  iam_instance_profile {
    arn = aws_iam_instance_profile.instance.arn
  }

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size           = var.root_volume_size_gb
      volume_type           = "gp3"
      encrypted             = true
      kms_key_id            = var.ebs_kms_key_arn
      delete_on_termination = true
    }
  }

  monitoring {
    enabled = true
  }

  user_data = base64encode(templatefile("${path.module}/user_data.sh.tftpl", {
    cluster_name  = aws_ecs_cluster.this.name
    spot          = each.value.spot ? "true" : "false"
    models_bucket = var.models_bucket_name
    region        = data.aws_region.current.name
  }))

  tag_specifications {
    resource_type = "instance"
    tags          = { Name = "${var.cluster_name}-${each.key}", GpuTier = each.key }
  }
}

resource "aws_autoscaling_group" "gpu" {
  for_each = var.capacity_groups

  name                    = "${var.cluster_name}-${each.key}"
  vpc_zone_identifier     = var.private_subnet_ids
  min_size                = 0
  max_size                = each.value.max_size
  protect_from_scale_in   = true
  capacity_rebalance      = each.value.spot
  health_check_type       = "EC2"
  default_instance_warmup = 300

  mixed_instances_policy {
    instances_distribution {
      on_demand_base_capacity                  = 0
      on_demand_percentage_above_base_capacity = each.value.spot ? 0 : 100
      spot_allocation_strategy                 = "price-capacity-optimized"
    }
    launch_template {
      launch_template_specification {
        launch_template_id = aws_launch_template.gpu[each.key].id
        version            = "$Latest"
      }
      dynamic "override" {
        for_each = each.value.instance_types
        content {
          instance_type = override.value
        }
      }
    }
  }

  tag {
    key                 = "AmazonECSManaged"
    value               = "true"
    propagate_at_launch = true
  }

  tag {
    key                 = "GpuTier"
    value               = each.key
    propagate_at_launch = true
  }

  lifecycle {
    # ECS managed scaling owns the desired capacity.
    ignore_changes = [desired_capacity]
  }
}

resource "aws_ecs_capacity_provider" "gpu" {
  for_each = var.capacity_groups

  name = "${var.cluster_name}-${each.key}"

  auto_scaling_group_provider {
    auto_scaling_group_arn         = aws_autoscaling_group.gpu[each.key].arn
    managed_termination_protection = "ENABLED"
    managed_draining               = "ENABLED"

    managed_scaling {
      status                    = "ENABLED"
      target_capacity           = 100
      minimum_scaling_step_size = 1
      maximum_scaling_step_size = var.maximum_scaling_step_size
      instance_warmup_period    = 300
    }
  }
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = concat(["FARGATE"], [for cp in aws_ecs_capacity_provider.gpu : cp.name])

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
    base              = 0
  }
}
