"""CreateService, UpdateService, DeleteService, DescribeServices, ListServices, service deployments."""

from __future__ import annotations

import re

from quaymaster.clock import instant_ms
from quaymaster.errors import ServiceError
from quaymaster.loadbalancing.attach import check_load_balancers
from quaymaster.region.ops_tasksets import uses_task_sets
from quaymaster.region.batch import describe_each
from quaymaster.region.errors import invalid
from quaymaster.region.fargate_host import check_fargate_definition, fargate_subnets
from quaymaster.scaling.fargate import check_platform_version, resolve_platform_version
from quaymaster.region.launch_plan import check_no_placement_for_fargate, resolve_strategy, uses_fargate
from quaymaster.region.paging import page
from quaymaster.services import config
from quaymaster.services.events import EventLog
from quaymaster.services.model import (
    Service,
    service_deployment_brief,
    service_deployment_status,
    service_deployment_to_ecs,
)

_SERVICE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
SERVICES_PER_CLUSTER = 5000


class ServiceEventSink:
    """Where a service's events go besides its log: the region's recorder (a named callable
    rather than a closure, so that a region snapshot can write it)."""

    def __init__(self, region, cluster: str, service: str):
        self.region, self.cluster, self.service = region, cluster, service

    def __call__(self, now: int, message: str) -> None:
        self.region.record_event(self.cluster, self.service, now, message)


def _service_not_found() -> ServiceError:
    return ServiceError("ServiceNotFoundException", "Service not found.")


class ServiceOps:
    def service_arn(self, cluster: str, name: str) -> str:
        return f"arn:aws:ecs:{self.name}:{self.account}:service/{cluster}/{name}"

    def find_service(self, record, ref: str, *, active: bool = True) -> Service:
        name = ref.rsplit("/", 1)[-1] if ref.startswith("arn:") else ref
        service = record.services.get(name)
        if service is None:
            if not active and name in record.inactive_services:
                return record.inactive_services[name]
            raise _service_not_found()
        if active and service.status != "ACTIVE":
            raise ServiceError("ServiceNotActiveException", "Service was not ACTIVE.")
        return service

    def create_service(self, request: dict) -> dict:
        record = self.record(request.get("cluster"))
        name = request["serviceName"]
        if not _SERVICE_NAME.match(name):
            raise invalid("Service name must be 1 to 255 letters, numbers, hyphens and underscores.")
        if name in record.services:
            raise invalid("Creation of service was not idempotent.")
        if len(record.services) >= SERVICES_PER_CLUSTER:
            raise invalid(f"The cluster already has {SERVICES_PER_CLUSTER} services, the limit.")
        if uses_task_sets(request):   # EXTERNAL / CODE_DEPLOY, or ECS's BLUE_GREEN/LINEAR/CANARY
            return self.create_task_set_service(record, request)
        scheduling = request.get("schedulingStrategy", "REPLICA")
        provider_strategy = resolve_strategy(record, request)
        launch_type = config.check_launch_type({k: v for k, v in request.items()
                                                if k != "capacityProviderStrategy"})
        if "taskDefinition" not in request:
            raise invalid("A task definition is required for a service with the ECS deployment controller.")
        definition = self._runnable(request["taskDefinition"])
        constraints, strategy = config.check_placement(request, definition, launch_type, scheduling)
        check_load_balancers(request.get("loadBalancers"), definition)
        _check_fargate_service(request, definition, launch_type, provider_strategy, scheduling)
        desired = config.check_desired_count(request.get("desiredCount"), scheduling)
        minimum, maximum, enable, rollback = config.check_deployment_configuration(
            request.get("deploymentConfiguration"), scheduling)
        self._check_tags(request.get("tags", []))
        self.service_count += 1
        arn = self.service_arn(record.name, name)
        service = Service(
            name=name, arn=arn, cluster=record.name, cluster_arn=record.arn, seq=self.service_count,
            created_at=self.now, scheduling_strategy=scheduling, desired_count=desired,
            launch_type=launch_type, maximum_percent=maximum, minimum_healthy_percent=minimum,
            breaker_enable=enable, breaker_rollback=rollback, placement_constraints=constraints,
            placement_strategy=strategy, request=request, tags=list(request.get("tags", [])),
            capacity_provider_strategy=provider_strategy)
        service.new_deployment(definition, self.now, self.name, self.account)
        return self.add_service(record, service)

    def add_service(self, record, service: Service) -> dict:
        """A new service joins its cluster (with its event log) and the scheduler's next pass."""
        service.events = EventLog(service.arn, ServiceEventSink(self, record.name, service.name))
        record.services[service.name] = service
        record.inactive_services.pop(service.name, None)
        self.scheduler.mark(service)
        return {"service": service.to_ecs()}

    def update_service(self, request: dict) -> dict:
        record = self.record(request.get("cluster"))
        service = self.find_service(record, request["service"])
        if service.task_sets is not None:   # EXTERNAL / CODE_DEPLOY controller
            return self.update_task_set_service(service, request)
        scheduling = service.scheduling_strategy
        definition = self._runnable(request["taskDefinition"]) if "taskDefinition" in request \
            else service.primary.task_definition
        if "deploymentController" in request:
            config.check_controller(request)
        provider_strategy = service.capacity_provider_strategy
        if request.get("capacityProviderStrategy"):   # a new strategy replaces the launch type
            provider_strategy = resolve_strategy(
                record, {"capacityProviderStrategy": request["capacityProviderStrategy"]})
        launch_type = config.check_launch_type({"launchType": service.launch_type, **{
            k: v for k, v in request.items() if k != "capacityProviderStrategy"}})
        placement = {"placementConstraints": request.get("placementConstraints", service.placement_constraints),
                     "placementStrategy": request.get("placementStrategy", service.placement_strategy)}
        constraints, strategy = config.check_placement(placement, definition, launch_type, scheduling)
        # A new definition must still have the load-balanced container port (else its tasks
        # could never register: refused here, as ECS does, not at the tick that starts them).
        check_load_balancers(request.get("loadBalancers", service.request.get("loadBalancers")), definition)
        _check_fargate_service({**placement, **{key: request.get(key, service.request.get(key)) for key in (
            "networkConfiguration", "platformVersion")}}, definition, launch_type, provider_strategy, scheduling)
        desired = service.desired_count
        if "desiredCount" in request:
            desired = config.check_desired_count(request["desiredCount"], scheduling)
        current = (service.minimum_healthy_percent, service.maximum_percent, service.breaker_enable,
                   service.breaker_rollback)
        minimum, maximum, enable, rollback = config.check_deployment_configuration(
            request.get("deploymentConfiguration"), scheduling, current)
        needs_new_deployment = bool(request.get("forceNewDeployment")) or \
            definition.arn != service.primary.task_definition.arn or \
            constraints != service.placement_constraints or strategy != service.placement_strategy or \
            provider_strategy != service.capacity_provider_strategy or \
            any(k in request and request[k] != service.request.get(k)
                for k in ("loadBalancers", "networkConfiguration", "platformVersion"))
        # Everything is checked: now change.
        service.desired_count = desired
        service.minimum_healthy_percent, service.maximum_percent = minimum, maximum
        service.breaker_enable, service.breaker_rollback = enable, rollback
        service.placement_constraints, service.placement_strategy = constraints, strategy
        service.launch_type = launch_type
        service.capacity_provider_strategy = provider_strategy
        for key in ("loadBalancers", "networkConfiguration", "platformVersion", "healthCheckGracePeriodSeconds",
                    "enableExecuteCommand", "enableECSManagedTags", "propagateTags"):
            if key in request:
                service.request[key] = request[key]
        if needs_new_deployment:
            service.new_deployment(definition, self.now, self.name, self.account)
            self.scheduler.reset_for_deployment(service)
        self.scheduler.mark(service)
        return {"service": service.to_ecs()}

    def delete_service(self, request: dict) -> dict:
        record = self.record(request.get("cluster"))
        service = self.find_service(record, request["service"], active=False)
        if service.status == "INACTIVE":
            raise ServiceError("ServiceNotActiveException", "Service was not ACTIVE.")
        if service.scheduling_strategy == "REPLICA" and service.desired_count > 0 and not request.get("force"):
            raise invalid("The service cannot be stopped while it is scaled above 0.")
        service.status = "DRAINING"
        service.desired_count = 0
        self.scheduler.mark(service)
        return {"service": service.to_ecs()}

    def describe_services(self, request: dict) -> dict:
        record = self.record(request.get("cluster"))
        with_tags = "TAGS" in request.get("include", [])

        def describe(ref: str) -> dict:
            described = self.find_service(record, ref, active=False).to_ecs()
            if not with_tags:
                described.pop("tags")
            return described
        found, failures = describe_each(
            request["services"], describe, member="services", limit=10,
            arn_of=lambda ref: ref if ref.startswith("arn:") else self.service_arn(record.name, ref))
        return {"services": found, "failures": failures}

    def list_services(self, request: dict) -> dict:
        record = self.record(request.get("cluster"))
        arns = [s.arn for s in sorted(record.services.values(), key=lambda s: s.seq)
                if request.get("launchType") in (None, None if s.capacity_provider_strategy else s.launch_type)
                and request.get("schedulingStrategy") in (None, s.scheduling_strategy)]
        return page(arns, request, "serviceArns", default_max=10)

    # -- service deployments ------------------------------------------------

    def list_service_deployments(self, request: dict) -> dict:
        record = self.record(request.get("cluster"))
        service = self.find_service(record, request["service"], active=False)
        statuses = request.get("status")
        window = request.get("createdAt") or {}
        after = _instant(window.get("after"))
        before = _instant(window.get("before"))
        briefs = []
        for d in reversed(service.history):
            if statuses and service_deployment_status(d) not in statuses:
                continue
            if (after is not None and d.created_at < after) or (before is not None and d.created_at > before):
                continue
            briefs.append(service_deployment_brief(service, d))
        return page(briefs, request, "serviceDeployments", default_max=20, limit=100)

    def describe_service_deployments(self, request: dict) -> dict:
        index = {}
        for record in self.clusters.values():
            for service in [*record.services.values(), *record.inactive_services.values()]:
                for d in service.history:
                    index[d.service_deployment_arn] = (service, d)

        def describe(arn: str) -> dict:
            if arn not in index:
                raise ServiceError("ServiceDeploymentNotFoundException", arn)
            return service_deployment_to_ecs(*index[arn])
        found, failures = describe_each(request["serviceDeploymentArns"], describe,
                                        member="serviceDeploymentArns", limit=20)
        return {"serviceDeployments": found, "failures": failures}


def _check_fargate_service(request: dict, definition, launch_type: str, provider_strategy: list,
                           scheduling: str) -> None:
    """What a service whose tasks may run on Fargate needs: no placement, a Fargate definition,
    subnets; DAEMON services cannot run on Fargate (they follow instances)."""
    on_fargate = uses_fargate(launch_type, provider_strategy)
    check_platform_version(request.get("platformVersion"), launch_type, on_fargate)
    if not on_fargate:
        return
    if scheduling == "DAEMON":
        raise invalid("schedulingStrategy: the DAEMON scheduling strategy is not supported with the FARGATE "
                      "launch type or capacity providers.")
    check_no_placement_for_fargate(request)
    check_fargate_definition(definition)
    fargate_subnets(request)
    resolve_platform_version(request.get("platformVersion"), definition)


def _instant(value) -> int | None:
    return None if value is None else instant_ms(value, field="createdAt")
