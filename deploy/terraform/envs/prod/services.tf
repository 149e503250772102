# The five ECS services. web, bot, metrics and webhooks run the web image on Fargate; the
# worker runs the worker image on the GPU capacity providers.

locals {
  web_image    = "${aws_ecr_repository.this["web"].repository_url}:${var.web_image_tag}"
  worker_image = "${aws_ecr_repository.this["worker"].repository_url}:${var.worker_image_tag}"

  # Plain, non-secret settings shared by every app container.
  app_environment = {
    NARCIS_S3_BUCKET     = module.storage.media_bucket_name
    AWS_S3_REGION_NAME   = local.region
    ALLOWED_HOSTS        = var.domain_name
    CSRF_TRUSTED_ORIGINS = "https://${var.domain_name}"
    TRUSTED_PROXIES      = "1"
    NARCIS_ENVIRONMENT   = var.environment
    # The web only checks that it is set (full-size defaults); the workers read the files.
    NARCIS_MODELS_DIR = "/models"
    LOG_LEVEL         = "INFO"
  }

  # Secrets: injected by ECS from Secrets Manager (valueFrom), never as plain values.
  app_secrets = merge(
    {
      SECRET_KEY   = aws_secretsmanager_secret.app["SECRET_KEY"].arn
      DATABASE_URL = module.database.database_url_secret_arn
      REDIS_URL    = module.cache.redis_url_secret_arn
    },
    var.enable_mecene_llm ? { MECENE_LLM_API_KEY = aws_secretsmanager_secret.app["MECENE_LLM_API_KEY"].arn } : {},
  )

  common_service = {
    cluster_arn         = module.cluster.cluster_arn
    subnet_ids          = module.network.private_subnet_ids
    secrets_kms_key_arn = local.kms.secrets
    logs_kms_key_arn    = local.kms.logs
    log_retention_days  = var.log_retention_days
  }

  worker_ready_file = "/tmp/narcis-worker-ready"

  worker_capacity_provider_strategy = [
    { capacity_provider = module.cluster.capacity_provider_names["g6"], base = 1, weight = 3 },
    { capacity_provider = module.cluster.capacity_provider_names["g5"], base = 0, weight = 2 },
    { capacity_provider = module.cluster.capacity_provider_names["g4dn"], base = 0, weight = 1 },
  ]
}

module "web" {
  source              = "../../modules/service"
  name                = local.service_names.web
  cluster_arn         = local.common_service.cluster_arn
  subnet_ids          = local.common_service.subnet_ids
  secrets_kms_key_arn = local.common_service.secrets_kms_key_arn
  logs_kms_key_arn    = local.common_service.logs_kms_key_arn
  log_retention_days  = local.common_service.log_retention_days

  container_name      = "web"
  image               = local.web_image
  command             = ["python", "-m", "narcis_site.serve", "--host", "0.0.0.0", "--port", "8000"]
  cpu                 = 1024
  memory              = 2048
  launch_type         = "FARGATE"
  desired_count       = var.web_desired_count
  container_port      = 8000
  target_group_arn    = module.load_balancer.target_group_arn
  security_group_ids  = [aws_security_group.web.id]
  task_role_arn       = aws_iam_role.task["web"].arn
  ecr_repository_arns = [aws_ecr_repository.this["web"].arn]
  environment         = merge(local.app_environment, { NARCIS_TORCH_THREADS = "1" }) # small models only
  secrets             = local.app_secrets
  stop_timeout        = 30
}

module "worker" {
  source              = "../../modules/service"
  name                = local.service_names.worker
  cluster_arn         = local.common_service.cluster_arn
  subnet_ids          = local.common_service.subnet_ids
  secrets_kms_key_arn = local.common_service.secrets_kms_key_arn
  logs_kms_key_arn    = local.common_service.logs_kms_key_arn
  log_retention_days  = local.common_service.log_retention_days

  container_name             = "worker"
  image                      = local.worker_image
  command                    = ["python", "manage.py", "run_worker"]
  cpu                        = 3584
  memory                     = 14336
  launch_type                = "EC2"
  capacity_provider_strategy = local.worker_capacity_provider_strategy
  desired_count              = var.worker_min_count
  security_group_ids         = [aws_security_group.worker.id]
  task_role_arn              = aws_iam_role.task["worker"].arn
  ecr_repository_arns        = [aws_ecr_repository.this["worker"].arn]
  environment = merge(local.app_environment, {
    NARCIS_WORKER_BATCH         = "0" # 0 = the worker sizes its batch from its GPU's memory
    NARCIS_WORKER_STOP_DEADLINE = "110"
    NARCIS_LOCAL_WORKERS        = "1" # one worker task per GPU instance: all its cores
    # The fast path's compiled kernels, on the instance (user data), so a restarted task starts warm.
    TORCHINDUCTOR_CACHE_DIR = "/cache/inductor"
    # Written after the warm-up (apps/generation/worker_readiness.py), read by the health check below.
    NARCIS_WORKER_READY_FILE = local.worker_ready_file
  })
  secrets = local.app_secrets
  # SIGTERM -> SIGKILL: the worker hands back a batch it cannot finish in 110 s; 120 s fits the 2 minutes a
  # spot interruption notice gives (Fargate caps stopTimeout at 120 s; on EC2 the agent allows more).
  stop_timeout = 120
  gpu_count    = 1
  # Healthy means warm: a cold SDXL compile takes minutes. ECS ignores failures for start_period (its
  # maximum, 300 s), then needs 10 failures 30 s apart: 10 minutes before a worker that never warms up
  # is replaced; a warm restart (inductor cache on the instance) is ready in well under a minute.
  health_check = {
    command      = ["CMD-SHELL", "test -f ${local.worker_ready_file}"]
    interval     = 30
    timeout      = 5
    retries      = 10
    start_period = 300
  }
  # Never below the running capacity: new workers start beside the old (200%: an instance each, from
  # the capacity providers) and the old stop only once the new are healthy, i.e. warm (100%).
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  host_volumes = [
    { name = "models", host_path = "/models", container_path = "/models", read_only = true },
    { name = "inductor-cache", host_path = "/var/cache/narcis-inductor", container_path = "/cache/inductor", read_only = false },
  ]
}

module "bot" {
  source              = "../../modules/service"
  name                = local.service_names.bot
  cluster_arn         = local.common_service.cluster_arn
  subnet_ids          = local.common_service.subnet_ids
  secrets_kms_key_arn = local.common_service.secrets_kms_key_arn
  logs_kms_key_arn    = local.common_service.logs_kms_key_arn
  log_retention_days  = local.common_service.log_retention_days

  container_name      = "bot"
  image               = local.web_image
  command             = ["python", "manage.py", "run_discord_bot"]
  cpu                 = 256
  memory              = 512
  launch_type         = "FARGATE"
  desired_count       = 1
  security_group_ids  = [aws_security_group.background.id]
  task_role_arn       = aws_iam_role.task["bot"].arn
  ecr_repository_arns = [aws_ecr_repository.this["web"].arn]
  environment         = local.app_environment
  secrets             = merge(local.app_secrets, { DISCORD_BOT_TOKEN = aws_secretsmanager_secret.app["DISCORD_BOT_TOKEN"].arn })
  # Never two bots connected at once: stop the old one before starting the new.
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100
}

module "metrics" {
  source              = "../../modules/service"
  name                = local.service_names.metrics
  cluster_arn         = local.common_service.cluster_arn
  subnet_ids          = local.common_service.subnet_ids
  secrets_kms_key_arn = local.common_service.secrets_kms_key_arn
  logs_kms_key_arn    = local.common_service.logs_kms_key_arn
  log_retention_days  = local.common_service.log_retention_days

  container_name      = "metrics"
  image               = local.web_image
  command             = ["python", "manage.py", "publish_queue_metrics", "--interval", "60"]
  cpu                 = 256
  memory              = 512
  launch_type         = "FARGATE"
  desired_count       = 1
  security_group_ids  = [aws_security_group.background.id]
  task_role_arn       = aws_iam_role.task["metrics"].arn
  ecr_repository_arns = [aws_ecr_repository.this["web"].arn]
  environment         = local.app_environment
  secrets             = local.app_secrets
  # One publisher is enough; a short gap during deploys is harmless.
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100
}

module "webhooks" {
  source              = "../../modules/service"
  name                = local.service_names.webhooks
  cluster_arn         = local.common_service.cluster_arn
  subnet_ids          = local.common_service.subnet_ids
  secrets_kms_key_arn = local.common_service.secrets_kms_key_arn
  logs_kms_key_arn    = local.common_service.logs_kms_key_arn
  log_retention_days  = local.common_service.log_retention_days

  container_name      = "webhooks"
  image               = local.web_image
  command             = ["python", "manage.py", "run_webhooks"]
  cpu                 = 256
  memory              = 512
  launch_type         = "FARGATE"
  desired_count       = 1
  security_group_ids  = [aws_security_group.webhooks.id]
  task_role_arn       = aws_iam_role.task["webhooks"].arn
  ecr_repository_arns = [aws_ecr_repository.this["web"].arn]
  environment         = local.app_environment
  # No REDIS_URL: its group cannot reach Redis; the process needs only the database.
  secrets = { for k, v in local.app_secrets : k => v if k != "REDIS_URL" }
  # Loops claim disjoint deliveries, so old and new may overlap during a deploy.
}
