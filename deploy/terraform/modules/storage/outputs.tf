output "media_bucket_name" {
  value = aws_s3_bucket.media.bucket
}

output "media_bucket_arn" {
  value = aws_s3_bucket.media.arn
}

output "models_bucket_name" {
  value = aws_s3_bucket.models.bucket
}

output "models_bucket_arn" {
  value = aws_s3_bucket.models.arn
}

output "logs_bucket_name" {
  value = aws_s3_bucket.logs.bucket
  # Other modules log into it: only once its policy admits the logging service.
  depends_on = [aws_s3_bucket_policy.logs]
}

output "logs_bucket_arn" {
  value = aws_s3_bucket.logs.arn
}

output "public_access_blocks" {
  description = "Every bucket's public access block (tests assert all four flags)."
  value = {
    media  = aws_s3_bucket_public_access_block.media
    models = aws_s3_bucket_public_access_block.models
    logs   = aws_s3_bucket_public_access_block.logs
  }
}

output "media_lifecycle_rules" {
  value = aws_s3_bucket_lifecycle_configuration.media.rule
}
