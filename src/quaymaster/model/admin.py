"""Container-instance administration: the ECS operations on instances and attributes.

Semantics (docs/semantics.md (services, ECS contract section 2), docs/semantics.md (limits)), beyond what ECS documents:

- An instance is named by its ``ec2_instance_id``, its container-instance ARN, or
  the ARN's last segment (ECS's short container-instance id).
- Positions never change: deregistering makes an instance ``INACTIVE`` and keeps
  its row. An id stays taken after deregistration (re-registering it is refused).
- ``deregister_container_instance(force=True)`` on an instance with live tasks
  leaves the tasks in the task table, still holding their resources; stopping
  them is the services' (or the caller's) job. Without ``force`` any live task
  (any status before STOPPED) refuses the call, with ECS's text.
- ``update_container_instances_state`` changes only ``ACTIVE`` and ``DRAINING``
  instances; any other status is reported as a failure whose reason is that
  status. Unknown instances are ``MISSING`` failures. The other instances change.
- An attribute put without a value is stored as ``""`` (present, no value).
- ``version`` counts the changes made through these operations (1 at
  registration); it is not saved to Parquet.

A call refused with an exception changes nothing: every entry is checked before
the first change is made.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from quaymaster.errors import (
    AttributeLimitExceededError,
    ClientError,
    InvalidParameterError,
    NotFoundError,
    SchemaError,
)
from quaymaster.model import describe
from quaymaster.model.attributes import (
    NO_VALUE,
    AttributeColumn,
    attribute_name_problem,
    attribute_value_problem,
    is_custom,
)
from quaymaster.model.state_owner import TCP, UDP, PortSet, _port_keys_of
from quaymaster.model.port_lists import PortLists
from quaymaster.model.coerce import coerce_instances
from quaymaster.model.schema import (
    ATTRIBUTE_PREFIX,
    INACTIVE,
    INSTANCE_STATUSES,
    STATUS_CODE,
    instance_arn,
    instance_rows_table,
)

TARGET_TYPE = "container-instance"
USER_STATUSES = ("ACTIVE", "DRAINING")  # the only changes UpdateContainerInstancesState allows
_VERSION_INFO_KEYS = ("agentVersion", "agentHash", "dockerVersion")
_ATTRIBUTE_KEYS = ("name", "value", "targetType", "targetId")


class ContainerInstanceAdmin:
    """Mixin of :class:`quaymaster.Cluster`: RegisterContainerInstance and friends."""

    #: ECS's quotas (docs/semantics.md (limits)); set one to None on a cluster to lift it.
    container_instance_limit: int | None = 5000
    custom_attribute_limit: int | None = 10
    attributes_per_call_limit: int | None = 10

    # -- lookup ---------------------------------------------------------------

    def resolve_instance(self, ref) -> int:
        """The position of an instance named by ec2 id, container-instance ARN or short id."""
        if not isinstance(ref, str):
            raise InvalidParameterError(f"a container instance is named by a string, found {ref!r}",
                                        field="containerInstance", value=ref)
        position = self.state.position.get(ref)
        if position is None:
            position = self._arn_index().get(ref)
        if position is None:
            raise NotFoundError(f"container instance {ref!r} not found in cluster {self.name!r}",
                                field="containerInstance", value=ref)
        return position

    def _arn_index(self) -> dict[str, int]:
        """ARN and short id -> position; extended as instances are appended."""
        arns = self.state.arns
        owner, done, index = self.caches.instance_arns or (None, 0, None)
        if owner is not arns or done > len(arns):  # a new state: start again
            done, index = 0, {}
        if done < len(arns):
            for position in range(done, len(arns)):
                index[arns[position]] = position
            for position in range(done, len(arns)):  # a full ARN wins over a short id
                index.setdefault(arns[position].rsplit("/", 1)[-1], position)
            self.caches.instance_arns = (arns, len(arns), index)
        return index

    def _missing_arn(self, ref: str) -> str:
        return ref if ref.startswith("arn:") else instance_arn(self.region, self.account, self.name, ref)

    # -- versions (the ContainerInstance ``version`` counter) -----------------

    def _admin_meta(self) -> dict:
        return self.__dict__.setdefault("_admin_meta_store", {"version": {}, "version_info": {}})

    def _bump_version(self, position: int, what: str) -> None:
        """Count a change of one instance, and log it (kept placement plans repair themselves)."""
        versions = self._admin_meta()["version"]
        versions[position] = versions.get(position, 1) + 1
        self.owner.instances_changed(position, what)

    # -- registration ---------------------------------------------------------

    def register_container_instance(self, ec2_instance_id: str, *, total_resources=None, resources=None,
                                    attributes=None, version_info=None, capacity_provider=None,
                                    eni_limit=None, status: str = "ACTIVE", registered_at=None) -> dict:
        """RegisterContainerInstance: append one instance; returns its ``containerInstance`` JSON.

        ``total_resources`` (alias ``resources``) is ECS's ``Resources`` list with CPU
        and MEMORY required, GPU, PORTS and PORTS_UDP optional; ``attributes`` is a
        list of ``{name, value}``; ``version_info`` is ``{agentVersion, agentHash,
        dockerVersion}``. ``registered_at`` (a datetime) defaults to now.
        """
        if total_resources is not None and resources is not None:
            raise InvalidParameterError("give totalResources or resources, not both", field="resources")
        if not isinstance(ec2_instance_id, str) or not ec2_instance_id:
            raise InvalidParameterError(f"ec2InstanceId must be a non-empty string, found "
                                        f"{ec2_instance_id!r}", field="ec2InstanceId", value=ec2_instance_id)
        row = describe.parse_resources(total_resources if total_resources is not None else (resources or []))
        row.update(_registration_fields(status, eni_limit, capacity_provider))
        extras = _check_version_info(version_info)
        if "agentVersion" in extras:
            row["agent_version"] = extras.pop("agentVersion")
        named = _registration_attributes(attributes, self.custom_attribute_limit)
        self._check_instance_quota()
        row["ec2_instance_id"] = ec2_instance_id
        row.update({ATTRIBUTE_PREFIX + name: value for name, value in named.items()})
        (position,) = self.register_instances(instance_rows_table([row]), registered_at=registered_at)
        if extras:
            self._admin_meta()["version_info"][position] = extras
        return self._describe_positions([position])[0]

    def _check_instance_quota(self) -> None:
        limit = self.container_instance_limit
        if limit is not None and int((self.state.status != INACTIVE).sum()) >= limit:
            raise ClientError(f"the cluster already has {limit} registered container instances, the limit",
                              field="containerInstances", value=limit)

    def register_instances(self, table_or_rows, *, registered_at=None) -> range:
        """Append a batch of instances (any input ``from_arrow`` takes, or a list of row dicts).

        The batch is checked as a whole first (the instance schema, and ids and ARNs
        not already in the cluster); on any problem nothing is added. Remaining
        resources not given equal the registered ones (a new instance runs no task).
        Returns the new positions.
        """
        if isinstance(table_or_rows, (list, tuple)) and not table_or_rows:
            return range(self.state.n, self.state.n)  # no rows, so no columns to check either
        table = coerce_instances(table_or_rows, cluster=self.name, region=self.region,
                                 account=self.account, registered_at=registered_at)
        return self.register_coerced(table)

    def register_coerced(self, table: pa.Table) -> range:
        """``register_instances`` of a table already in the form ``coerce_instances`` gives
        (its columns checked and defaults filled, for this cluster): only what depends on the
        cluster is checked (ids and ARNs not taken, reserved ports). Returns the new positions."""
        taken_arns = self._arn_index()
        for row, (ec2_id, arn) in enumerate(zip(table.column("ec2_instance_id").to_pylist(),
                                                table.column("container_instance_arn").to_pylist(),
                                                strict=True)):
            if ec2_id in self.state.position:
                raise SchemaError(f"instance {ec2_id!r} is already registered", column="ec2_instance_id",
                                  row=row, value=ec2_id)
            if arn in taken_arns and self.state.arns[taken_arns[arn]] == arn:
                raise SchemaError(f"container instance ARN {arn!r} is already registered",
                                  column="container_instance_arn", row=row, value=arn)
        for resource in ("cpu", "memory", "gpu"):
            index = table.schema.get_field_index(f"{resource}_remaining")
            filled = pc.coalesce(table.column(index), table.column(f"{resource}_registered"))
            table = table.set_column(index, table.schema.field(index), filled)
        start = self.state.n
        reserved = [PortLists.from_arrow(table.column(name)) for name in ("reserved_ports", "reserved_ports_udp")]
        check = PortSet(len(reserved[0]))  # reserved ports listed twice refuse the batch before it lands
        check.insert(np.concatenate([_port_keys_of(0, reserved[0], TCP), _port_keys_of(0, reserved[1], UDP)]),
                     "reserved_ports")
        self.state.append(table)
        self.owner.instances_added(start, *reserved)
        return range(start, self.state.n)

    # -- status ---------------------------------------------------------------

    def deregister_container_instance(self, instance: str, force: bool = False) -> dict:
        """DeregisterContainerInstance: the instance becomes INACTIVE; returns its JSON.

        Refused (ClientError, ECS's text) when tasks live on it, unless ``force``;
        forced, the tasks stay in the task table (see the module docstring).
        """
        position = self.resolve_instance(instance)
        if not isinstance(force, bool):
            raise InvalidParameterError(f"force must be a boolean, found {force!r}", field="force",
                                        value=force)
        if self.state.running_tasks[position] > 0 and not force:
            raise ClientError("Found running tasks on the instance.", field="containerInstance",
                              value=instance)
        self.mark_inactive(position)
        return self._describe_positions([position])[0]

    def mark_inactive(self, position: int) -> None:
        """The status change of a deregistration, without its JSON (for callers that discard it)."""
        if self.state.status[position] != INACTIVE:
            self.state.status[position] = INACTIVE
            self._bump_version(position, "status")

    def update_container_instances_state(self, instances, status: str) -> dict:
        """UpdateContainerInstancesState: set ACTIVE or DRAINING.

        Returns ``{"containerInstances": [...], "failures": [...]}``.
        """
        if status not in USER_STATUSES:
            raise InvalidParameterError(f"status must be ACTIVE or DRAINING, found {status!r}",
                                        field="status", value=status)
        refs = _reference_list(instances)
        positions, failures = self._resolve_many(refs)
        changed = []
        for position in positions:
            current = self.state.status_name(position)
            if current not in USER_STATUSES:
                failures.append(describe.failure(self.state.arns[position], current,
                                                 f"the container instance is {current}; only ACTIVE and "
                                                 f"DRAINING instances can be set to {status}"))
                continue
            changed.append(position)
        for position in changed:
            if self.state.status_name(position) != status:
                self.state.status[position] = STATUS_CODE[status]
                self._bump_version(position, "status")
        return {"containerInstances": self._describe_positions(changed), "failures": failures}

    # -- describe and list ----------------------------------------------------

    def describe_container_instances(self, instances, include=None) -> dict:
        """DescribeContainerInstances: ``{"containerInstances": [...], "failures": [...]}``."""
        include = _check_include(include)
        positions, failures = self._resolve_many(_reference_list(instances))
        return {"containerInstances": self._describe_positions(positions, include), "failures": failures}

    def list_container_instances(self, filter=None, status=None):  # noqa: A002 (ECS's parameter name)
        """ListContainerInstances, with a CQL ``filter`` and a ``status`` (see quaymaster.cql.listing)."""
        from quaymaster.cql.listing import list_container_instances

        return list_container_instances(self, filter, status)

    def _resolve_many(self, refs: list) -> tuple[list[int], list[dict]]:
        """Positions of the known refs (each once, in order) and MISSING failures for the rest."""
        positions, failures, seen = [], [], set()
        for ref in refs:
            try:
                position = self.resolve_instance(ref)
            except NotFoundError:
                failures.append(describe.failure(self._missing_arn(ref), "MISSING"))
                continue
            if position not in seen:
                seen.add(position)
                positions.append(position)
        return positions, failures

    def _describe_positions(self, positions, include=()) -> list[dict]:
        if not positions:
            return []
        running, pending = describe.task_counts(self)
        meta = self._admin_meta()
        return [describe.container_instance_json(
            self, p, running=running[p], pending=pending[p], version=meta["version"].get(p, 1),
            version_extras=meta["version_info"].get(p), include=include) for p in positions]

    # -- attributes -----------------------------------------------------------

    def put_attributes(self, attributes) -> dict:
        """PutAttributes: create or replace attributes of container instances.

        Each entry is ``{name, value (optional), targetType (optional), targetId}``;
        ``targetId`` is the container-instance ARN, or its id with ``targetType``
        ``"container-instance"``. Returns ``{"attributes": [...]}``.
        """
        requests = self._attribute_requests(attributes, "PutAttributes")
        final: dict[tuple[int, str], str] = {}
        for position, name, value in requests:
            final[(position, name)] = NO_VALUE if value is None else value
        self._check_custom_limit(final)
        touched = {}
        for (position, name), value in final.items():
            column = self.state.attributes.get(name)
            if column is None:
                column = self.state.attributes[name] = AttributeColumn.missing(self.state.n)
            column.set(position, value)
            touched.setdefault(position, []).append(name)
        for position in sorted(touched):
            for name in touched[position][1:]:
                self.owner.instances_changed(position, f"attributes:{name}")
            self._bump_version(position, f"attributes:{touched[position][0]}")
        return {"attributes": [describe.attribute_json(name, final[(p, name)], self.state.arns[p])
                               for p, name, _ in requests]}

    def delete_attributes(self, attributes) -> dict:
        """DeleteAttributes: remove attributes (by name; a value, if given, is ignored).

        Deleting an attribute the instance lacks is not an error. Returns the
        entries with the value each attribute had (none if it had none).
        """
        requests = self._attribute_requests(attributes, "DeleteAttributes")
        deleted = []
        for position, name, _ in requests:
            column = self.state.attributes.get(name)
            old = column.get(position) if column is not None else None
            deleted.append(describe.attribute_json(name, NO_VALUE if old is None else old,
                                                   self.state.arns[position]))
            if old is not None:
                column.set(position, None)
                self._bump_version(position, f"attributes:{name}")
        return {"attributes": deleted}

    def list_attributes(self, target_type: str = TARGET_TYPE, attribute_name: str | None = None,
                        attribute_value: str | None = None) -> dict:
        """ListAttributes: every attribute of every instance, optionally of one name (and value).

        Sorted by instance position, then name; not paginated.
        """
        if target_type != TARGET_TYPE:
            raise InvalidParameterError(f"targetType must be {TARGET_TYPE!r}, found {target_type!r}",
                                        field="targetType", value=target_type)
        for field, given in (("attributeName", attribute_name), ("attributeValue", attribute_value)):
            if given is not None and not isinstance(given, str):
                raise InvalidParameterError(f"{field} must be a string, found {given!r}", field=field,
                                            value=given)
        if attribute_value is not None and attribute_name is None:
            raise InvalidParameterError("attributeValue needs attributeName", field="attributeValue",
                                        value=attribute_value)
        names = sorted(self.state.attributes) if attribute_name is None else [attribute_name]
        found = []
        for name in names:
            column = self.state.attributes.get(name)
            if column is None:
                continue
            if attribute_value is None:
                hits = np.flatnonzero(column.codes >= 0)
            else:
                code = column.lookup(attribute_value)
                hits = np.flatnonzero(column.codes == code) if code >= 0 else np.empty(0, np.int64)
            found += [(int(p), name) for p in hits]
        found.sort()
        return {"attributes": [describe.attribute_json(name, self.state.attributes[name].get(p),
                                                       self.state.arns[p]) for p, name in found]}

    def _attribute_requests(self, attributes, operation: str) -> list[tuple[int, str, str | None]]:
        """Check every entry of a Put/DeleteAttributes call: (position, name, value) each."""
        if not isinstance(attributes, (list, tuple)) or not attributes:
            raise InvalidParameterError(f"{operation}: attributes must be a non-empty list",
                                        field="attributes", value=attributes)
        limit = self.attributes_per_call_limit
        if limit is not None and len(attributes) > limit:
            raise InvalidParameterError(f"{operation}: {len(attributes)} attributes; at most {limit} "
                                        "per call", field="attributes", value=len(attributes))
        return [self._attribute_request(entry, f"attributes[{i}]") for i, entry in enumerate(attributes)]

    def _attribute_request(self, entry, path: str) -> tuple[int, str, str | None]:
        _check_entry_keys(entry, path, _ATTRIBUTE_KEYS)
        name, value = entry.get("name"), entry.get("value")
        _check_attribute(name, value, path)
        target_type, target_id = entry.get("targetType"), entry.get("targetId")
        if target_type is not None and target_type != TARGET_TYPE:
            raise InvalidParameterError(f"{path}.targetType must be {TARGET_TYPE!r}, found {target_type!r}",
                                        field=f"{path}.targetType", value=target_type)
        if not isinstance(target_id, str) or not target_id:
            raise InvalidParameterError(f"{path}.targetId is required", field=f"{path}.targetId",
                                        value=target_id)
        if target_type is None and not target_id.startswith("arn:"):
            raise InvalidParameterError(f"{path}.targetType is required with a short targetId "
                                        f"({target_id!r})", field=f"{path}.targetType", value=None)
        try:
            position = self.resolve_instance(target_id)
        except NotFoundError:
            raise NotFoundError(f"TargetNotFoundException: Could not find {target_id}",
                                field=f"{path}.targetId", value=target_id) from None
        return position, name, value

    def _check_custom_limit(self, final: dict[tuple[int, str], str]) -> None:
        limit = self.custom_attribute_limit
        if limit is None:
            return
        new_names: dict[int, set[str]] = {}
        for position, name in final:
            if is_custom(name):
                new_names.setdefault(position, set()).add(name)
        for position, names in sorted(new_names.items()):
            total = self._custom_names(position) | names
            if len(total) > limit:
                raise AttributeLimitExceededError(
                    f"container instance {self.state.ids[position]!r} would have {len(total)} custom "
                    f"attributes; at most {limit} are allowed", field="attributes",
                    value=self.state.arns[position])

    def _custom_names(self, position: int) -> set[str]:
        return {name for name, column in self.state.attributes.items()
                if is_custom(name) and column.codes[position] >= 0}


# -- request checks shared by the operations above ------------------------------

def _reference_list(instances) -> list:
    if isinstance(instances, str):
        instances = [instances]
    if not isinstance(instances, (list, tuple)) or not instances:
        raise ClientError("Container Instances cannot be empty.", field="containerInstances", value=instances)
    return list(instances)


def _check_include(include) -> tuple:
    if include is None:
        return ()
    if isinstance(include, str) or not isinstance(include, (list, tuple)):
        raise InvalidParameterError(f"include must be a list, found {include!r}", field="include",
                                    value=include)
    for i, value in enumerate(include):
        if value not in describe.INCLUDE_FIELDS:
            raise InvalidParameterError(f"include[{i}] must be one of {', '.join(describe.INCLUDE_FIELDS)}, "
                                        f"found {value!r}", field=f"include[{i}]", value=value)
    return tuple(include)


def _check_entry_keys(entry, path: str, allowed: tuple[str, ...]) -> None:
    """``entry`` is a dict whose keys are all in ``allowed``."""
    if not isinstance(entry, dict):
        raise InvalidParameterError(f"{path} must be a mapping", field=path, value=entry)
    unknown = sorted(set(entry) - set(allowed), key=str)  # key=str: keys may not be strings
    if unknown:
        raise InvalidParameterError(f"{path}: unknown key {unknown[0]!r}", field=f"{path}.{unknown[0]}",
                                    value=unknown[0])


def _check_attribute(name, value, path: str) -> None:
    problem = attribute_name_problem(name) if name is not None else "attribute name is required"
    if problem:
        raise InvalidParameterError(f"{path}.name: {problem}", field=f"{path}.name", value=name)
    if value is not None:
        problem = "attribute value must not be empty" if value == NO_VALUE else attribute_value_problem(value)
        if problem:
            raise InvalidParameterError(f"{path}.value: {problem}", field=f"{path}.value", value=value)


def _registration_attributes(attributes, limit: int | None) -> dict[str, str]:
    """RegisterContainerInstance's ``attributes``: name -> value (NO_VALUE when absent)."""
    if attributes is None:
        return {}
    if not isinstance(attributes, (list, tuple)):
        raise InvalidParameterError("attributes must be a list", field="attributes", value=attributes)
    named: dict[str, str] = {}
    for i, entry in enumerate(attributes):
        path = f"attributes[{i}]"
        _check_entry_keys(entry, path, ("name", "value"))
        _check_attribute(entry.get("name"), entry.get("value"), path)
        value = entry.get("value")
        named[entry["name"]] = NO_VALUE if value is None else value
    custom = [name for name in named if is_custom(name)]
    if limit is not None and len(custom) > limit:
        raise AttributeLimitExceededError(f"{len(custom)} custom attributes; at most {limit} are allowed",
                                          field="attributes", value=len(custom))
    return named


def _check_version_info(version_info) -> dict:
    if version_info is None:
        return {}
    if not isinstance(version_info, dict):
        raise InvalidParameterError("versionInfo must be a mapping", field="versionInfo", value=version_info)
    for key, value in version_info.items():
        if key not in _VERSION_INFO_KEYS:
            raise InvalidParameterError(f"versionInfo: unknown key {key!r}", field=f"versionInfo.{key}",
                                        value=key)
        if not isinstance(value, str) or not value:
            raise InvalidParameterError(f"versionInfo.{key} must be a non-empty string, found {value!r}",
                                        field=f"versionInfo.{key}", value=value)
    return dict(version_info)


def _registration_fields(status, eni_limit, capacity_provider) -> dict:
    if status not in INSTANCE_STATUSES:
        raise InvalidParameterError(f"status must be one of {', '.join(INSTANCE_STATUSES)}, found {status!r}",
                                    field="status", value=status)
    if eni_limit is not None and (isinstance(eni_limit, bool) or not isinstance(eni_limit, int)
                                  or eni_limit < 0):
        raise InvalidParameterError(f"eniLimit must be a whole number >= 0, found {eni_limit!r}",
                                    field="eniLimit", value=eni_limit)
    if capacity_provider is not None and (not isinstance(capacity_provider, str) or not capacity_provider):
        raise InvalidParameterError(f"capacityProviderName must be a non-empty string, found "
                                    f"{capacity_provider!r}", field="capacityProviderName",
                                    value=capacity_provider)
    return {"status": status, "eni_limit": eni_limit, "capacity_provider": capacity_provider}
