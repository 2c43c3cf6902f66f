"""Task set operations (EXTERNAL / CODE_DEPLOY controllers) and services without ECS's rolling controller.

CreateTaskSet, UpdateTaskSet, DeleteTaskSet, DescribeTaskSets and
UpdateServicePrimaryTaskSet take botocore's request shapes and answer its
response shapes. Task sets are only for services whose deployment controller
is ``EXTERNAL`` (or ``CODE_DEPLOY``, whose sets the blue/green driver makes);
anything else is ECS's ``InvalidParameterException``. Every check runs before
anything changes.
"""

from __future__ import annotations

from types import SimpleNamespace

from quaymaster.errors import ServiceError
from quaymaster.loadbalancing.traffic import DEFAULT_WAIT_MINUTES, codedeploy_plan, ecs_strategy_plan
from quaymaster.loadbalancing.attach import check_load_balancers
from quaymaster.region.batch import describe_each
from quaymaster.region.errors import invalid
from quaymaster.scaling.fargate import check_platform_version, resolve_platform_version
from quaymaster.services import config
from quaymaster.services.bluegreen import READY_TIMEOUT_MINUTES, BlueGreenDeployment
from quaymaster.services.model import Service
from quaymaster.services.tasksets import SHIFT_KEYS, TaskSet
from quaymaster.streams import key_hash

TASK_SET_CONTROLLERS = ("EXTERNAL", "CODE_DEPLOY")
SHIFTING_STRATEGIES = ("BLUE_GREEN", "LINEAR", "CANARY")


def controller_of(request: dict) -> str:
    return (request.get("deploymentController") or {}).get("type", "ECS")


def shifting_strategy(request: dict) -> str | None:
    strategy = (request.get("deploymentConfiguration") or {}).get("strategy")
    return strategy if strategy in SHIFTING_STRATEGIES else None


def uses_task_sets(request: dict) -> bool:
    """A CreateService request whose service runs task sets rather than rolling deployments."""
    return controller_of(request) != "ECS" or shifting_strategy(request) is not None


def _check_scale(scale: dict | None) -> float:
    scale = {"value": 100.0, "unit": "PERCENT"} if scale is None else scale
    value = scale.get("value", 100.0)
    if scale.get("unit", "PERCENT") != "PERCENT" or not 0 <= value <= 100:
        raise invalid(f"scale must be between 0 and 100 PERCENT, found {scale!r}.")
    return float(value)


class TaskSetOps:
    # -- services whose controller is EXTERNAL or CODE_DEPLOY ----------------

    def create_task_set_service(self, record, request: dict) -> dict:
        """CreateService for a task-set controller: no deployment; CODE_DEPLOY starts its first set."""
        controller = controller_of(request)
        strategy = shifting_strategy(request)
        if controller not in TASK_SET_CONTROLLERS and not (controller == "ECS" and strategy):
            raise invalid(f"Deployment controller {controller} is not valid.")
        if strategy and controller != "ECS":
            raise invalid(f"deploymentConfiguration.strategy {strategy} requires the ECS deployment controller.")
        deployment_configuration = dict(request.get("deploymentConfiguration") or {})
        if strategy:
            ecs_strategy_plan(deployment_configuration)      # refuse a bad configuration now
        name = request["serviceName"]
        scheduling = request.get("schedulingStrategy", "REPLICA")
        if scheduling != "REPLICA":
            raise invalid(f"The {controller} deployment controller supports only the REPLICA scheduling strategy.")
        launch_type = config.check_launch_type(request)
        definition = None
        if controller != "EXTERNAL":
            if "taskDefinition" not in request:
                raise invalid(f"A task definition is required for a service with the {controller} "
                              f"deployment controller.")
            definition = self._runnable(request["taskDefinition"])
        elif "taskDefinition" in request:
            raise invalid("A task definition is not allowed with the EXTERNAL deployment controller; "
                          "use CreateTaskSet.")
        constraints, strategy = config.check_placement(
            request, definition or SimpleNamespace(member_of=()), launch_type, scheduling)
        check_load_balancers(request.get("loadBalancers"), definition)
        check_platform_version(request.get("platformVersion"), launch_type, launch_type == "FARGATE")
        if definition is not None and launch_type == "FARGATE":
            resolve_platform_version(request.get("platformVersion"), definition)
        desired = config.check_desired_count(request.get("desiredCount"), scheduling)
        minimum, maximum, enable, rollback = config.check_deployment_configuration(
            {k: v for k, v in deployment_configuration.items() if k not in SHIFT_KEYS}, scheduling)
        self._check_tags(request.get("tags", []))
        self.service_count += 1
        service = Service(
            name=name, arn=self.service_arn(record.name, name), cluster=record.name, cluster_arn=record.arn,
            seq=self.service_count, created_at=self.now, scheduling_strategy=scheduling, desired_count=desired,
            launch_type=launch_type, maximum_percent=maximum, minimum_healthy_percent=minimum,
            breaker_enable=enable, breaker_rollback=rollback, placement_constraints=constraints,
            placement_strategy=strategy, request=request, tags=list(request.get("tags", [])))
        service.task_sets = []
        if definition is not None:
            self._new_task_set(service, definition, request, 100.0, primary=True,
                               started_by="CodeDeploy" if controller == "CODE_DEPLOY" else None)
        return self.add_service(record, service)

    def _new_task_set(self, service, definition, request: dict, scale: float, *, started_by=None,
                      primary=False) -> TaskSet:
        n = len(service.history) + 1
        number = key_hash(service.arn, n, "task-set") % 10**19
        task_set_id = f"ecs-svc/{number:019d}"
        launch_type = request.get("launchType", service.launch_type)
        task_set = TaskSet(
            id=task_set_id, arn=f"arn:aws:ecs:{self.name}:{self.account}:task-set/{service.cluster}/"
                                f"{service.name}/{task_set_id}",
            task_definition=definition, created_at=self.now, updated_at=self.now,
            status="PRIMARY" if primary else "ACTIVE", scale=scale, external_id=request.get("externalId"),
            launch_type=launch_type, request=request, stability_at=self.now, started_by=started_by,
            platform_version=resolve_platform_version(request.get("platformVersion",
                                                                   service.request.get("platformVersion")),
                                                      definition) if launch_type == "FARGATE" else None)
        if controller_of(service.request) == "ECS":     # ECS's own strategies: the set is a service deployment
            task_set.deployment_arn = service.deployment_arn(number, self.name, self.account)
        # a task set has no rollout of its own (a blue/green deployment gives green one)
        task_set.rollout_state, task_set.rollout_reason = "COMPLETED", "ECS deployment completed."
        service.task_sets.append(task_set)
        service.deployments.append(task_set)
        service.history.append(task_set)
        self.scheduler.mark(service)
        return task_set

    # -- the operations --------------------------------------------------------

    def _task_set_service(self, request: dict, *, controllers=("EXTERNAL",)):
        record = self.record(request.get("cluster"))
        service = self.find_service(record, request["service"])
        controller = controller_of(service.request)
        if controller not in controllers:
            raise invalid(f"Amazon ECS only supports task set management on services configured to use "
                          f"external deployment controllers; the service uses {controller}.")
        return service

    def _find_task_set(self, service, ref: str) -> TaskSet:
        for task_set in service.task_sets:
            if ref in (task_set.id, task_set.arn):
                return task_set
        raise ServiceError("TaskSetNotFoundException", f"The specified task set {ref} does not exist.")

    def create_task_set(self, request: dict) -> dict:
        service = self._task_set_service(request)
        definition = self._runnable(request["taskDefinition"])
        scale = _check_scale(request.get("scale"))
        check_load_balancers(request.get("loadBalancers"), definition)
        launch_type = config.check_launch_type({"launchType": service.launch_type, **request})
        if launch_type == "FARGATE":
            raise invalid("Launch type FARGATE is not supported by this region's clusters yet.")
        self._check_tags(request.get("tags", []))
        primary = not service.task_sets
        task_set = self._new_task_set(service, definition, request, scale, primary=primary)
        return {"taskSet": task_set.to_ecs(service)}

    def update_task_set(self, request: dict) -> dict:
        service = self._task_set_service(request)
        task_set = self._find_task_set(service, request["taskSet"])
        scale = _check_scale(request["scale"])
        task_set.scale = scale
        task_set.updated_at = self.now
        self.scheduler.mark(service)
        return {"taskSet": task_set.to_ecs(service)}

    def delete_task_set(self, request: dict) -> dict:
        service = self._task_set_service(request)
        task_set = self._find_task_set(service, request["taskSet"])
        if task_set.status == "PRIMARY" and not request.get("force") and len(service.task_sets) > 1:
            raise invalid("The primary task set cannot be deleted while other task sets exist; "
                          "use force to delete it.")
        task_set.status = "DRAINING"
        task_set.updated_at = self.now
        self.scheduler.mark(service)
        return {"taskSet": task_set.to_ecs(service)}

    def describe_task_sets(self, request: dict) -> dict:
        service = self._task_set_service(request, controllers=TASK_SET_CONTROLLERS)
        wanted = request.get("taskSets")
        if wanted is None:
            return {"taskSets": [t.to_ecs(service) for t in service.task_sets], "failures": []}
        found, failures = describe_each(wanted, lambda ref: self._find_task_set(service, ref).to_ecs(service),
                                        member="taskSets")
        return {"taskSets": found, "failures": failures}

    def update_service_primary_task_set(self, request: dict) -> dict:
        service = self._task_set_service(request)
        task_set = self._find_task_set(service, request["primaryTaskSet"])
        if task_set.status == "DRAINING":
            raise invalid(f"The task set {task_set.id} is being deleted and cannot become primary.")
        for other in service.task_sets:
            if other.status == "PRIMARY" and other is not task_set:
                other.status, other.updated_at = "ACTIVE", self.now
        task_set.status, task_set.updated_at = "PRIMARY", self.now
        # PRIMARY first, as DescribeServices lists a service's deployments
        service.deployments.sort(key=lambda d: d.status != "PRIMARY")
        self.scheduler.mark(service)
        return {"taskSet": task_set.to_ecs(service)}

    def update_task_set_service(self, service, request: dict) -> dict:
        """UpdateService of a task-set service: the desired count (task sets scale with it) and little else."""
        controller = controller_of(service.request)
        definition = None
        if shifting_strategy(service.request) and "taskDefinition" in request:
            definition = self._runnable(request["taskDefinition"])
            request = {k: v for k, v in request.items() if k != "taskDefinition"}
        for key in ("taskDefinition", "deploymentController", "placementStrategy", "placementConstraints",
                    "loadBalancers", "networkConfiguration", "forceNewDeployment"):
            if key in request:
                raise invalid(f"{key} cannot be updated for a service using the {controller} deployment "
                              f"controller; create a new task set instead.")
        desired = service.desired_count
        if "desiredCount" in request:
            desired = config.check_desired_count(request["desiredCount"], service.scheduling_strategy)
        if definition is not None:      # ECS's own BLUE_GREEN / LINEAR / CANARY deployment
            plan = ecs_strategy_plan(service.request["deploymentConfiguration"])
            self._start_blue_green(service, definition, plan, None)
        service.desired_count = desired
        for task_set in service.task_sets:
            task_set.updated_at = self.now
        self.scheduler.mark(service)
        return {"service": service.to_ecs()}

    # -- blue/green: CodeDeploy's CreateDeployment for an ECS service ----------

    def create_blue_green_deployment(self, request: dict) -> dict:
        """Start a blue/green deployment of a CODE_DEPLOY service (the simulation's CodeDeploy).

        ``request``: ``cluster``, ``service``, ``taskDefinition``, and either
        ``deploymentConfigName`` (a predefined configuration, default
        ``ECSAllAtOnce``) or ``trafficRoutingConfig`` (CodeDeploy's custom
        TimeBasedLinear / TimeBasedCanary shape); ``terminationWaitTimeInMinutes``
        (default 60); ``readyTimeoutInMinutes``, how long green may take to become
        steady before the deployment fails (default 1440). Returns ``{"deploymentId": ...}``.
        """
        service = self._task_set_service(request, controllers=("CODE_DEPLOY",))
        definition = self._runnable(request["taskDefinition"])
        plan = codedeploy_plan(request.get("trafficRoutingConfig") or request.get("deploymentConfigName",
                                                                                  "ECSAllAtOnce"),
                               request.get("terminationWaitTimeInMinutes", DEFAULT_WAIT_MINUTES))
        timeout = request.get("readyTimeoutInMinutes", READY_TIMEOUT_MINUTES)
        if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
            raise invalid(f"readyTimeoutInMinutes must be an integer of at least 1, found {timeout!r}.")
        return {"deploymentId": self._start_blue_green(service, definition, plan, "CodeDeploy",
                                                       ready_timeout_minutes=timeout).id}

    def _start_blue_green(self, service, definition, plan, started_by: str | None, *,
                          ready_timeout_minutes: int = READY_TIMEOUT_MINUTES):
        current = getattr(service, "blue_green", None)
        if current is not None and not current.finished:
            raise invalid(f"The service {service.name} already has a blue/green deployment in progress "
                          f"({current.id}).")
        blue = next((t for t in service.task_sets if t.status == "PRIMARY"), None)
        if blue is None:
            raise invalid(f"The service {service.name} has no primary task set to deploy from.")
        green = self._new_task_set(service, definition, {"loadBalancers": blue.request.get("loadBalancers", [])},
                                   100.0, started_by=started_by)
        deployment_id = f"d-{key_hash(service.arn, len(service.history)) % 16**9:09X}"
        service.blue_green = BlueGreenDeployment(service, blue, green, plan, self.now, deployment_id,
                                                 ready_timeout_ms=ready_timeout_minutes * 60_000)
        return service.blue_green

    def create_deployment(self, request: dict) -> dict:
        """``codedeploy:CreateDeployment`` of an ECS blue/green deployment group, as a simulation plays it.

        The application is the cluster and the deployment group the service
        (``applicationName`` = cluster name, ``deploymentGroupName`` = service
        name); the revision is an ``AppSpecContent`` whose first resource's
        ``TargetService.Properties.TaskDefinition`` is the green task definition.
        ``deploymentConfigName`` is a predefined (or ``ECSLinear<P>PercentEvery<N>Minutes``
        / ``ECSCanary<P>Percent<N>Minutes``) configuration; the blue task set is
        removed 60 minutes after the shift.
        """
        cluster = request["applicationName"]
        if cluster not in self.clusters or self.clusters[cluster].status != "ACTIVE":
            raise ServiceError("ApplicationDoesNotExistException", f"No application found for name: {cluster}")
        if "deploymentGroupName" not in request:
            raise ServiceError("DeploymentGroupNameRequiredException", "The deployment group name is required.")
        group = request["deploymentGroupName"]
        service = self.clusters[cluster].services.get(group)
        if service is None or controller_of(service.request) != "CODE_DEPLOY":
            raise ServiceError("DeploymentGroupDoesNotExistException",
                               f"No Deployment Group found for name: {group} (an ACTIVE CODE_DEPLOY service).")
        definition = _appspec_task_definition(request.get("revision"))
        try:
            plan = codedeploy_plan(request.get("deploymentConfigName", "CodeDeployDefault.ECSAllAtOnce"))
        except ServiceError as error:
            raise ServiceError("DeploymentConfigDoesNotExistException", str(error)) from None
        try:
            definition = self._runnable(definition)
        except ServiceError as error:
            raise ServiceError("InvalidRevisionException", str(error)) from None
        return {"deploymentId": self._start_blue_green(service, definition, plan, "CodeDeploy").id}


def _appspec_task_definition(revision) -> str:
    import yaml     # AppSpec content is YAML or JSON (a subset of YAML)

    if not revision:
        raise ServiceError("RevisionRequiredException", "The revision is required.")
    if revision.get("revisionType") != "AppSpecContent" or "appSpecContent" not in revision:
        raise ServiceError("InvalidRevisionException", "An ECS deployment's revision must be AppSpecContent.")
    try:
        spec = yaml.safe_load(revision["appSpecContent"].get("content", ""))
        target = spec["Resources"][0]
        properties = next(iter(target.values()))["Properties"]
        definition = properties["TaskDefinition"]
    except (yaml.YAMLError, KeyError, IndexError, TypeError, AttributeError, StopIteration):
        raise ServiceError("InvalidRevisionException", "The AppSpec content must name "
                           "Resources[0].<name>.Properties.TaskDefinition.") from None
    if not isinstance(definition, str):
        raise ServiceError("InvalidRevisionException", "Properties.TaskDefinition must be a string.")
    return definition
