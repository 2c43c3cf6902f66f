"""One DAEMON scheduler pass: one task on every ACTIVE instance that qualifies.

A daemon deployment is 0/100: an old-deployment daemon task is stopped first
and its replacement starts once the instance has room again (the old task
gives its resources back at STOPPING and its host ports at STOPPED). Tasks on instances that stop qualifying
(DRAINING, INACTIVE, a constraint no longer true) are stopped.
"""

from __future__ import annotations


def daemon_pass(service, host) -> None:
    primary = service.primary
    qualifying = host.daemon_instances(service)          # instance ARN -> True, in table order
    service.desired_count = len(qualifying)              # ECS shows one per qualifying instance
    by_instance: dict[str, list] = {}
    for task in service.all_tasks():
        if task.live:
            by_instance.setdefault(task.instance_arn, []).append(task)
    for arn, tasks in by_instance.items():
        if arn not in qualifying:
            for task in tasks:
                host.stop_task(service, task, "ServiceSchedulerInitiated",
                               "Container instance no longer qualifies for the daemon service")
            continue
        for task in tasks:
            if task.deployment_id != primary.id:
                host.stop_task(service, task, "ServiceSchedulerInitiated",
                               f"Scaling activity initiated by (deployment {primary.id})")
    holding = {t.instance_arn for t in service.all_tasks() if t.last_status != "STOPPED"}
    missing = [arn for arn in qualifying if arn not in holding]
    if missing and primary.rollout_state != "FAILED" and not host.launch_blocked(service):
        host.launch_daemon(service, primary, missing)
