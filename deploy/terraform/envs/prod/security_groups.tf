# Task security groups. web: from the ALB on 8000. worker and background (bot,
# metrics, scheduled tasks): no inbound; HTTPS out (AWS APIs, Discord, LLM),
# PostgreSQL and Redis inside the VPC only. webhooks: their own group (they call
# URLs API clients chose): no inbound, HTTPS out and the database, nothing else.

resource "aws_security_group" "web" {
  name        = "${local.name}-web"
  description = "Web tasks (daphne), also used by one-off migrate tasks"
  vpc_id      = module.network.vpc_id
}

resource "aws_security_group" "worker" {
  name        = "${local.name}-worker"
  description = "GPU worker tasks"
  vpc_id      = module.network.vpc_id
}

resource "aws_security_group" "background" {
  name        = "${local.name}-background"
  description = "Discord bot, queue metrics publisher and scheduled tasks"
  vpc_id      = module.network.vpc_id
}

resource "aws_security_group" "webhooks" {
  name        = "${local.name}-webhooks"
  description = "Webhook deliveries: HTTPS out to API clients and PostgreSQL; no inbound, no Redis"
  vpc_id      = module.network.vpc_id
}

resource "aws_vpc_security_group_egress_rule" "webhooks_https" {
  security_group_id = aws_security_group.webhooks.id
  description       = "HTTPS to the API clients' webhook URLs"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_egress_rule" "webhooks_database" {
  security_group_id            = aws_security_group.webhooks.id
  description                  = "PostgreSQL (the deliveries), its security group only"
  referenced_security_group_id = module.database.security_group_id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

locals {
  app_security_groups = {
    web        = aws_security_group.web.id
    worker     = aws_security_group.worker.id
    background = aws_security_group.background.id
  }
  app_egress = {
    https    = { port = 443, cidr = "0.0.0.0/0", what = "HTTPS (AWS APIs, Discord, LLM)" }
    postgres = { port = 5432, cidr = module.network.vpc_cidr_block, what = "PostgreSQL in the VPC" }
    redis    = { port = 6379, cidr = module.network.vpc_cidr_block, what = "Redis in the VPC" }
  }
  app_egress_rules = merge([
    for sg_key, sg_id in local.app_security_groups : {
      for rule_key, rule in local.app_egress : "${sg_key}-${rule_key}" => merge(rule, { sg_id = sg_id })
    }
  ]...)
}

resource "aws_vpc_security_group_egress_rule" "app" {
  for_each          = local.app_egress_rules
  security_group_id = each.value.sg_id
  description       = each.value.what
  cidr_ipv4         = each.value.cidr
  ip_protocol       = "tcp"
  from_port         = each.value.port
  to_port           = each.value.port
}

resource "aws_vpc_security_group_ingress_rule" "web_from_alb" {
  security_group_id            = aws_security_group.web.id
  description                  = "daphne from the ALB"
  referenced_security_group_id = module.load_balancer.security_group_id
  ip_protocol                  = "tcp"
  from_port                    = 8000
  to_port                      = 8000
}
