output "cluster_name" {
  value = aws_ecs_cluster.this.name
}

output "cluster_arn" {
  value = aws_ecs_cluster.this.arn
}

output "capacity_provider_names" {
  description = "tier => capacity provider name (available once attached to the cluster, so services can use them)"
  value       = { for k, cp in aws_ecs_capacity_provider.gpu : k => cp.name }
  depends_on  = [aws_ecs_cluster_capacity_providers.this]
}

output "capacity_providers" {
  value = aws_ecs_capacity_provider.gpu
}

output "autoscaling_groups" {
  value = aws_autoscaling_group.gpu
}

output "launch_template_user_data" {
  description = "tier => rendered user data (plain text, for tests)"
  value       = { for k, lt in aws_launch_template.gpu : k => base64decode(lt.user_data) }
}

output "launch_template_metadata_options" {
  description = "tier => metadata options (IMDSv2)"
  value       = { for k, lt in aws_launch_template.gpu : k => one(lt.metadata_options) }
}

output "cluster_capacity_providers" {
  value = aws_ecs_cluster_capacity_providers.this.capacity_providers
}

output "instance_security_group_id" {
  value = aws_security_group.instance.id
}
