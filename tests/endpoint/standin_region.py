"""TEST-ONLY stand-in for the region (``quaymaster.region.Region``), which is being
built on another branch and is not merged yet.

It implements the region's contract as the endpoint uses it --
``handle(service, operation, request)``, ``clock``, ``advance(seconds)``,
``export_state()`` / ``import_state()`` -- for a handful of operations with real
state (clusters and their tags, Auto Scaling groups), so the endpoint's tests
exercise real round trips. It is not a model of ECS: after the merge the tests
switch to the real Region and this file goes away.
"""

from __future__ import annotations

import copy
import datetime as dt

from quaymaster.errors import ServiceError

EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


class StandInRegion:
    def __init__(self, region: str = "us-east-1", account: str = "123456789012"):
        self.name, self.account = region, account
        self.seconds = 0.0
        self.clusters: dict[str, dict] = {}   # name -> {"status", "tags", "created"}
        self.groups: dict[str, dict] = {}

    @property
    def clock(self) -> dt.datetime:
        return EPOCH + dt.timedelta(seconds=self.seconds)

    def advance(self, seconds: float) -> None:
        self.seconds += seconds

    def export_state(self) -> dict:
        return {"seconds": self.seconds, "clusters": copy.deepcopy(self.clusters),
                "groups": copy.deepcopy(self.groups)}

    def import_state(self, state: dict) -> None:
        self.seconds = state["seconds"]
        self.clusters = copy.deepcopy(state["clusters"])
        self.groups = copy.deepcopy(state["groups"])

    def handle(self, service: str, operation: str, request: dict) -> dict:
        method = getattr(self, f"_{service.replace('-', '_')}_{operation}", None)
        if method is None:
            raise ServiceError("InvalidParameterException",
                               f"{operation} is not implemented by the test stand-in region")
        return method(request)

    # --- ECS -------------------------------------------------------------------

    def _arn(self, name: str) -> str:
        return f"arn:aws:ecs:{self.name}:{self.account}:cluster/{name}"

    def _name(self, ref: str) -> str:
        return ref.rsplit("/", 1)[-1] if ref.startswith("arn:") else ref

    def _cluster(self, name: str) -> dict:
        record = self.clusters[name]
        return {"clusterArn": self._arn(name), "clusterName": name, "status": record["status"],
                "registeredContainerInstancesCount": 0, "runningTasksCount": 0,
                "pendingTasksCount": 0, "activeServicesCount": 0,
                "tags": [{"key": k, "value": v} for k, v in record["tags"].items()]}

    def _ecs_CreateCluster(self, request: dict) -> dict:
        name = request.get("clusterName", "default")
        if name.startswith("bad-"):  # a modeled refusal the tests can provoke
            raise ServiceError("InvalidParameterException", f"Cluster name {name!r} is refused")
        if name == "boom-internal":  # a bug after a partial change: the endpoint must undo it
            self.clusters[name] = {"status": "ACTIVE", "tags": {}}
            raise RuntimeError("stand-in region: simulated internal failure")
        if name not in self.clusters or self.clusters[name]["status"] == "INACTIVE":
            tags = {t["key"]: t["value"] for t in request.get("tags", [])}
            self.clusters[name] = {"status": "ACTIVE", "tags": tags}
        return {"cluster": self._cluster(name)}

    def _ecs_DeleteCluster(self, request: dict) -> dict:
        name = self._name(request["cluster"])
        if name not in self.clusters or self.clusters[name]["status"] != "ACTIVE":
            raise ServiceError("ClusterNotFoundException", "Cluster not found.")
        self.clusters[name]["status"] = "INACTIVE"
        return {"cluster": self._cluster(name)}

    def _ecs_ListClusters(self, request: dict) -> dict:
        names = sorted(n for n, c in self.clusters.items() if c["status"] == "ACTIVE")
        start = int(request.get("nextToken") or 0)
        size = request.get("maxResults", 100)
        page = names[start:start + size]
        answer = {"clusterArns": [self._arn(n) for n in page]}
        if start + size < len(names):
            answer["nextToken"] = str(start + size)
        return answer

    def _ecs_DescribeClusters(self, request: dict) -> dict:
        clusters, failures = [], []
        for ref in request.get("clusters", ["default"]):
            name = self._name(ref)
            if name in self.clusters:
                clusters.append(self._cluster(name))
            else:
                failures.append({"arn": self._arn(name), "reason": "MISSING"})
        return {"clusters": clusters, "failures": failures}

    def _ecs_TagResource(self, request: dict) -> dict:
        name = self._name(request["resourceArn"])
        if name not in self.clusters:
            raise ServiceError("ClusterNotFoundException", "Cluster not found.")
        self.clusters[name]["tags"].update({t["key"]: t["value"] for t in request["tags"]})
        return {}

    def _ecs_ListTagsForResource(self, request: dict) -> dict:
        name = self._name(request["resourceArn"])
        if name not in self.clusters:
            raise ServiceError("ClusterNotFoundException", "Cluster not found.")
        return {"tags": [{"key": k, "value": v} for k, v in self.clusters[name]["tags"].items()]}

    # --- EC2 Auto Scaling --------------------------------------------------------

    def _autoscaling_CreateAutoScalingGroup(self, request: dict) -> dict:
        name = request["AutoScalingGroupName"]
        if name in self.groups:
            raise ServiceError("AlreadyExists", f"AutoScalingGroup by this name already exists - "
                               f"A group with the name {name} already exists")
        self.groups[name] = {"min": request["MinSize"], "max": request["MaxSize"],
                             "desired": request.get("DesiredCapacity", request["MinSize"]),
                             "zones": request.get("AvailabilityZones", []),
                             "created": self.seconds}
        return {}

    def _autoscaling_DescribeAutoScalingGroups(self, request: dict) -> dict:
        wanted = request.get("AutoScalingGroupNames") or sorted(self.groups)
        groups = []
        for name in wanted:
            if name in self.groups:
                g = self.groups[name]
                groups.append({"AutoScalingGroupName": name, "MinSize": g["min"],
                               "MaxSize": g["max"], "DesiredCapacity": g["desired"],
                               "DefaultCooldown": 300, "AvailabilityZones": g["zones"],
                               "HealthCheckType": "EC2", "Instances": [],
                               "CreatedTime": EPOCH + dt.timedelta(seconds=g["created"])})
        return {"AutoScalingGroups": groups}
