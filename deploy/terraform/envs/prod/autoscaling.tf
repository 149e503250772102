# Worker autoscaling on backlog per task: QueuedJobs (published every minute by
# narcis-prod-metrics) divided by the worker's running tasks, tracked to
# var.worker_target_jobs_per_task. Never below 1 task, so the division and the
# queue always have a worker.

resource "aws_appautoscaling_target" "worker" {
  count              = contains(var.emulator_skips, "aws_appautoscaling_target") ? 0 : 1
  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${module.cluster.cluster_name}/${module.worker.service_name}"
  min_capacity       = var.worker_min_count
  max_capacity       = var.worker_max_count
}

resource "aws_appautoscaling_policy" "worker_backlog" {
  count              = length(aws_appautoscaling_target.worker)
  name               = "${local.name}-worker-backlog-per-task"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.worker[0].service_namespace
  scalable_dimension = aws_appautoscaling_target.worker[0].scalable_dimension
  resource_id        = aws_appautoscaling_target.worker[0].resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.worker_target_jobs_per_task
    scale_out_cooldown = 60
    scale_in_cooldown  = 600

    customized_metric_specification {
      metrics {
        id          = "m1"
        label       = "Queued jobs"
        return_data = false
        metric_stat {
          stat = "Maximum"
          metric {
            namespace   = "Narcis/Queue"
            metric_name = "QueuedJobs"
            dimensions {
              name  = "Environment"
              value = var.environment
            }
          }
        }
      }

      metrics {
        id          = "m2"
        label       = "Running worker tasks"
        return_data = false
        metric_stat {
          stat = "Average"
          metric {
            namespace   = "ECS/ContainerInsights"
            metric_name = "RunningTaskCount"
            dimensions {
              name  = "ClusterName"
              value = module.cluster.cluster_name
            }
            dimensions {
              name  = "ServiceName"
              value = module.worker.service_name
            }
          }
        }
      }

      metrics {
        id          = "e1"
        label       = "Queued jobs per running worker task"
        expression  = "m1 / IF(m2 < 1, 1, m2)"
        return_data = true
      }
    }
  }
}
