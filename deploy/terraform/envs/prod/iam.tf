# Task roles, least privilege. Execution roles (image pull, logs, the service's own
# secrets) are made per service inside modules/service.

locals {
  media_objects = "${module.storage.media_bucket_arn}/*"

  media_rw = [
    {
      Sid      = "MediaObjects"
      Effect   = "Allow"
      Action   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
      Resource = local.media_objects
    },
    {
      Sid      = "MediaList"
      Effect   = "Allow"
      Action   = ["s3:ListBucket"]
      Resource = module.storage.media_bucket_arn
    },
    {
      Sid       = "MediaKms"
      Effect    = "Allow"
      Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
      Resource  = local.kms.media
      Condition = { StringEquals = { "kms:ViaService" = "s3.${local.region}.amazonaws.com" } }
    },
  ]

  models_read = [
    {
      Sid      = "ModelsList"
      Effect   = "Allow"
      Action   = ["s3:ListBucket"]
      Resource = module.storage.models_bucket_arn
    },
    {
      Sid      = "ModelsRead"
      Effect   = "Allow"
      Action   = ["s3:GetObject"]
      Resource = "${module.storage.models_bucket_arn}/models/*"
    },
  ]

  put_queue_metrics = [{
    Sid       = "QueueMetrics"
    Effect    = "Allow"
    Action    = ["cloudwatch:PutMetricData"]
    Resource  = "*"
    Condition = { StringEquals = { "cloudwatch:namespace" = "Narcis/Queue" } }
  }]

  task_policies = {
    web     = local.media_rw
    worker  = concat(local.media_rw, local.models_read)
    bot     = local.media_rw
    metrics = local.put_queue_metrics
    # Deliveries need only the database (their payloads are written by web and workers) and HTTPS out.
    webhooks = []
  }

  # IAM refuses a policy with no statement (MalformedPolicyDocument): a role with nothing to allow gets none.
  task_policies_with_statements = { for k, statements in local.task_policies : k => statements if length(statements) > 0 }
}

resource "aws_iam_role" "task" {
  for_each = local.task_policies
  name     = "${local.name}-${each.key}-task"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

resource "aws_iam_role_policy" "task" {
  #checkov:skip=CKV_AWS_290:cloudwatch:PutMetricData has no resource-level permissions; the metrics role is limited by the cloudwatch:namespace condition
  #checkov:skip=CKV_AWS_355:cloudwatch:PutMetricData only takes "*", narrowed by the cloudwatch:namespace condition
  for_each = local.task_policies_with_statements
  name     = "${each.key}-task"
  role     = aws_iam_role.task[each.key].id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = each.value
  })
}
