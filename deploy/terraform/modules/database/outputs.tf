output "database_url_secret_arn" {
  value = aws_secretsmanager_secret.database_url.arn
}

output "address" {
  value = aws_db_instance.this.address
}

output "instance_identifier" {
  value = aws_db_instance.this.identifier
}

output "security_group_id" {
  value = aws_security_group.db.id
}

output "instance" {
  description = "The DB instance (tests assert multi_az, encryption, privacy)."
  value = {
    multi_az            = aws_db_instance.this.multi_az
    storage_encrypted   = aws_db_instance.this.storage_encrypted
    publicly_accessible = aws_db_instance.this.publicly_accessible
    deletion_protection = aws_db_instance.this.deletion_protection
    engine_version      = aws_db_instance.this.engine_version
    backup_retention    = aws_db_instance.this.backup_retention_period
  }
}

output "allowed_from" {
  description = "Labels of the security groups admitted (for tests)."
  value       = keys(var.allowed_security_group_ids)
}
