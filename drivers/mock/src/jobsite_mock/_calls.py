"""The record of calls, and the one path every driver call takes.

Tests of a deploy engine assert on what it *did* to the cloud: which calls, in what order, how
many at once. So every call of every mock driver is recorded with its arguments, its result or
error type, and start/end times on the event loop's monotonic clock (``anyio.current_time``:
under trio's mock clock the times are virtual and tests need not sleep for real).

:class:`CallRunner` gives every call the same shape: simulated latency, then faults that fire
before the call acts, then the call itself, then faults that fire after it acted; driver errors
are stamped with the driver's name and the method, and the outcome is recorded.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

import anyio
import attrs

from jobsite.errors import DriverError

if TYPE_CHECKING:
    from jobsite_mock._faults import FaultInjector
    from jobsite_mock._latency import Latency

__all__ = ["CallLog", "CallRecord", "CallRunner"]

R = TypeVar("R")

CANCELLED = "cancelled"


@attrs.frozen(kw_only=True)
class CallRecord:
    """One finished call: what was asked, what came of it, and when."""

    seq: int
    """Start order: the n-th call this driver began (from 0)."""
    method: str
    args: Mapping[str, Any]
    started: float
    ended: float
    result: Any = None
    error: str | None = None
    """The error's class name (``VMNotFound``, ``AgentError``), ``"cancelled"``, or None."""
    message: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the call returned normally."""
        return self.error is None

    def overlaps(self, other: CallRecord) -> bool:
        """Whether the two calls were in flight at the same time."""
        return self.started < other.ended and other.started < self.ended


class CallLog(Sequence[CallRecord]):
    """The calls a driver finished, in the order they finished (``seq`` is the start order)."""

    def __init__(self) -> None:
        self._records: list[CallRecord] = []
        self._seq = itertools.count()

    def next_seq(self) -> int:
        return next(self._seq)

    def append(self, record: CallRecord) -> None:
        self._records.append(record)

    def __len__(self) -> int:
        return len(self._records)

    @overload
    def __getitem__(self, index: int) -> CallRecord: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[CallRecord]: ...
    def __getitem__(self, index: int | slice) -> CallRecord | Sequence[CallRecord]:
        return self._records[index]

    def __iter__(self) -> Iterator[CallRecord]:
        return iter(self._records)

    def __repr__(self) -> str:
        return f"<CallLog {len(self._records)} calls>"

    def of(self, *methods: str) -> list[CallRecord]:
        """The calls of these methods, in start order."""
        return sorted((r for r in self._records if r.method in methods), key=lambda r: r.seq)

    def methods(self) -> list[str]:
        """Method names in start order: ``["create_vm", "attach_disk", ...]``."""
        return [r.method for r in sorted(self._records, key=lambda r: r.seq)]

    def max_concurrency(self, *methods: str) -> int:
        """The most calls (of ``methods``, or of any method) that were in flight at once."""
        records = self.of(*methods) if methods else list(self._records)
        # At equal times an end comes before a start: calls that merely touch don't overlap.
        edges = sorted([(r.started, 1) for r in records] + [(r.ended, -1) for r in records])
        level = peak = 0
        for _, step in edges:
            level += step
            peak = max(peak, level)
        return peak

    def clear(self) -> None:
        """Forget every record (the start counter keeps counting)."""
        self._records.clear()


class CallRunner:
    """Runs each call of one driver through latency, faults and the record."""

    def __init__(self, driver: str, latency: Latency, faults: FaultInjector) -> None:
        self.driver = driver
        self.latency = latency
        self.faults = faults
        self.log = CallLog()

    async def run(
        self, method: str, args: Mapping[str, Any], body: Callable[[], Awaitable[R]]
    ) -> R:
        """Run ``body`` as the call ``method(**args)``; record and return its outcome."""
        seq = self.log.next_seq()
        started = anyio.current_time()
        try:
            await self.latency.wait(method)
            self.faults.check(method, after=False)
            result = await body()
            self.faults.check(method, after=True)
        except anyio.get_cancelled_exc_class():
            self._record(seq, method, args, started, error=CANCELLED)
            raise
        except DriverError as exc:
            exc.located(driver=self.driver, call=method)  # say where, as DriverError promises
            self._record(seq, method, args, started, error=type(exc).__name__, message=str(exc))
            raise
        except BaseException as exc:
            self._record(seq, method, args, started, error=type(exc).__name__, message=str(exc))
            raise
        self._record(seq, method, args, started, result=result)
        return result

    def _record(
        self,
        seq: int,
        method: str,
        args: Mapping[str, Any],
        started: float,
        *,
        result: Any = None,
        error: str | None = None,
        message: str | None = None,
    ) -> None:
        self.log.append(
            CallRecord(
                seq=seq,
                method=method,
                args=args,
                started=started,
                ended=anyio.current_time(),
                result=result,
                error=error,
                message=message,
            )
        )
