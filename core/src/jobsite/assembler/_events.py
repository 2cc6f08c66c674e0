"""Events: what a deploy reports while it runs, as typed values.

Every event goes to the ``jobsite_event`` hook, to the caller's ``on_event`` callback and to
the store's task log, in that order of emission, so a live display, a ``--json`` stream and a
later ``jobsite task N`` all see the same thing. An event is a frozen value with a ``kind``
(its wire name) and :meth:`Event.to_json`, whose keys are stable: they are what ``--json``
prints one per line and what the task log stores.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import attrs

__all__ = [
    "DeployFinished",
    "DeployStarted",
    "Event",
    "Failure",
    "RemodelFailed",
    "RemodelFinished",
    "RemodelRetried",
    "RemodelStarted",
    "StageFinished",
    "StageStarted",
    "event_from_json",
]


def _now() -> float:
    return time.time()


@attrs.frozen(kw_only=True)
class Event:
    """Base of every event: when it happened (seconds since the epoch)."""

    kind: ClassVar[str] = "event"
    at: float = attrs.field(factory=_now)

    def to_json(self) -> dict[str, Any]:
        """The event as a JSON object: ``{"kind": ..., "at": ..., <fields>}``."""
        out: dict[str, Any] = {"kind": self.kind}
        for field in attrs.fields(type(self)):
            value = getattr(self, field.name)
            if isinstance(value, tuple):
                value = [v.to_json() if isinstance(v, Failure) else v for v in value]
            out[field.name] = value
        return out


@attrs.frozen(kw_only=True)
class Failure:
    """One remodel that failed, with its instance and cause."""

    remodel: str
    action: str
    instance: str | None
    """``group/index (uuid)`` for people, or None for deployment-wide remodels."""
    error: str

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)

    def __str__(self) -> str:
        where = self.instance or self.remodel
        return f"{where}: {self.action} failed: {self.error}"


@attrs.frozen(kw_only=True)
class DeployStarted(Event):
    """A deploy begins: how much there is to do."""

    kind: ClassVar[str] = "deploy_started"
    deployment: str
    task: int | None
    strategy: str
    stages: int
    remodels: int


@attrs.frozen(kw_only=True)
class StageStarted(Event):
    kind: ClassVar[str] = "stage_started"
    stage: str
    stage_kind: str
    remodels: int
    instance_group: str | None = None


@attrs.frozen(kw_only=True)
class StageFinished(Event):
    """A stage ended: ``done``, ``failed`` (a remodel in it failed), ``skipped`` (an
    earlier failure or a stop request kept it from starting) or ``cancelled``."""

    kind: ClassVar[str] = "stage_finished"
    stage: str
    state: str
    seconds: float
    done: int = 0
    failed: int = 0


@attrs.frozen(kw_only=True)
class RemodelStarted(Event):
    kind: ClassVar[str] = "remodel_started"
    remodel: str
    action: str
    stage: str
    instance: str | None = None


@attrs.frozen(kw_only=True)
class RemodelFinished(Event):
    kind: ClassVar[str] = "remodel_finished"
    remodel: str
    action: str
    stage: str
    seconds: float
    instance: str | None = None


@attrs.frozen(kw_only=True)
class RemodelFailed(Event):
    kind: ClassVar[str] = "remodel_failed"
    remodel: str
    action: str
    stage: str
    seconds: float
    error: str
    instance: str | None = None


@attrs.frozen(kw_only=True)
class RemodelRetried(Event):
    """A transient cloud error (``ok_to_retry``): the call is made again after ``delay``."""

    kind: ClassVar[str] = "remodel_retried"
    remodel: str
    action: str
    attempt: int
    delay: float
    error: str
    instance: str | None = None


@attrs.frozen(kw_only=True)
class DeployFinished(Event):
    """A deploy ended: ``done``, ``error`` (some remodels failed), ``stopped`` (asked to
    stop: what ran finished, the rest never started) or ``cancelled`` (by its caller)."""

    kind: ClassVar[str] = "deploy_finished"
    deployment: str
    task: int | None
    state: str
    seconds: float
    done: int
    failed: int
    not_started: int
    failures: tuple[Failure, ...] = ()


_KINDS: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        DeployStarted,
        StageStarted,
        StageFinished,
        RemodelStarted,
        RemodelFinished,
        RemodelFailed,
        RemodelRetried,
        DeployFinished,
    )
}


def event_from_json(data: dict[str, Any]) -> Event | None:
    """The event a :meth:`Event.to_json` object describes (None for an unknown kind, such as
    one a newer jobsite wrote): how ``jobsite task N`` replays a task log."""
    cls = _KINDS.get(str(data.get("kind")))
    if cls is None:
        return None
    names = {f.name for f in attrs.fields(cls)}
    values = {k: v for k, v in data.items() if k in names}
    if cls is DeployFinished:
        values["failures"] = tuple(Failure(**f) for f in values.get("failures", ()))
    try:
        return cls(**values)
    except TypeError:
        return None
