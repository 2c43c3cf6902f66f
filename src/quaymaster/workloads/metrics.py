"""The per-minute service metrics of a workload, vectorised over minutes or services.

NaN is "no data point": ECS publishes no utilization for a service with no
running task and no demand, and the load balancer none per target without
targets and requests (docs/semantics.md, "Scaling").
"""

from __future__ import annotations

import numpy as np


def _utilization(demand, running, per_task) -> np.ndarray:
    demand = np.asarray(demand, dtype=np.float64)
    capacity = np.asarray(running, dtype=np.float64) * np.asarray(per_task, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.minimum(100.0, 100.0 * demand / capacity)
    value = np.where(capacity > 0, value, np.where(demand > 0, 100.0, np.nan))
    return value


def cpu_utilization(demand, running, task_cpu) -> np.ndarray:
    """``min(100, 100 * demand / (running * task_cpu))``; 100 when demand > 0 and nothing runs."""
    return _utilization(demand, running, task_cpu)


def memory_utilization(memory_demand, running, task_memory) -> np.ndarray:
    """As CPU, from a memory demand in MiB and the task's memory."""
    return _utilization(memory_demand, running, task_memory)


def request_count_per_target(requests, healthy_targets) -> np.ndarray:
    """requests / healthy targets; with no healthy target, all the requests (one would get them)."""
    requests = np.asarray(requests, dtype=np.float64)
    targets = np.asarray(healthy_targets, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = requests / targets
    return np.where(targets > 0, value, np.where(requests > 0, requests, np.nan))


def unserved_demand(demand, running, task_cpu) -> np.ndarray:
    """``max(0, demand - running * task_cpu)``: the work the service could not do."""
    demand = np.asarray(demand, dtype=np.float64)
    capacity = np.asarray(running, dtype=np.float64) * np.asarray(task_cpu, dtype=np.float64)
    return np.maximum(0.0, demand - capacity)


def minute_metrics(cpu_demand, memory_demand, requests, running, healthy_targets, task_cpu,
                   task_memory) -> dict[str, np.ndarray]:
    """The four workload metrics of one minute, by their CloudWatch names, vectorised over services."""
    return {"CPUUtilization": cpu_utilization(cpu_demand, running, task_cpu),
            "MemoryUtilization": memory_utilization(memory_demand, running, task_memory),
            "RequestCountPerTarget": request_count_per_target(requests, healthy_targets),
            "UnservedDemand": unserved_demand(cpu_demand, running, task_cpu)}
