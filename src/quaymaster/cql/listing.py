"""ListContainerInstances: the instances a filter selects, with ECS's status rule.

Without ``status``, every instance but the INACTIVE ones is listed; with it,
only instances in that status (INACTIVE included when asked for).
"""

from __future__ import annotations

import numpy as np

from quaymaster.cql.query import Query, compile, instance_state
from quaymaster.errors import InvalidParameterError
from quaymaster.model.schema import INACTIVE, INSTANCE_STATUSES, STATUS_CODE


def matching_positions(target, filter: str | Query | None = None,
                       status: str | None = None) -> np.ndarray:
    """Positions (int64, table order) of the instances ListContainerInstances would return.

    ``target`` is a Cluster or an InstanceState; ``filter`` a CQL expression
    (text or compiled); ``status`` one of the instance statuses.
    """
    state = instance_state(target)
    if status is not None and (not isinstance(status, str) or status not in STATUS_CODE):
        raise InvalidParameterError(f"status {status!r} is not one of {', '.join(INSTANCE_STATUSES)}",
                                    field="status", value=status)
    query = compile(filter) if isinstance(filter, str) else filter
    if query is not None and not isinstance(query, Query):
        raise InvalidParameterError(f"filter must be a CQL expression string, found "
                                    f"{type(filter).__name__}", field="filter", value=filter)
    codes = np.asarray(state.status)
    selected = codes != INACTIVE if status is None else codes == STATUS_CODE[status]
    if query is not None:
        selected &= query.mask(state)
    return np.flatnonzero(selected).astype(np.int64)


def list_container_instances(target, filter: str | Query | None = None,
                             status: str | None = None) -> list[str]:
    """The container instance ARNs, in table order, that ListContainerInstances returns.

    ``target`` is a Cluster or an InstanceState, as for :func:`matching_positions`.
    """
    arns = instance_state(target).arns
    return [arns[p] for p in matching_positions(target, filter, status).tolist()]
