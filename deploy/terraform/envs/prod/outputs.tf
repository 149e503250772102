# The deploy Makefile reads these names: keep them exact.

output "cluster_name" {
  value = module.cluster.cluster_name
}

output "service_names" {
  description = "web/worker/bot/metrics/webhooks => ECS service name"
  value = {
    web      = module.web.service_name
    worker   = module.worker.service_name
    bot      = module.bot.service_name
    metrics  = module.metrics.service_name
    webhooks = module.webhooks.service_name
  }
}

output "task_definition_families" {
  description = "web/worker/bot/metrics/webhooks => task definition family"
  value = {
    web      = module.web.family
    worker   = module.worker.family
    bot      = module.bot.family
    metrics  = module.metrics.family
    webhooks = module.webhooks.family
  }
}

output "ecr_repository_urls" {
  value = { for k, r in aws_ecr_repository.this : k => r.repository_url }
}

output "region" {
  value = local.region
}

output "alb_dns_name" {
  value = module.load_balancer.alb_dns_name
}

output "bucket_names" {
  value = {
    media  = module.storage.media_bucket_name
    models = module.storage.models_bucket_name
    logs   = module.storage.logs_bucket_name
  }
}

output "alarm_topic_arn" {
  value = module.observability.alarm_topic_arn
}

output "worker_batch_by_tier" {
  description = "GPU tier => GPU, instance type, and the NARCIS_WORKER_BATCH the worker picks by itself there (the task definition sets 0 = auto)."
  value       = { for k, t in local.gpu_tiers : k => { gpu = t.gpu, instance_type = t.instance_type, batch = t.batch } }
}

output "private_subnet_ids" {
  value = module.network.private_subnet_ids
}

output "migrate_security_group_ids" {
  description = "Security groups for one-off tasks of the web task definition (manage.py migrate)."
  value       = [aws_security_group.web.id]
}

output "scheduled_task_schedule_names" {
  description = "EventBridge schedules running the web task definition; deploy-all points them at each release's web revision."
  value       = [for s in aws_scheduler_schedule.task : s.name]
}

output "ecr_build_cache_url" {
  description = "ECR repository holding the image builds' layer cache (refs :web and :worker)."
  value       = aws_ecr_repository.build_cache.repository_url
}
