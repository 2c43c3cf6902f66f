"""Workloads: a service's demand per minute, seeded noise, and the metrics ECS would publish."""

from quaymaster.workloads.metrics import (cpu_utilization, memory_utilization, minute_metrics,
                                          request_count_per_target, unserved_demand)
from quaymaster.workloads.models import Workload, parse_workload
from quaymaster.workloads.noise import noise_factors, stream_seed

__all__ = ["Workload", "parse_workload", "noise_factors", "stream_seed", "cpu_utilization",
           "memory_utilization", "minute_metrics", "request_count_per_target", "unserved_demand"]
