"""The assembler: carries a construction plan out against the drivers, writing every side
effect ahead to the store and reporting typed events as it goes.

``assemble(plan, store=..., cpi=..., agent=...)`` is the entry point; most applications use
:class:`jobsite.Director`, which builds the drivers from a config and calls it.
"""

from __future__ import annotations

from jobsite.assembler._actions import ACTION_NAMES, RetryPolicy, StepFailed
from jobsite.assembler._assemble import DeployResult, StopSignal, assemble
from jobsite.assembler._context import AssemblyContext, DeployRefused
from jobsite.assembler._events import (
    DeployFinished,
    DeployStarted,
    Event,
    Failure,
    RemodelFailed,
    RemodelFinished,
    RemodelRetried,
    RemodelStarted,
    StageFinished,
    StageStarted,
    event_from_json,
)

__all__ = [
    "ACTION_NAMES",
    "AssemblyContext",
    "DeployFinished",
    "DeployRefused",
    "DeployResult",
    "DeployStarted",
    "Event",
    "Failure",
    "RemodelFailed",
    "RemodelFinished",
    "RemodelRetried",
    "RemodelStarted",
    "RetryPolicy",
    "StageFinished",
    "StageStarted",
    "StepFailed",
    "StopSignal",
    "assemble",
    "event_from_json",
]
