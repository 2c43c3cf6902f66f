"""Auto Scaling groups: instances launched, booted, protected and terminated on the virtual clock.

A group keeps its desired count and decides when instances launch and go;
:meth:`AutoScalingGroup.reconcile` hands the region "register this instance"
and "terminate this instance" actions to carry out (docs/semantics.md,
"Scaling"):

- launches go to the zone with the fewest instances (ties in the group's zone
  order) and take the group's instance types in turn;
- a launched instance registers with the cluster ``boot_seconds`` later;
- scale-in picks unprotected instances from the zone with the most
  instances, the oldest launch first (ties by instance id order of launch).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from quaymaster.fleet.catalog import InstanceType
from quaymaster.keys import splitmix64

DEFAULT_BOOT_SECONDS = 90


@dataclass
class AsgInstance:
    instance_id: str
    instance_type: InstanceType
    zone: str
    launched_ms: int
    registers_ms: int                 # when it registers with the cluster (launch + boot time)
    protected: bool
    lifecycle: str = "Pending"        # Pending -> InService; terminated instances leave the group
    sequence: int = 0                 # launch order, for "oldest first"


@dataclass(frozen=True)
class AsgAction:
    """What the region must do: ``launch`` (booting, counts in N), ``register`` or ``terminate``."""

    kind: str
    group: str
    instance_id: str
    instance_type: InstanceType
    zone: str
    time_ms: int


@dataclass
class AutoScalingGroup:
    name: str
    arn: str
    min_size: int
    max_size: int
    desired: int
    instance_types: tuple[InstanceType, ...]
    zones: tuple[str, ...]
    created_ms: int
    request: dict                     # the create request's launch members, echoed by Describe
    boot_seconds: int = DEFAULT_BOOT_SECONDS
    new_instances_protected: bool = False
    default_cooldown: int = 300
    seed: int = 0
    instances: dict[str, AsgInstance] = field(default_factory=dict)   # in launch order
    launched: int = 0                 # instances ever launched: the type cursor and id counter
    # Kept up to date as instances come and go, so a minute costs nothing per instance:
    zone_counts: dict[str, int] = field(default_factory=dict)
    type_counts: dict[str, int] = field(default_factory=dict)   # instance type name -> instances
    protected_ids: set[str] = field(default_factory=set)
    booting: deque = field(default_factory=deque)   # Pending instance ids, in launch order

    def _instance_id(self) -> str:
        return f"i-{splitmix64(self.seed ^ splitmix64(self.launched)) & ((1 << 68) - 1):017x}"

    def _count(self, zone: str) -> int:
        return self.zone_counts.get(zone, 0)

    def _launch(self, now_ms: int) -> AsgInstance:
        zone = min(self.zones, key=self._count)  # min keeps the first of equal counts
        instance_type = self.instance_types[self.launched % len(self.instance_types)]
        self.launched += 1
        instance = AsgInstance(self._instance_id(), instance_type, zone, now_ms,
                               now_ms + self.boot_seconds * 1000, False, sequence=self.launched)
        self.instances[instance.instance_id] = instance
        self.zone_counts[zone] = self._count(zone) + 1
        self.type_counts[instance_type.name] = self.type_counts.get(instance_type.name, 0) + 1
        self.booting.append(instance.instance_id)
        if self.new_instances_protected:
            self.set_protection([instance.instance_id], True)
        return instance

    def _remove(self, instance: AsgInstance) -> None:
        del self.instances[instance.instance_id]
        self.zone_counts[instance.zone] -= 1
        self.type_counts[instance.instance_type.name] -= 1
        self.protected_ids.discard(instance.instance_id)

    def set_protection(self, instance_ids, protected: bool) -> None:
        """Scale-in protection of instances of the group (unknown ids are the caller's error)."""
        for instance_id in instance_ids:
            self.instances[instance_id].protected = protected
            if protected:
                self.protected_ids.add(instance_id)
            else:
                self.protected_ids.discard(instance_id)

    def _victims(self, count: int) -> list[AsgInstance]:
        """Up to ``count`` instances to terminate, one at a time: an unprotected instance of the
        zone with the most instances, the oldest first (ties: the oldest candidate)."""
        candidates: dict[str, deque] = {}
        for instance in self.instances.values():  # launch order: each zone's queue oldest first
            if not instance.protected:
                candidates.setdefault(instance.zone, deque()).append(instance)
        counts = dict(self.zone_counts)
        chosen: list[AsgInstance] = []
        while len(chosen) < count and candidates:
            zone = min(candidates, key=lambda z: (-counts[z], candidates[z][0].sequence))
            victim = candidates[zone].popleft()
            if not candidates[zone]:
                del candidates[zone]
            counts[zone] -= 1
            chosen.append(victim)
        return chosen

    def reconcile(self, now_ms: int) -> list[AsgAction]:
        """Launches, registrations due and terminations at ``now_ms``, in that order."""
        actions = []
        while len(self.instances) < self.desired:
            instance = self._launch(now_ms)
            actions.append(self._action("launch", instance, now_ms))
        # every instance boots for the same time, so launch order is registration order
        while self.booting:
            booted = self.instances.get(self.booting[0])
            if booted is None:            # terminated while booting
                self.booting.popleft()
                continue
            if booted.registers_ms > now_ms:
                break
            self.booting.popleft()
            booted.lifecycle = "InService"
            actions.append(self._action("register", booted, booted.registers_ms))
        if len(self.instances) > self.desired:  # protected instances stay, even above desired
            for victim in self._victims(len(self.instances) - self.desired):
                self._remove(victim)
                actions.append(self._action("terminate", victim, now_ms))
        return actions

    def terminate_all(self, now_ms: int) -> list[AsgAction]:
        actions = [self._action("terminate", i, now_ms) for i in self.instances.values()]
        self.instances.clear()
        self.zone_counts.clear()
        self.type_counts.clear()
        self.protected_ids.clear()
        self.booting.clear()
        return actions

    def _action(self, kind: str, instance: AsgInstance, time_ms: int) -> AsgAction:
        return AsgAction(kind, self.name, instance.instance_id, instance.instance_type, instance.zone,
                         time_ms)

    def warming(self, now_ms: int, warmup_seconds: int) -> int:
        """Instances launched less than ``warmup_seconds`` ago (the newest are last: stop early)."""
        count = 0
        for instance in reversed(self.instances.values()):
            if now_ms >= instance.launched_ms + warmup_seconds * 1000:
                break
            count += 1
        return count

    def in_service(self) -> int:
        return len(self.instances) - sum(1 for i in self.booting if i in self.instances)
