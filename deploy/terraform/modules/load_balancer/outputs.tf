output "alb_arn" {
  value = aws_lb.this.arn
}

output "alb_arn_suffix" {
  value = aws_lb.this.arn_suffix
}

output "alb_dns_name" {
  value = aws_lb.this.dns_name
}

output "alb_zone_id" {
  value = aws_lb.this.zone_id
}

output "alb_idle_timeout" {
  value = aws_lb.this.idle_timeout
}

output "security_group_id" {
  value = aws_security_group.alb.id
}

output "target_group_arn" {
  value = aws_lb_target_group.web.arn
}

output "target_group_arn_suffix" {
  value = aws_lb_target_group.web.arn_suffix
}

output "target_group_health_check" {
  value = one(aws_lb_target_group.web.health_check)
}

output "http_listener_default_action" {
  value = one(aws_lb_listener.http.default_action)
}

output "log_bucket_name" {
  value = aws_s3_bucket.alb_logs.id
}

output "public_access_block" {
  value = aws_s3_bucket_public_access_block.alb_logs
}
