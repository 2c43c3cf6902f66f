"""EC2 Auto Scaling's group operations in botocore's ``autoscaling`` shapes.

:class:`AutoScaling` holds a region's groups. Instance types come from the
fleet catalog: ``MixedInstancesPolicy.LaunchTemplate.Overrides[].InstanceType``
(the catalog's known types, taken in turn), or ``InstanceType`` /
``Overrides`` given inside ``LaunchTemplate`` (a quaymaster extension the model
lacks, removed before the request is checked). Zones come from
``AvailabilityZones``. Each tick the region calls :meth:`AutoScaling.reconcile`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from quaymaster.errors import ServiceError
from quaymaster.fleet.catalog import Catalog, InstanceType, load_catalog
from quaymaster.scaling.appautoscaling import page
from quaymaster.scaling.asg import DEFAULT_BOOT_SECONDS, AsgAction, AutoScalingGroup
from quaymaster.scaling.records import uuid_for
from quaymaster.api_models import check_request
from quaymaster.scaling.shapes import from_millis, validation_error

SERVICE = "autoscaling"
MAX_SIZE = 10_000


def _launch_types(request: dict, catalog: Catalog, extension: dict) -> tuple[InstanceType, ...]:
    """The instance types a group launches, in the order launches take them."""
    named: list[tuple[str, str]] = []  # (field, type name)
    overrides = (request.get("MixedInstancesPolicy", {}).get("LaunchTemplate", {}).get("Overrides", []))
    named += [(f"MixedInstancesPolicy.LaunchTemplate.Overrides[{i}].InstanceType", o["InstanceType"])
              for i, o in enumerate(overrides) if "InstanceType" in o]
    named += [(f"LaunchTemplate.Overrides[{i}].InstanceType", o.get("InstanceType"))
              for i, o in enumerate(extension.get("Overrides", []))]
    if "InstanceType" in extension:
        named.append(("LaunchTemplate.InstanceType", extension["InstanceType"]))
    if not named:
        raise validation_error(SERVICE, "MixedInstancesPolicy.LaunchTemplate.Overrides", None,
                               "give the group's instance types (Overrides[].InstanceType)")
    known = tuple(catalog.types[name] for _, name in named if isinstance(name, str) and name in catalog)
    if not known:
        raise validation_error(SERVICE, named[0][0], named[0][1],
                               "no instance type of the group is in the instance-type catalog")
    return known


def split_extension(request: dict) -> tuple[dict, dict]:
    """The request without the LaunchTemplate extension members, and those members."""
    if not isinstance(request, dict) or not isinstance(request.get("LaunchTemplate"), dict):
        return request, {}
    request = copy.deepcopy(request)
    template = request["LaunchTemplate"]
    extension = {key: template.pop(key) for key in ("InstanceType", "Overrides") if key in template}
    return request, extension


def _check_sizes(low: int, high: int, desired: int) -> None:
    if low < 0 or high > MAX_SIZE:
        raise validation_error(SERVICE, "MinSize" if low < 0 else "MaxSize", low if low < 0 else high,
                               f"must be between 0 and {MAX_SIZE}")
    if high < low:
        raise validation_error(SERVICE, "MaxSize", high, f"must be at least MinSize ({low})")
    if not low <= desired <= high:
        raise ServiceError("ValidationError", f"Desired capacity:{desired} must be between the "
                           f"specified min size:{low} and max size:{high}")


class AutoScaling:
    def __init__(self, *, region: str = "us-east-1", account: str = "123456789012",
                 clock: Callable[[], int] = lambda: 0, seed: int = 0, catalog: Catalog | None = None,
                 boot_seconds: int = DEFAULT_BOOT_SECONDS):
        self.region, self.account, self.clock, self.seed = region, account, clock, seed
        self.catalog = catalog or load_catalog()
        self.boot_seconds = boot_seconds
        self.groups: dict[str, AutoScalingGroup] = {}
        self._pending: list[AsgAction] = []      # terminations of force-deleted groups
        self._ids = 0

    def find_group(self, name_or_arn: str) -> AutoScalingGroup | None:
        """A group by name, ARN, or any ARN whose ``autoScalingGroupName/<name>`` part names it."""
        if not isinstance(name_or_arn, str):
            return None
        return self.groups.get(name_or_arn.rsplit("autoScalingGroupName/", 1)[-1])

    def group(self, name_or_arn: str) -> AutoScalingGroup:
        """As :meth:`find_group`, or ValidationError naming the group."""
        group = self.find_group(name_or_arn)
        if group is None:
            raise validation_error(SERVICE, "AutoScalingGroupName", name_or_arn,
                                   "no Auto Scaling group of that name")
        return group

    def create_auto_scaling_group(self, request: dict) -> dict:
        checked, extension = split_extension(request)
        checked = check_request(SERVICE, "CreateAutoScalingGroup", checked)
        name = checked["AutoScalingGroupName"]
        if name in self.groups:
            raise ServiceError("AlreadyExistsFault", f"AutoScalingGroup by this name already exists - "
                               f"A group with the name {name} already exists")
        types = _launch_types(checked, self.catalog, extension)
        zones = tuple(checked.get("AvailabilityZones", ()))
        if not zones or len(set(zones)) != len(zones):
            raise validation_error(SERVICE, "AvailabilityZones", list(zones),
                                   "give one or more distinct Availability Zones")
        low, high = checked["MinSize"], checked["MaxSize"]
        desired = checked.get("DesiredCapacity", low)
        _check_sizes(low, high, desired)
        self._ids += 1
        arn = (f"arn:aws:autoscaling:{self.region}:{self.account}:autoScalingGroup:"
               f"{uuid_for(self.seed, self._ids)}:autoScalingGroupName/{name}")
        launch = {k: copy.deepcopy(checked[k]) for k in ("LaunchTemplate", "MixedInstancesPolicy")
                  if k in checked}
        self.groups[name] = AutoScalingGroup(
            name, arn, low, high, desired, types, zones, self.clock(), launch, self.boot_seconds,
            bool(checked.get("NewInstancesProtectedFromScaleIn", False)),
            checked.get("DefaultCooldown", 300), seed=self.seed ^ self._ids)
        return {}

    def update_auto_scaling_group(self, request: dict) -> dict:
        checked, extension = split_extension(request)
        checked = check_request(SERVICE, "UpdateAutoScalingGroup", checked)
        group = self.group(checked["AutoScalingGroupName"])
        low = checked.get("MinSize", group.min_size)
        high = checked.get("MaxSize", group.max_size)
        desired = checked.get("DesiredCapacity", min(max(group.desired, low), high))
        _check_sizes(low, high, desired)
        types = group.instance_types
        if "MixedInstancesPolicy" in checked or extension:
            types = _launch_types(checked, self.catalog, extension)
        zones = tuple(checked.get("AvailabilityZones", group.zones))
        if not zones or len(set(zones)) != len(zones):
            raise validation_error(SERVICE, "AvailabilityZones", list(zones),
                                   "give one or more distinct Availability Zones")
        group.min_size, group.max_size, group.desired = low, high, desired
        group.instance_types, group.zones = types, zones
        for key in ("LaunchTemplate", "MixedInstancesPolicy"):
            if key in checked:
                group.request[key] = copy.deepcopy(checked[key])
        if "NewInstancesProtectedFromScaleIn" in checked:
            group.new_instances_protected = checked["NewInstancesProtectedFromScaleIn"]
        group.default_cooldown = checked.get("DefaultCooldown", group.default_cooldown)
        return {}

    def describe_auto_scaling_groups(self, request: dict) -> dict:
        request = check_request(SERVICE, "DescribeAutoScalingGroups", request)
        names = request.get("AutoScalingGroupNames")
        groups = [g for g in self.groups.values() if names is None or g.name in names]
        items = [self._describe(g, request.get("IncludeInstances", True)) for g in groups]
        return page(items, request, "AutoScalingGroups", bad_token="InvalidNextToken", size_member="MaxRecords")

    def _describe(self, group: AutoScalingGroup, include_instances: bool) -> dict:
        item = {"AutoScalingGroupName": group.name, "AutoScalingGroupARN": group.arn,
                "MinSize": group.min_size, "MaxSize": group.max_size,
                "DesiredCapacity": group.desired, "DefaultCooldown": group.default_cooldown,
                "AvailabilityZones": list(group.zones), "HealthCheckType": "EC2",
                "CreatedTime": from_millis(group.created_ms),
                "NewInstancesProtectedFromScaleIn": group.new_instances_protected,
                **copy.deepcopy(group.request)}
        if include_instances:
            item["Instances"] = [{"InstanceId": i.instance_id, "InstanceType": i.instance_type.name,
                                  "AvailabilityZone": i.zone, "LifecycleState": i.lifecycle,
                                  "HealthStatus": "Healthy", "ProtectedFromScaleIn": i.protected}
                                 for i in group.instances.values()]
        return item

    def delete_auto_scaling_group(self, request: dict) -> dict:
        request = check_request(SERVICE, "DeleteAutoScalingGroup", request)
        group = self.group(request["AutoScalingGroupName"])
        if group.instances and not request.get("ForceDelete", False):
            raise ServiceError("ResourceInUseFault", "You cannot delete an AutoScalingGroup while there "
                               "are instances or pending Spot instance request(s) still in the group.")
        self._pending.extend(group.terminate_all(self.clock()))
        del self.groups[group.name]
        return {}

    def set_desired_capacity(self, request: dict) -> dict:
        request = check_request(SERVICE, "SetDesiredCapacity", request)
        group = self.group(request["AutoScalingGroupName"])
        self.set_desired(group, request["DesiredCapacity"])
        return {}

    def set_desired(self, group: AutoScalingGroup, desired: int) -> None:
        """The desired count (SetDesiredCapacity's checks); managed scaling calls this too."""
        if desired > group.max_size:
            raise ServiceError("ValidationError", f"New SetDesiredCapacity value {desired} is above max "
                               f"value {group.max_size} for the AutoScalingGroup.")
        if desired < group.min_size:
            raise ServiceError("ValidationError", f"New SetDesiredCapacity value {desired} is below min "
                               f"value {group.min_size} for the AutoScalingGroup.")
        group.desired = desired

    def set_instance_protection(self, request: dict) -> dict:
        request = check_request(SERVICE, "SetInstanceProtection", request)
        group = self.group(request["AutoScalingGroupName"])
        for index, instance_id in enumerate(request["InstanceIds"]):
            if instance_id not in group.instances:
                raise validation_error(SERVICE, f"InstanceIds[{index}]", instance_id,
                                       f"the instance is not part of Auto Scaling group {group.name}")
        group.set_protection(request["InstanceIds"], request["ProtectedFromScaleIn"])
        return {}

    def reconcile(self, now_ms: int) -> list[AsgAction]:
        """Every group's actions due at ``now_ms`` (groups in creation order)."""
        actions, self._pending = self._pending, []
        for group in self.groups.values():
            actions.extend(group.reconcile(now_ms))
        return actions
