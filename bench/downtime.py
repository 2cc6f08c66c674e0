"""How long each instance is down when every VM is replaced: ``serial`` against ``hot_swap``.

The same redeploy, a stemcell bump (stemcell 1 → 2, so every VM is replaced), of one
instance group of N instances, each with a persistent disk, under ``update.strategy:
serial`` and under ``update.strategy: hot_swap``, each on a fresh director, store and cloud
(the first deploy that sets the group up is not measured). Built through jobsite's public
API as ``tests/e2e/conftest.py`` builds a deploy.

Cloud-like latencies, scaled down: ``create_vm`` 60 units, ``delete_vm`` 20,
``attach_disk``/``detach_disk`` 10, ``apply`` 5, ``start`` 5; every other call (``drain``,
``stop``, ``get_state``, ``mount_disk``, ``unmount_disk``, ``set_vm_metadata``, ...) takes
``--other`` units, 0 by default. One unit is ``--unit`` seconds (default 0.01). Watch times
are ``0-1000`` and jobs run as soon as they start, so watching costs one ``get_state``.

An instance is **down** from the start of its agent ``stop`` call (the mock's call record)
until its ``start`` remodel finishes, which is when the watch has seen its jobs running (the
``remodel_finished`` event, stamped on the same clock as it arrives). A driver without a call
record falls back to the ``stop`` remodel's ``remodel_started`` event.

Prints, per strategy, per-instance downtime (mean and max) and the deploy's wall time, the
calls inside one instance's down window with the sum of their latencies (the best a strategy
can do with these latencies), and the ratio hot_swap/serial of mean downtime. Target: ≤ 0.2.

    uv run python bench/downtime.py                     # N=10, max_in_flight 2, unit 0.01 s
    uv run python bench/downtime.py --instances 20 --in-flight 1 --unit 0.005
    uv run python bench/downtime.py --no-disks          # instances without a persistent disk
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import anyio
import attrs
from assemble import (  # the sibling benchmark: deployment, director and call-record helpers
    STEMCELL_OS,
    bench_director,
    calls_by_instance,
    cloud_config,
    deployment_name,
    plan_request,
)

from jobsite.director import DriverChoice

if TYPE_CHECKING:
    from collections.abc import Mapping

    from jobsite.assembler import Event
    from jobsite.director import Director
    from jobsite.planning import Plan

CPI_UNITS: Mapping[str, float] = {
    "create_vm": 60,
    "delete_vm": 20,
    "attach_disk": 10,
    "detach_disk": 10,
}
AGENT_UNITS: Mapping[str, float] = {"apply": 5, "start": 5}
UNITS = {**CPI_UNITS, **AGENT_UNITS}
"""Latency of each call in units; every other call takes ``--other`` units."""

STRATEGIES = ("serial", "hot_swap")


# --- drivers ----------------------------------------------------------------------------------


class Driver(Protocol):
    """What the benchmark needs from a driver family: its director config's driver choices
    with the scaled latencies, and, where the driver records its calls, when each instance's
    agent ``stop`` call began (on the event loop's clock, ``anyio.current_time``)."""

    name: ClassVar[str]

    def choices(self, unit: float, other: float) -> tuple[DriverChoice, DriverChoice]: ...

    def latency(self, method: str) -> float:
        """Seconds a call of ``method`` takes (0 when the driver is not simulated)."""
        ...

    def down_started(self, director: Director) -> dict[str, float] | None: ...

    def down_chain(
        self, director: Director, windows: Mapping[str, tuple[float, float]]
    ) -> dict[str, tuple[str, ...]] | None:
        """Per instance, the calls made inside its down window, in order (None: unknown)."""
        ...


class MockDriver:
    """``jobsite-mock``: latency per method, and a record of every call."""

    name: ClassVar[str] = "mock"

    def __init__(self) -> None:
        self._seconds: dict[str, float] = {}
        self._other = 0.0

    def choices(self, unit: float, other: float) -> tuple[DriverChoice, DriverChoice]:
        self._other = other * unit
        self._seconds = {method: units * unit for method, units in UNITS.items()}
        cpi = {"default": self._other, **{m: u * unit for m, u in CPI_UNITS.items()}}
        agent = {"default": self._other, **{m: u * unit for m, u in AGENT_UNITS.items()}}
        return (
            DriverChoice("mock", {"latency": cpi}),
            DriverChoice("mock", {"latency": agent, "start_seconds": 0}),
        )

    def latency(self, method: str) -> float:
        return self._seconds.get(method, self._other)

    def _by_instance(self, director: Director) -> dict[str, list[Any]]:
        return calls_by_instance(director.cpi.calls, director.agent.calls)  # type: ignore[attr-defined]

    def down_started(self, director: Director) -> dict[str, float] | None:
        out: dict[str, float] = {}
        for instance, calls in self._by_instance(director).items():
            stops = [c.started for c in calls if c.method == "stop"]
            if stops:
                out[instance] = stops[-1]  # the redeploy's (the setup deploy stops nothing)
        return out

    def down_chain(
        self, director: Director, windows: Mapping[str, tuple[float, float]]
    ) -> dict[str, tuple[str, ...]] | None:
        out = {}
        for instance, calls in self._by_instance(director).items():
            if instance in windows:
                begin, end = windows[instance]
                out[instance] = tuple(
                    c.method for c in calls if c.started >= begin and c.ended <= end
                )
        return out


DRIVERS: dict[str, type[Driver]] = {"mock": MockDriver}


# --- one strategy -----------------------------------------------------------------------------


def manifest(
    name: str,
    instances: int,
    *,
    stemcell: str,
    strategy: str,
    in_flight: int,
    canaries: int,
    disks: bool,
) -> dict[str, Any]:
    group: dict[str, Any] = {
        "name": "web",
        "instances": instances,
        "azs": ["z1"],
        "jobs": [{"name": "web", "release": "app", "properties": {"port": 80}}],
        "vm_type": "small",
        "stemcell": "default",
        "networks": [{"name": "default"}],
    }
    if disks:
        group["persistent_disk_type"] = "ten"
    return {
        "name": name,
        "releases": [{"name": "app", "version": "1"}],
        "stemcells": [{"alias": "default", "os": STEMCELL_OS, "version": stemcell}],
        "update": {
            "strategy": strategy,
            "canaries": canaries,
            "max_in_flight": in_flight,
            "canary_watch_time": "0-1000",
            "update_watch_time": "0-1000",
        },
        "instance_groups": [group],
    }


@attrs.frozen(kw_only=True)
class Outcome:
    strategy: str
    wall: float
    """Seconds the redeploy took (``director.deploy``)."""
    down: dict[str, float]
    """Instance → seconds down."""
    source: str
    """Where a down window starts: ``agent stop call`` or ``stop remodel``."""
    chains: dict[str, tuple[str, ...]] | None
    remodels: int


async def measure(args: argparse.Namespace, strategy: str) -> Outcome:
    driver = DRIVERS[args.driver]()
    cpi, agent = driver.choices(args.unit, args.other)
    async with bench_director(args.store, cpi, agent, stemcells=("1", "2")) as director:
        name = deployment_name()
        n = args.instances
        cloud = cloud_config(2 * n)  # hot_swap's new VMs run beside the old ones
        # the setup: every instance at once, no canaries (not measured)
        setup = manifest(
            name, n, stemcell="1", strategy=strategy, in_flight=n, canaries=0, disks=args.disks
        )
        first = await director.deploy(await director.plan(plan_request(setup, cloud)))
        if not first.ok:
            raise SystemExit(f"the setup deploy ended {first.state}: {first.failures[:3]}")
        bump = manifest(
            name,
            n,
            stemcell="2",
            strategy=strategy,
            in_flight=args.in_flight,
            canaries=args.canaries,
            disks=args.disks,
        )
        plan = await director.plan(plan_request(bump, cloud))
        stamped: list[tuple[float, Event]] = []

        def on_event(event: Event) -> None:
            stamped.append((anyio.current_time(), event))

        started = time.perf_counter()
        result = await director.deploy(plan, on_event=on_event)
        wall = time.perf_counter() - started
        if not result.ok:
            raise SystemExit(f"the {strategy} redeploy ended {result.state}: {result.failures[:3]}")
        down, source = windows(plan, stamped, driver.down_started(director))
        chains = driver.down_chain(director, down)
        return Outcome(
            strategy=strategy,
            wall=wall,
            down={i: end - begin for i, (begin, end) in down.items()},
            source=source,
            chains=chains,
            remodels=result.done,
        )


def windows(
    plan: Plan, stamped: list[tuple[float, Event]], stop_calls: dict[str, float] | None
) -> tuple[dict[str, tuple[float, float]], str]:
    """Each instance's down window: (start of its stop, its ``start`` remodel finished)."""
    instance_of = {r.id: r.instance for r in plan.construction.remodels}
    stop_remodels: dict[str, float] = {}
    started: dict[str, float] = {}
    for at, event in stamped:
        action = getattr(event, "action", None)
        instance = instance_of.get(getattr(event, "remodel", ""))
        if instance is None:
            continue
        if event.kind == "remodel_started" and action == "stop":
            stop_remodels[instance] = at
        elif event.kind == "remodel_finished" and action == "start":
            started[instance] = at
    begins, source = (stop_calls, "agent stop call") if stop_calls else (stop_remodels, "")
    source = source or "stop remodel"
    out = {i: (begins[i], started[i]) for i in started if i in begins}
    if len(out) != len(started) or not out:
        raise SystemExit(f"found {len(out)} down windows for {len(started)} started instances")
    return out, source


# --- the figures ----------------------------------------------------------------------------


def chain_summary(driver: Driver, chains: dict[str, tuple[str, ...]] | None) -> tuple[str, float]:
    """The calls most instances made while down, and the sum of their latencies."""
    if not chains:
        return "(no call record)", math.nan
    counts: dict[tuple[str, ...], int] = {}
    for methods in chains.values():
        counts[methods] = counts.get(methods, 0) + 1
    methods = max(counts, key=lambda m: counts[m])
    seconds = sum(driver.latency(m) for m in methods)
    return f"{' → '.join(methods)} ({counts[methods]} of {len(chains)})", seconds


async def main(args: argparse.Namespace) -> None:
    driver = DRIVERS[args.driver]()
    driver.choices(args.unit, args.other)
    unit_ms = args.unit * 1000
    print(
        f"downtime: stemcell bump of {args.instances} instances, max_in_flight "
        f"{args.in_flight}, canaries {args.canaries}, "
        f"persistent disk {'yes' if args.disks else 'no'}, driver {args.driver}, "
        f"1 unit = {unit_ms:g} ms"
    )
    print(
        "  latencies (units): "
        + ", ".join(f"{m} {u:g}" for m, u in UNITS.items())
        + f", every other call {args.other:g}"
    )
    outcomes = {s: await measure(args, s) for s in STRATEGIES}
    floors: dict[str, float] = {}
    for strategy, o in outcomes.items():
        values = list(o.down.values())
        mean, peak = statistics.mean(values), max(values)
        chain, floor = chain_summary(driver, o.chains)
        floors[strategy] = floor
        print(f"  {strategy}: redeploy {o.wall:.3f} s ({o.remodels} remodels)")
        print(
            f"    down per instance: mean {mean * 1000:.1f} ms ({mean / args.unit:.1f} units), "
            f"max {peak * 1000:.1f} ms ({peak / args.unit:.1f} units); from the {o.source}"
        )
        print(f"    calls while down: {chain}")
        if not math.isnan(floor):
            print(
                f"    their latencies: {floor * 1000:.1f} ms ({floor / args.unit:g} units); "
                f"jobsite's own share of the mean: {(mean - floor) * 1000:.1f} ms"
            )
    serial = statistics.mean(outcomes["serial"].down.values())
    hot = statistics.mean(outcomes["hot_swap"].down.values())
    ratio = hot / serial
    verdict = "meets" if ratio <= 0.2 else "MISSES"
    print(f"  hot_swap/serial mean downtime = {ratio:.3f} ({verdict} the ≤ 0.2 target)")
    if not any(math.isnan(f) for f in floors.values()):
        best = floors["hot_swap"] / floors["serial"]
        print(
            f"  the same ratio of the down windows' call latencies alone = {best:.3f} "
            f"(what no assembler overhead at all would give)"
        )
    print(
        f"  redeploy time hot_swap/serial = "
        f"{outcomes['hot_swap'].wall / outcomes['serial'].wall:.3f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=10, help="N (default 10)")
    parser.add_argument("--in-flight", type=int, default=2, help="max_in_flight (default 2)")
    parser.add_argument("--canaries", type=int, default=1, help="default 1")
    parser.add_argument("--unit", type=float, default=0.01, help="seconds per unit (0.01)")
    parser.add_argument(
        "--other", type=float, default=0.0, help="units for every other call (default 0)"
    )
    parser.add_argument(
        "--no-disks", dest="disks", action="store_false", help="no persistent disks"
    )
    parser.add_argument("--driver", choices=sorted(DRIVERS), default="mock")
    parser.add_argument(
        "--store", default=None, help="state store URL (default: a temporary SQLite file)"
    )
    anyio.run(main, parser.parse_args())
