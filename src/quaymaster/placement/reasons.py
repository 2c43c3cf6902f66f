"""Filter stages and their failure reasons (docs/semantics.md (placement, ECS contract section 4)), in one place.

The C core speaks in stage numbers (``QM_STAGE_*``); this module turns them
into the strings ECS reports.
"""

from __future__ import annotations

from quaymaster.native import lib

NOT_ACTIVE = lib.QM_STAGE_NOT_ACTIVE
AGENT = lib.QM_STAGE_AGENT
ATTRIBUTE = lib.QM_STAGE_ATTRIBUTE
CPU = lib.QM_STAGE_CPU
MEMORY = lib.QM_STAGE_MEMORY
GPU = lib.QM_STAGE_GPU
ENI = lib.QM_STAGE_ENI
PORTS = lib.QM_STAGE_PORTS
MEMBER_OF = lib.QM_STAGE_MEMBER_OF
DISTINCT_INSTANCE = lib.QM_STAGE_DISTINCT_INSTANCE
FEASIBLE = lib.QM_STAGE_FEASIBLE
N_STAGES = lib.QM_N_STAGES

#: The nine filter stages in order, with the reason a task fails with.
STAGE_REASON = {
    AGENT: "AGENT",
    ATTRIBUTE: "ATTRIBUTE",
    CPU: "RESOURCE:CPU",
    MEMORY: "RESOURCE:MEMORY",
    GPU: "RESOURCE:GPU",
    ENI: "RESOURCE:ENI",
    PORTS: "RESOURCE:PORTS",
    MEMBER_OF: "MemberOf placement constraint unsatisfied.",
    DISTINCT_INSTANCE: "DistinctInstance placement constraint unsatisfied.",
}
STAGE_NAME = {NOT_ACTIVE: "not ACTIVE", **STAGE_REASON}

NO_ACTIVE_INSTANCES = "NO ACTIVE INSTANCES"
NO_CONTAINER_INSTANCES = "No Container Instances were found in your cluster."
# StartTask's per-instance reasons (ECS's texts).
MISSING = "MISSING"
INACTIVE_INSTANCE = "INACTIVE"


def failure_reason(stage: int) -> str:
    """The reason of a failed task whose latest reached stage is ``stage``."""
    return NO_ACTIVE_INSTANCES if stage == NOT_ACTIVE else STAGE_REASON[stage]


def failure_detail(total_instances: int, counts) -> str:
    """``0 of N instances: K not ACTIVE, <count> <REASON>, ...`` (zero counts left out)."""
    parts = [f"{int(counts[stage])} {STAGE_NAME[stage]}"
             for stage in range(NOT_ACTIVE, FEASIBLE) if counts[stage]]
    return f"0 of {total_instances} instances: " + ", ".join(parts)
