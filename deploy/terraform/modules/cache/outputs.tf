output "redis_url_secret_arn" {
  value = aws_secretsmanager_secret.redis_url.arn
}

output "replication_group_id" {
  value = one(aws_elasticache_replication_group.this[*].id)
}

output "member_cluster_ids" {
  description = "ElastiCache names the members <group>-001, <group>-002."
  value       = [for i in range(2) : format("%s-%03d", var.name, i + 1)]
}

output "security_group_id" {
  value = aws_security_group.redis.id
}

output "replication_group" {
  value = var.create_replication_group ? {
    transit_encryption_enabled = aws_elasticache_replication_group.this[0].transit_encryption_enabled
    at_rest_encryption_enabled = aws_elasticache_replication_group.this[0].at_rest_encryption_enabled
    automatic_failover_enabled = aws_elasticache_replication_group.this[0].automatic_failover_enabled
    multi_az_enabled           = aws_elasticache_replication_group.this[0].multi_az_enabled
    num_cache_clusters         = aws_elasticache_replication_group.this[0].num_cache_clusters
    auth_token_update_strategy = aws_elasticache_replication_group.this[0].auth_token_update_strategy
  } : null
}

output "allowed_from" {
  description = "Labels of the security groups admitted (for tests)."
  value       = keys(var.allowed_security_group_ids)
}
