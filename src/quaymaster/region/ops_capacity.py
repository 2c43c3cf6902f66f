"""ECS capacity provider operations: Create/Update/Delete/DescribeCapacityProviders and
PutClusterCapacityProviders (a cluster's providers and its default strategy).

FARGATE and FARGATE_SPOT are not created: every cluster may list them (their tasks are the
region's Fargate tasks, ``region.fargate_host``). A provider links an Auto Scaling group of the region (by ``autoScalingGroupArn``,
matched on its ``autoScalingGroupName/<name>`` part or the plain name) with
managed scaling settings (``scaling.managed.ManagedScaling``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from quaymaster.errors import ServiceError
from quaymaster.region.errors import invalid
from quaymaster.scaling import ManagedScaling, parse_strategy

_RESERVED = ("FARGATE", "FARGATE_SPOT")
MAX_PROVIDERS_PER_CLUSTER = 20


@dataclass(eq=False)
class CapacityProviderRecord:
    name: str
    arn: str
    group: str                      # the request's autoScalingGroupArn
    settings: ManagedScaling
    request: dict                   # autoScalingGroupProvider as given, echoed by Describe
    tags: list = field(default_factory=list)


def _provider_member(request: dict, settings: ManagedScaling) -> dict:
    member = copy.deepcopy(request)
    managed = member.setdefault("managedScaling", {})
    managed.update({"status": "ENABLED" if settings.enabled else "DISABLED",
                    "targetCapacity": settings.target_capacity,
                    "minimumScalingStepSize": settings.minimum_scaling_step_size,
                    "maximumScalingStepSize": settings.maximum_scaling_step_size,
                    "instanceWarmupPeriod": settings.instance_warmup_period})
    member["managedTerminationProtection"] = ("ENABLED" if settings.managed_termination_protection
                                              else "DISABLED")
    return member


class CapacityProviderOps:
    """Mixin of Region; ``self.capacity_providers`` maps names to records, in creation order."""

    def _provider(self, ref: str) -> CapacityProviderRecord:
        name = ref.rsplit("/", 1)[-1] if ref.startswith("arn:") else ref
        record = self.capacity_providers.get(name)
        if record is None:
            raise invalid(f"The specified capacity provider {ref} does not exist.")
        return record

    def create_capacity_provider(self, request: dict) -> dict:
        name = request["name"]
        if name in self.capacity_providers:
            raise invalid(f"The specified capacity provider {name} already exists.")
        if name in _RESERVED or name.lower().startswith(("aws", "ecs", "fargate")):
            raise invalid(f"The capacity provider name {name} is reserved.")
        provider = request.get("autoScalingGroupProvider")
        if provider is None:
            raise invalid("autoScalingGroupProvider is required.")
        group = provider["autoScalingGroupArn"]
        if self.scaling.autoscaling.find_group(group) is None:
            raise invalid(f"autoScalingGroupProvider.autoScalingGroupArn: no Auto Scaling group {group!r}.")
        if any(p.group == group for p in self.capacity_providers.values()):
            raise invalid(f"The Auto Scaling group {group} is already used by another capacity provider.")
        settings = ManagedScaling.from_request(provider.get("managedScaling"),
                                               provider.get("managedTerminationProtection"))
        arn = f"arn:aws:ecs:{self.name}:{self.account}:capacity-provider/{name}"
        record = CapacityProviderRecord(name, arn, group, settings, copy.deepcopy(provider),
                                        list(request.get("tags", [])))
        self.capacity_providers[name] = record
        return {"capacityProvider": self._describe_provider(record)}

    def update_capacity_provider(self, request: dict) -> dict:
        record = self._provider(request["name"])
        change = request.get("autoScalingGroupProvider") or {}
        merged = copy.deepcopy(record.request)
        if "managedScaling" in change:
            merged["managedScaling"] = {**merged.get("managedScaling", {}), **change["managedScaling"]}
        for key in ("managedTerminationProtection", "managedDraining"):
            if key in change:
                merged[key] = change[key]
        settings = ManagedScaling.from_request(merged.get("managedScaling"),
                                               merged.get("managedTerminationProtection"))
        record.settings, record.request = settings, merged
        return {"capacityProvider": self._describe_provider(record)}

    def delete_capacity_provider(self, request: dict) -> dict:
        record = self._provider(request["capacityProvider"])
        for cluster in self.clusters.values():
            if cluster.status == "ACTIVE" and record.name in cluster.capacity_providers:
                raise ServiceError("ClientException", f"The capacity provider {record.name} is associated "
                                   f"with cluster {cluster.name}; remove it with PutClusterCapacityProviders.")
        del self.capacity_providers[record.name]
        self.scaling.providers.forget(record.name)
        described = self._describe_provider(record)
        described["status"] = "INACTIVE"
        return {"capacityProvider": described}

    def describe_capacity_providers(self, request: dict) -> dict:
        wanted = request.get("capacityProviders")
        found, failures = [], []
        if wanted is None:
            found = [self._describe_fargate(n) for n in _RESERVED]
            found += [self._describe_provider(r) for r in self.capacity_providers.values()]
        else:
            for ref in wanted:
                name = ref.rsplit("/", 1)[-1]
                if name in _RESERVED:
                    found.append(self._describe_fargate(name))
                elif name in self.capacity_providers:
                    found.append(self._describe_provider(self.capacity_providers[name]))
                else:
                    failures.append({"arn": ref, "reason": "MISSING"})
        if "TAGS" not in request.get("include", []):
            for item in found:
                item.pop("tags", None)
        return {"capacityProviders": found, "failures": failures}

    def _describe_provider(self, record: CapacityProviderRecord) -> dict:
        return {"capacityProviderArn": record.arn, "name": record.name, "status": "ACTIVE",
                "autoScalingGroupProvider": _provider_member(record.request, record.settings),
                "updateStatus": "UPDATE_COMPLETE", "tags": list(record.tags), "type": "EC2_AUTOSCALING"}

    def _describe_fargate(self, name: str) -> dict:
        """FARGATE and FARGATE_SPOT: always there, for a cluster to list (no Auto Scaling group)."""
        return {"capacityProviderArn": f"arn:aws:ecs:{self.name}:{self.account}:capacity-provider/{name}",
                "name": name, "status": "ACTIVE", "tags": []}

    def check_cluster_providers(self, names: list, strategy: list) -> None:
        """A cluster's capacityProviders (created ones, FARGATE, FARGATE_SPOT) and default
        strategy over them (PutClusterCapacityProviders, CreateCluster), checked."""
        if len(names) > MAX_PROVIDERS_PER_CLUSTER:
            raise invalid(f"capacityProviders can have at most {MAX_PROVIDERS_PER_CLUSTER} items.")
        for index, name in enumerate(names):
            if name not in self.capacity_providers and name not in _RESERVED:
                raise invalid(f"capacityProviders[{index}]: the capacity provider {name} does not exist.")
        items = parse_strategy(strategy) if strategy else ()
        for item in items:
            if item.capacity_provider not in names:
                raise invalid(f"defaultCapacityProviderStrategy: {item.capacity_provider} is not one of "
                              "the cluster's capacityProviders.")

    def put_cluster_capacity_providers(self, request: dict) -> dict:
        cluster = self.record(request["cluster"])
        names = list(request["capacityProviders"])
        strategy = request["defaultCapacityProviderStrategy"]
        self.check_cluster_providers(names, strategy)
        for service in cluster.services.values():
            used = {item["capacityProvider"] for item in service.capacity_provider_strategy}
            if used - set(names):
                raise ServiceError("ResourceInUseException", f"The capacity provider "
                                   f"{sorted(used - set(names))[0]} is in use by service {service.name} "
                                   "and cannot be removed from the cluster.")
        cluster.capacity_providers = names
        cluster.default_strategy = copy.deepcopy(strategy)
        return {"cluster": self.describe_record(cluster)}
