output "service_name" {
  value = aws_ecs_service.this.name
}

output "family" {
  value = aws_ecs_task_definition.this.family
}

output "task_definition_arn" {
  value = aws_ecs_task_definition.this.arn
}

output "task_definition_arn_without_revision" {
  value = aws_ecs_task_definition.this.arn_without_revision
}

output "execution_role_arn" {
  value = aws_iam_role.execution.arn
}

output "container_definitions" {
  description = "Decoded container definitions (for tests)."
  value       = jsondecode(aws_ecs_task_definition.this.container_definitions)
}

output "capacity_provider_strategy" {
  value = aws_ecs_service.this.capacity_provider_strategy
}

output "launch_type" {
  value = aws_ecs_service.this.launch_type
}

output "service" {
  value = aws_ecs_service.this
}

output "log_group_name" {
  value = aws_cloudwatch_log_group.this.name
}

output "log_retention_days" {
  value = aws_cloudwatch_log_group.this.retention_in_days
}
