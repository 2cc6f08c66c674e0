"""Fault injection: rules that make chosen driver calls fail, reproducibly.

A rule names a method (or ``*``) and when it fires: on the ``nth`` matching call, on ``every``
one, or with a ``probability`` drawn from its own seeded generator, so a run with the same
calls fails the same calls. ``times`` caps how often it fires (``every: true, times: 2`` is
"fail twice, then work": the retry test). ``transient`` sets ``ok_to_retry`` on the error, as
a real cloud's throttling does. ``after`` makes the call take effect and then fail, as when the
cloud acted but its answer was lost: a ``create_vm`` that leaks a VM.

Counting starts when the rule is added (at construction for options, at ``inject`` for rules
added by a test), so ``nth: 3`` means the third matching call from then on.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import attrs

from jobsite.errors import DriverError
from jobsite_mock._options import (
    OptionError,
    check_known,
    read_bool,
    read_positive_int,
    read_probability,
    read_str,
)

__all__ = ["ArmedFault", "Fault", "FaultInjector"]

_FIELDS = (
    "method",
    "nth",
    "every",
    "probability",
    "seed",
    "transient",
    "error",
    "message",
    "times",
    "after",
)


@attrs.frozen(kw_only=True)
class Fault:
    """One fault rule. Give exactly one of ``nth``, ``every``, ``probability``.

    ``error`` is a BOSH error type name (``VMCreationFailed``, ``CloudError``, ``DiskNotFound``,
    also ``Bosh::Clouds::...``) for the CPI, or the driver's error class name for the blobstore
    and agent; by default the error a real driver would raise for that method.
    """

    method: str
    nth: int | None = None
    every: bool = False
    probability: float | None = None
    seed: int = 0
    transient: bool = False
    error: str | None = None
    message: str | None = None
    times: int | None = None
    after: bool = False

    @classmethod
    def from_option(cls, value: Any, driver: str, where: str) -> Fault:
        """Read one rule of the ``faults`` option, refusing unknown keys and wrong types."""
        check_known(value, _FIELDS, driver, where)
        if "method" not in value:
            raise OptionError(f"option {where}.method: required", driver=driver)
        seed = value.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise OptionError(
                f"option {where}.seed: expected an integer, got {seed!r}", driver=driver
            )

        def opt(key: str, read: Callable[[Any, str, str], Any]) -> Any:
            return read(value[key], driver, f"{where}.{key}") if key in value else None

        return cls(
            method=read_str(value["method"], driver, f"{where}.method"),
            nth=opt("nth", read_positive_int),
            every=bool(opt("every", read_bool)),
            probability=opt("probability", read_probability),
            seed=seed,
            transient=bool(opt("transient", read_bool)),
            error=opt("error", read_str),
            message=opt("message", read_str),
            times=opt("times", read_positive_int),
            after=bool(opt("after", read_bool)),
        )


@attrs.define(eq=False)
class ArmedFault:
    """A rule in force, with its counts: ``seen`` matching calls, ``fired`` failures."""

    fault: Fault
    error_class: type[DriverError]
    seen: int = 0
    fired: int = 0
    _rng: random.Random = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._rng = random.Random(self.fault.seed)

    @property
    def exhausted(self) -> bool:
        """Whether ``times`` is used up (the rule can no longer fire)."""
        return self.fault.times is not None and self.fired >= self.fault.times

    def count(self) -> bool:
        """Count one matching call; whether this rule would fail it."""
        self.seen += 1
        fault = self.fault
        if fault.nth is not None:
            hit = self.seen == fault.nth
        elif fault.every:
            hit = True
        else:
            hit = self._rng.random() < (fault.probability or 0.0)
        return hit and not self.exhausted

    def error(self, method: str) -> DriverError:
        message = self.fault.message or f"injected fault: {method} failed"
        return self.error_class(message, ok_to_retry=self.fault.transient)


class FaultInjector:
    """The rules of one driver, checked against its method names and error classes."""

    def __init__(
        self,
        driver: str,
        methods: Collection[str],
        errors: Mapping[str, type[DriverError]],
        default_error: Callable[[str], type[DriverError]],
    ) -> None:
        self._driver = driver
        self._methods = frozenset(methods)
        self._errors = dict(errors)
        self._default_error = default_error
        self._armed: list[ArmedFault] = []

    @property
    def armed(self) -> tuple[ArmedFault, ...]:
        """Every rule added, in order, with its counts."""
        return tuple(self._armed)

    def parse(self, value: Any, where: str = "faults") -> None:
        """Add the rules of the ``faults`` option (a list of mappings, or of :class:`Fault`)."""
        if value is None:
            return
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
            raise OptionError(
                f"option {where}: expected a list of fault rules, got {value!r}",
                driver=self._driver,
            )
        for i, item in enumerate(value):
            at = f"{where}[{i}]"
            fault = item if isinstance(item, Fault) else Fault.from_option(item, self._driver, at)
            self.add(fault, f"option {at}")

    def add(self, fault: Fault, where: str = "fault") -> ArmedFault:
        """Check one rule against this driver and put it in force."""

        def bad(problem: str) -> OptionError:
            return OptionError(f"{where}: {problem}", driver=self._driver)

        if fault.method != "*" and fault.method not in self._methods:
            known = ", ".join(sorted(self._methods))
            raise bad(f"unknown method {fault.method!r} (known: *, {known})")
        triggers = (fault.nth is not None) + fault.every + (fault.probability is not None)
        if triggers != 1:
            raise bad("give exactly one of nth, every, probability")
        if fault.nth is not None and fault.nth < 1:
            raise bad(f"nth must be >= 1, got {fault.nth}")
        if fault.times is not None and fault.times < 1:
            raise bad(f"times must be >= 1, got {fault.times}")
        if fault.probability is not None and not 0 < fault.probability <= 1:
            raise bad(f"probability must be in (0, 1], got {fault.probability}")
        if fault.error is None:
            error_class = self._default_error(fault.method)
        else:
            name = fault.error.rsplit("::", 1)[-1]
            if name not in self._errors:
                known = ", ".join(sorted(self._errors))
                raise bad(f"unknown error {fault.error!r} (known: {known})")
            error_class = self._errors[name]
        armed = ArmedFault(fault, error_class)
        self._armed.append(armed)
        return armed

    def clear(self) -> None:
        """Remove every rule."""
        self._armed.clear()

    def check(self, method: str, *, after: bool) -> None:
        """Raise the error of the first rule that fires for this call (``after``: the call has
        taken effect). Every matching rule counts the call, so counts never depend on order."""
        if not self._armed:
            return
        chosen: ArmedFault | None = None
        for armed in self._armed:
            fault = armed.fault
            if fault.after is after and fault.method in (method, "*") and armed.count():
                chosen = chosen or armed
        if chosen is not None:
            chosen.fired += 1
            raise chosen.error(method)
