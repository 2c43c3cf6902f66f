"""Container-instance operations of the region, over the placement layer's Cluster.

The region also keeps, per cluster, which instances are DRAINING and which
tasks are on each instance, so that draining and deregistration reach the
services (draining replaces service tasks within the deployment bounds;
deregistration with ``force`` stops the instance's tasks).
"""

from __future__ import annotations

import datetime as _dt
import json

from quaymaster.model.schema import INACTIVE
from quaymaster.region.errors import api_errors, invalid
from quaymaster.region.paging import page


def _instance_document(text: str | None) -> dict:
    if text is None:
        raise invalid("instanceIdentityDocument is required to register a container instance.")
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        raise invalid("instanceIdentityDocument is not valid JSON.") from None
    if not isinstance(document, dict) or not isinstance(document.get("instanceId"), str):
        raise invalid("instanceIdentityDocument must be a JSON object with an instanceId.")
    return document


def _timestamps(entry: dict) -> dict:
    if isinstance(entry.get("registeredAt"), (int, float)):
        entry["registeredAt"] = _dt.datetime.fromtimestamp(entry["registeredAt"], _dt.timezone.utc)
    return entry


class InstanceOps:
    def instance_zones(self, record) -> dict:
        """Container-instance ARN -> availability zone (refreshed when instances were added)."""
        cluster = record.cluster
        table_rows = cluster.state.n
        cached = record.instance_zone
        if cached.get("__rows__") != table_rows:
            state = cluster.state      # the instance table's columns, without building the table
            column = state.attributes.get("ecs.availability-zone")
            zones = column.strings() if column is not None else [None] * table_rows
            cached.clear()
            cached.update(zip(state.arns, zones))
            cached["__rows__"] = table_rows
        return cached

    def _daemons_dirty(self, record) -> None:
        for service in record.services.values():
            if service.scheduling_strategy == "DAEMON":
                self.scheduler.mark(service)

    def register_fleet(self, cluster: str, table) -> range:
        """Register a Parquet/Arrow instance table (placement's instance schema) into ``cluster``."""
        record = self.record(cluster, create_default=cluster == "default")
        with api_errors("InvalidParameterException"):
            positions = record.cluster.register_instances(table, registered_at=self.clock.datetime())
        self._daemons_dirty(record)
        return positions

    def cluster_capacity(self, record) -> tuple[int, int, int]:
        """(instances not INACTIVE, their registered CPU and memory), cached until instances change."""
        cluster = record.cluster
        key = (cluster.state.n, self.__dict__.get("_capacity_epoch", 0))
        cached = record.__dict__.get("_capacity")
        if cached is None or cached[0] != key:
            state = cluster.state      # the instance table's columns, without building the table
            active = state.status != INACTIVE
            value = (int(active.sum()), int(state.cpu_registered[active].sum()),
                     int(state.memory_registered[active].sum()))
            cached = record.__dict__["_capacity"] = (key, value)
        return cached[1]

    def instances_changed(self, record) -> None:
        """An instance joined outside RegisterContainerInstance (an Auto Scaling group launch)."""
        self._daemons_dirty(record)

    def register_container_instance(self, request: dict) -> dict:
        record = self.record(request.get("cluster"))
        document = _instance_document(request.get("instanceIdentityDocument"))
        attributes = list(request.get("attributes", []))
        for name, key in (("ecs.availability-zone", "availabilityZone"), ("ecs.instance-type", "instanceType")):
            if isinstance(document.get(key), str) and not any(a.get("name") == name for a in attributes):
                attributes.append({"name": name, "value": document[key]})
        with api_errors("InvalidParameterException"):
            entry = record.cluster.register_container_instance(
                document["instanceId"], total_resources=request.get("totalResources", []),
                attributes=attributes, version_info=request.get("versionInfo"),
                registered_at=self.clock.datetime())
        self._daemons_dirty(record)
        return {"containerInstance": _timestamps(entry)}

    def deregister_container_instance(self, request: dict) -> dict:
        record = self.record(request.get("cluster"))
        force = request.get("force", False)
        with api_errors("InvalidParameterException"):
            described = record.cluster.describe_container_instances([request["containerInstance"]])
            if described["failures"]:
                raise invalid(f"Container instance {request['containerInstance']!r} not found.")
            arn = described["containerInstances"][0]["containerInstanceArn"]
            live = self._live_tasks(record, arn)
            if live and not force:
                raise invalid("Found running tasks on the instance.")
            entry = record.cluster.deregister_container_instance(request["containerInstance"], force=True)
        self._deregistered(record, arn, live)
        return {"containerInstance": _timestamps(entry)}

    def force_deregister(self, record, position: int) -> None:
        """A forced DeregisterContainerInstance of a known instance, without the two descriptions
        the API call makes (Auto Scaling's terminations discard the JSON; the state is the same)."""
        arn = record.cluster.state.arns[position]
        live = self._live_tasks(record, arn)
        record.cluster.mark_inactive(position)
        self._deregistered(record, arn, live)

    @staticmethod
    def _live_tasks(record, arn: str) -> list:
        return [t for t in record.instance_tasks.get(arn, {}).values() if t.desired_status == "RUNNING"]

    def _deregistered(self, record, arn: str, live: list) -> None:
        """After the instance turned INACTIVE: it drains no more, and its live tasks stop."""
        record.draining.discard(arn)
        self.__dict__["_capacity_epoch"] = self.__dict__.get("_capacity_epoch", 0) + 1
        for task in live:
            self.lifecycle.stop(task, self.now, "ServiceSchedulerInitiated" if task.service else "UserInitiated",
                                "Container instance deregistered")
        self._daemons_dirty(record)

    def describe_container_instances(self, request: dict) -> dict:
        record = self.record(request.get("cluster"))
        with api_errors("InvalidParameterException"):
            out = record.cluster.describe_container_instances(request["containerInstances"],
                                                              include=request.get("include"))
        out["containerInstances"] = [_timestamps(e) for e in out["containerInstances"]]
        return out

    def list_container_instances(self, request: dict) -> dict:
        record = self.record(request.get("cluster"))
        with api_errors("InvalidParameterException"):
            arns = record.cluster.list_container_instances(filter=request.get("filter"),
                                                           status=request.get("status"))
        return page(arns, request, "containerInstanceArns")

    def update_container_instances_state(self, request: dict) -> dict:
        record = self.record(request.get("cluster"))
        with api_errors("InvalidParameterException"):
            out = record.cluster.update_container_instances_state(request["containerInstances"],
                                                                  request["status"])
        touched = set()
        for entry in out["containerInstances"]:
            arn = entry["containerInstanceArn"]
            draining = entry["status"] == "DRAINING"
            (record.draining.add if draining else record.draining.discard)(arn)
            for task in record.instance_tasks.get(arn, {}).values():
                task.on_draining = draining
                if task.deployment is not None:    # its deployment counts it by it
                    task.deployment.retally(task)
                if task.service in record.services:
                    touched.add(task.service)
        for name in touched:
            self.scheduler.mark(record.services[name])
        self._daemons_dirty(record)
        out["containerInstances"] = [_timestamps(e) for e in out["containerInstances"]]
        return out

    def put_attributes(self, request: dict) -> dict:
        return self._change_attributes(request, "put_attributes")

    def delete_attributes(self, request: dict) -> dict:
        return self._change_attributes(request, "delete_attributes")

    def _change_attributes(self, request: dict, method: str) -> dict:
        """Put/DeleteAttributes: the cluster's own method, then DAEMON services re-check their instances."""
        record = self.record(request.get("cluster"))
        with api_errors("TargetNotFoundException"):
            out = getattr(record.cluster, method)(request["attributes"])
        self._daemons_dirty(record)
        return out

    def list_attributes(self, request: dict) -> dict:
        record = self.record(request.get("cluster"))
        with api_errors("InvalidParameterException"):
            out = record.cluster.list_attributes(request["targetType"], request.get("attributeName"),
                                                 request.get("attributeValue"))
        return page(out["attributes"], request, "attributes")

