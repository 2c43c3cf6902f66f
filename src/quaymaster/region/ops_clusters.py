"""Cluster operations of the region (CreateCluster, DescribeClusters, ...)."""

from __future__ import annotations

import copy
import re

from quaymaster.cluster import Cluster
from quaymaster.region.errors import invalid
from quaymaster.region.paging import page
from quaymaster.region.state import ClusterRecord
from quaymaster.errors import ServiceError

_CLUSTER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
NOT_FOUND = "Cluster not found."


class ClusterOps:
    def cluster_arn(self, name: str) -> str:
        return f"arn:aws:ecs:{self.name}:{self.account}:cluster/{name}"

    def _cluster_name(self, ref) -> str:
        if ref is None:
            return "default"
        if ref.startswith("arn:"):
            return ref.rsplit("/", 1)[-1]
        return ref

    def record(self, ref=None, *, create_default: bool = True) -> ClusterRecord:
        """The ACTIVE cluster named by name or ARN; ``default`` springs into being when named."""
        name = self._cluster_name(ref)
        record = self.clusters.get(name)
        if record is None and name == "default" and create_default:
            record = self._new_cluster("default")
        if record is None or record.status != "ACTIVE":
            raise ServiceError("ClusterNotFoundException", NOT_FOUND)
        return record

    def _new_cluster(self, name: str, tags=(), settings=None, configuration=None) -> ClusterRecord:
        cluster = Cluster(name, region=self.name, account=self.account)
        record = ClusterRecord(name=name, arn=cluster.arn, cluster=cluster, tags=list(tags))
        if settings:
            record.settings = list(settings)
        record.configuration = configuration
        self.clusters[name] = record
        return record

    # -- operations ---------------------------------------------------------

    def create_cluster(self, request: dict) -> dict:
        name = request.get("clusterName", "default")
        if not _CLUSTER_NAME.match(name):
            raise invalid("Cluster name must be 1 to 255 letters, numbers, hyphens and underscores.")
        self._check_tags(request.get("tags", []))
        providers = list(request.get("capacityProviders", []))
        strategy = list(request.get("defaultCapacityProviderStrategy", []))
        self.check_cluster_providers(providers, strategy)
        record = self.clusters.get(name)
        if record is None or record.status != "ACTIVE":
            record = self._new_cluster(name, request.get("tags", []), request.get("settings"),
                                       request.get("configuration"))
            record.capacity_providers, record.default_strategy = providers, copy.deepcopy(strategy)
        return {"cluster": self.describe_record(record)}

    def delete_cluster(self, request: dict) -> dict:
        record = self.record(request["cluster"], create_default=False)
        if record.services:
            raise ServiceError("ClusterContainsServicesException",
                               "The Cluster cannot be deleted while Services are active.")
        if any(True for _ in record.live_tasks()):
            raise ServiceError("ClusterContainsTasksException",
                               "The Cluster cannot be deleted while Tasks are active.")
        if record.cluster.list_container_instances():
            raise ServiceError("ClusterContainsContainerInstancesException",
                               "The Cluster cannot be deleted while Container Instances are active or draining.")
        record.status = "INACTIVE"
        return {"cluster": self.describe_record(record)}

    def describe_clusters(self, request: dict) -> dict:
        clusters, failures = [], []
        for ref in request.get("clusters", ["default"]):
            name = self._cluster_name(ref)
            record = self.clusters.get(name)
            if record is None and name == "default":
                record = self._new_cluster("default")
            if record is None:
                failures.append({"arn": ref if ref.startswith("arn:") else self.cluster_arn(ref),
                                 "reason": "MISSING"})
            else:
                clusters.append(self.describe_record(record, "TAGS" in request.get("include", [])))
        return {"clusters": clusters, "failures": failures}

    def list_clusters(self, request: dict) -> dict:
        arns = [r.arn for r in self.clusters.values() if r.status == "ACTIVE"]
        return page(arns, request, "clusterArns")

    def update_cluster(self, request: dict) -> dict:
        record = self.record(request["cluster"], create_default=False)
        if "settings" in request:
            record.settings = self._merged_settings(record, request["settings"])
        if "configuration" in request:
            record.configuration = request["configuration"]
        return {"cluster": self.describe_record(record)}

    def update_cluster_settings(self, request: dict) -> dict:
        record = self.record(request["cluster"], create_default=False)
        record.settings = self._merged_settings(record, request["settings"])
        return {"cluster": self.describe_record(record)}

    def _merged_settings(self, record, settings: list) -> list:
        merged = {s["name"]: s for s in record.settings}
        for s in settings:
            if s.get("name") != "containerInsights" or s.get("value") not in ("enabled", "disabled", "enhanced"):
                raise invalid(f"Invalid cluster setting: {s!r}.")
            merged[s["name"]] = dict(s)
        return list(merged.values())

    def describe_record(self, record: ClusterRecord, include_tags: bool = True) -> dict:
        running = pending = 0
        for task in record.live_tasks():
            if task.last_status == "RUNNING":
                running += 1
            else:
                pending += 1
        out = {"clusterArn": record.arn, "clusterName": record.name, "status": record.status,
               "registeredContainerInstancesCount": len(record.cluster.list_container_instances()),
               "runningTasksCount": running, "pendingTasksCount": pending,
               "activeServicesCount": sum(1 for s in record.services.values() if s.status == "ACTIVE"),
               "statistics": [], "settings": list(record.settings), "capacityProviders": list(record.capacity_providers),
               "defaultCapacityProviderStrategy": [dict(item) for item in record.default_strategy]}
        if include_tags:
            out["tags"] = list(record.tags)
        if record.configuration is not None:
            out["configuration"] = record.configuration
        return out
