"""Tasks over time: the lifecycle PROVISIONING -> ... -> STOPPED on the virtual clock."""

from quaymaster.lifecycle.task import LIVE_STATUSES, STATUS_ORDER, Task
from quaymaster.lifecycle.timings import TaskTimings
from quaymaster.lifecycle.engine import Lifecycle

__all__ = ["LIVE_STATUSES", "STATUS_ORDER", "Task", "TaskTimings", "Lifecycle"]
