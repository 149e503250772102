module "observability" {
  source                  = "../../modules/observability"
  name                    = local.name
  environment             = var.environment
  kms_key_arn             = local.kms.logs
  alarm_email             = var.alarm_email
  cluster_name            = module.cluster.cluster_name
  worker_service_name     = module.worker.service_name
  alb_arn_suffix          = module.load_balancer.alb_arn_suffix
  target_group_arn_suffix = module.load_balancer.target_group_arn_suffix
  db_instance_identifier  = module.database.instance_identifier
  redis_cluster_ids       = module.cache.member_cluster_ids
}
