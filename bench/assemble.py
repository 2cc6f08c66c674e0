"""How close the assembler comes to the cloud's own speed, and what each remodel costs it.

A first deploy of N instances (one instance group, ``update.max_in_flight: K``) through
jobsite's public API, exactly as ``tests/e2e/conftest.py`` builds one: a ``Director`` on the
``mock`` driver with a SQLite file store (or ``--store postgresql://...``), stemcells
registered in the store, a ``PlanRequest`` planned with ``director.plan`` and carried out with
``director.deploy``.

1. **makespan / ideal** at mock latency L seconds on every CPI and agent call. The ideal is
   ``⌈N/K⌉ · chain``: ``chain`` is the sum of the latencies of the calls one instance makes,
   one after the other (derived from the mock's call record, never assumed; the script checks
   that an instance's calls really do not overlap). Target: ≤ 1.05 at N=1000, K=50, L=20 ms.
   Also printed: the *event-loop floor*, the plan's stages run with nothing in them but
   ``anyio.sleep(L)`` per call, the best any assembler could reach on this host and loop.
2. **per-remodel overhead** at L=0 with durable state: deploy wall time / remodels carried out,
   in ms. Target: ≤ 0.5 ms. Also the ledger's commits (group commits of the write-ahead
   records), read through the public ``jobsite_assemble_remodel`` hook's context in an extra,
   untimed run (the hook costs a call per remodel, so the timed runs go without it).

Choices, so the figures measure the assembler and nothing else:

- ``canaries: 0`` (``--canaries`` to change): ``serial`` runs the canaries in a stage of their
  own before the batches, so with ``canaries: 1`` a deploy is ``1 + ⌈(N-1)/K⌉`` chains long,
  21 instead of 20 at N=1000, K=50, a ratio of 1.05 before the assembler spends a single
  microsecond. With ``--canaries`` the ideal counts the plan's stages (``Σ ⌈units/in_flight⌉``)
  so the ratio still compares like with like, and the ``⌈N/K⌉`` figure is printed beside it.
- watch times ``0-1000`` and the mock agent's ``start_seconds: 0``: watching a started
  instance costs exactly one ``get_state`` call, which the chain counts like any other call.
- no persistent disk unless ``--disks`` (then ``create_disk``, ``set_disk_metadata``,
  ``attach_disk`` and ``mount_disk`` join the chain).
- the mock cloud is kept in memory (no ``state_file``): its own fsyncs are the mock's cost,
  not jobsite's. The store is a real SQLite file (WAL), as ``jobsite deploy`` uses by default.

Figures are the best of ``--repeat`` runs, each a fresh director, store and cloud.

    uv run python bench/assemble.py                      # N=1000, K=50, L=0.02
    uv run python bench/assemble.py --disks --repeat 1
    uv run python bench/assemble.py --store postgresql://localhost/jobsite_bench
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import itertools
import math
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import attrs
import yaml

from jobsite import hookimpl
from jobsite.config import Document, load_deployment
from jobsite.director import Director, DirectorConfig, DriverChoice
from jobsite.planning import Plan, PlanRequest
from jobsite.store import Batch, StemcellRecord, mask_url

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable, Sequence

    from jobsite.assembler import Event

STEMCELL_OS = f"jobsite-bench-{secrets.token_hex(3)}"
"""A stemcell name of this process's own, so a shared PostgreSQL store keeps its records."""

_DEPLOYMENTS: set[str] = set()
"""Deployments this process made (removed again from a store given by URL)."""


def deployment_name() -> str:
    """A fresh deployment name, remembered so :func:`forget` removes it."""
    name = f"bench-{secrets.token_hex(4)}"
    _DEPLOYMENTS.add(name)
    return name


# --- the deployment -------------------------------------------------------------------------


def network_range(instances: int) -> str:
    """A manual network with room for every instance (and the reserved first addresses)."""
    bits = max(8, math.ceil(math.log2(instances + 16)))
    return str(ipaddress.ip_network(f"10.0.0.0/{32 - bits}", strict=False))


def cloud_config(instances: int) -> dict[str, Any]:
    subnet = ipaddress.ip_network(network_range(instances))
    return {
        "azs": [{"name": "z1", "cloud_properties": {"zone": "a"}}],
        "vm_types": [{"name": "small", "cloud_properties": {"cpu": 1}}],
        "disk_types": [{"name": "ten", "disk_size": 10240}],
        "networks": [
            {
                "name": "default",
                "type": "manual",
                "subnets": [
                    {"range": str(subnet), "gateway": str(subnet[1]), "azs": ["z1"]},
                ],
            }
        ],
        "compilation": {"workers": 1, "network": "default", "az": "z1", "vm_type": "small"},
    }


def manifest(
    name: str, instances: int, in_flight: int, canaries: int, disks: bool
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
        "stemcells": [{"alias": "default", "os": STEMCELL_OS, "version": "1"}],
        "update": {
            "canaries": canaries,
            "max_in_flight": in_flight,
            "canary_watch_time": "0-1000",
            "update_watch_time": "0-1000",
        },
        "instance_groups": [group],
    }


def describe_store(url: str | None) -> str:
    return "a temporary SQLite file" if url is None else mask_url(url)


def plan_request(man: dict[str, Any], cloud: dict[str, Any]) -> PlanRequest:
    """The request ``tests/e2e/conftest.py`` builds: the manifest and cloud config as
    documents (so a shared store's own cloud configs are neither read nor replaced)."""
    configs = load_deployment(Document("manifest.yml", man), [Document("cloud.yml", cloud)], [])
    return PlanRequest(configs=configs, manifest_text=yaml.safe_dump(man))


class LedgerProbe:
    """A plugin that keeps the assembler's ledger, reached through the context every
    ``jobsite_assemble_remodel`` call receives, to read its ``commits`` counter."""

    def __init__(self) -> None:
        self.ledger: Any = None

    @hookimpl
    def jobsite_assemble_remodel(self, remodel: Any, context: Any) -> None:
        if self.ledger is None:
            self.ledger = context.ledger


@contextlib.asynccontextmanager
async def bench_director(
    store: str | None,
    cpi: DriverChoice,
    agent: DriverChoice,
    *,
    stemcells: Sequence[str] = ("1",),
    plugins: Sequence[tuple[str, object]] = (),
) -> AsyncIterator[Director]:
    """A director with these drivers and the stemcell versions uploaded (as
    ``tests/e2e/conftest.py`` uploads them: ``create_stemcell``, then the record), in a
    temporary home; on a store given by URL, what the benchmark wrote is removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="jobsite-bench-") as tmp:
        home = Path(tmp)
        config = DirectorConfig(
            home=home,
            store=store or f"sqlite:///{home / 'jobsite.db'}",
            cpi=cpi,
            agent=agent,
            plugins=tuple(plugins),
        )
        async with Director(config) as director:
            for version in stemcells:
                cid = await director.cpi.create_stemcell("", {})
                await director.store.apply(
                    Batch().put_stemcell(
                        StemcellRecord(name=STEMCELL_OS, os=STEMCELL_OS, version=version, cid=cid)
                    )
                )
            try:
                yield director
            finally:
                if store is not None:
                    await forget(director, stemcells)


def mock_drivers(latency: float) -> tuple[DriverChoice, DriverChoice]:
    """The mock CPI and agent, ``latency`` seconds on every call, jobs running at once."""
    return (
        DriverChoice("mock", {"latency": latency}),
        DriverChoice("mock", {"latency": latency, "start_seconds": 0}),
    )


async def forget(director: Director, stemcells: Sequence[str]) -> None:
    """Remove what the benchmark wrote to a store that outlives it: the deployments this
    process made, with their disks, and its stemcell records."""
    store = director.store
    batch = Batch()
    for deployment in await store.list_deployments():
        if deployment.name in _DEPLOYMENTS:
            for disk in await store.list_disks(deployment.name):
                batch.delete_disk(disk.id)
            batch.delete_deployment(deployment.name)
    for version in stemcells:
        batch.delete_stemcell(STEMCELL_OS, version)
    await store.apply(batch)


# --- reading the mock's call record ---------------------------------------------------------


def calls_by_instance(cpi_calls: Iterable[Any], agent_calls: Iterable[Any]) -> dict[str, list[Any]]:
    """Every recorded call attributed to the instance it was made for, in start order.

    The record names VMs, disks and agents, not instances; the tags jobsite sets
    (``set_vm_metadata``'s ``id``, ``set_disk_metadata``'s ``instance_id``) and the answers of
    ``create_vm`` and ``create_disk`` tie them together. Calls for no instance (the stemcell
    upload) are left out.
    """
    cpi_calls, agent_calls = list(cpi_calls), list(agent_calls)
    vm_instance: dict[str, str] = {}
    disk_instance: dict[str, str] = {}
    for call in cpi_calls:
        if call.method == "set_vm_metadata" and "id" in call.args["metadata"]:
            vm_instance[call.args["vm_cid"]] = call.args["metadata"]["id"]
        elif call.method == "set_disk_metadata" and "instance_id" in call.args["metadata"]:
            disk_instance[call.args["disk_cid"]] = call.args["metadata"]["instance_id"]
    agent_instance = {
        c.args["agent_id"]: vm_instance[c.result.vm_cid]
        for c in cpi_calls
        if c.method == "create_vm" and c.ok and c.result.vm_cid in vm_instance
    }
    out: dict[str, list[Any]] = {}
    for call in cpi_calls + agent_calls:
        args = call.args
        instance: str | None
        if call.method == "create_disk":
            instance = disk_instance.get(call.result) if call.ok else None
        elif "agent_id" in args:
            instance = agent_instance.get(args["agent_id"])
        elif "vm_cid" in args:
            instance = vm_instance.get(args["vm_cid"])
        elif "disk_cid" in args:
            instance = disk_instance.get(args["disk_cid"])
        else:
            instance = None
        if instance is not None:
            out.setdefault(instance, []).append(call)
    for calls in out.values():
        calls.sort(key=lambda c: (c.started, c.ended))
    return out


@attrs.frozen(kw_only=True)
class Chain:
    """One instance's calls, as the record shows them."""

    methods: tuple[str, ...]
    sequential: bool
    """Whether each call started only once the one before it had ended."""
    span: float
    """From the first call's start to the last call's end."""


def chain_of(calls: Sequence[Any]) -> Chain:
    sequential = all(b.started >= a.ended - 1e-9 for a, b in itertools.pairwise(calls))
    return Chain(
        methods=tuple(c.method for c in calls),
        sequential=sequential,
        span=calls[-1].ended - calls[0].started,
    )


# --- one deploy -------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Run:
    wall: float
    """Seconds ``director.deploy`` took, as the caller sees it."""
    seconds: float
    """The deploy's own ``DeployResult.seconds`` (lock to flush)."""
    remodels: int
    state: str
    plan: Plan
    chains: dict[str, Chain]
    stage_seconds: tuple[float, ...]
    commits: int | None = None


async def deploy_once(args: argparse.Namespace, latency: float, *, probe: bool = False) -> Run:
    ledger = LedgerProbe()
    plugins = [("bench-ledger-probe", ledger)] if probe else []
    async with bench_director(args.store, *mock_drivers(latency), plugins=plugins) as director:
        name = deployment_name()
        man = manifest(name, args.instances, args.in_flight, args.canaries, args.disks)
        plan = await director.plan(plan_request(man, cloud_config(args.instances)))
        events: list[Event] = []
        started = time.perf_counter()
        result = await director.deploy(plan, on_event=events.append)
        wall = time.perf_counter() - started
        if not result.ok:
            raise SystemExit(f"the deploy ended {result.state}: {result.failures[:3]}")
        chains = {
            instance: chain_of(calls)
            for instance, calls in calls_by_instance(
                director.cpi.calls,  # type: ignore[attr-defined]
                director.agent.calls,  # type: ignore[attr-defined]
            ).items()
        }
        stage_seconds = tuple(e.seconds for e in events if e.kind == "stage_finished")  # type: ignore[attr-defined]
        return Run(
            wall=wall,
            seconds=result.seconds,
            remodels=result.done,
            state=result.state,
            plan=plan,
            chains=chains,
            stage_seconds=stage_seconds,
            commits=ledger.ledger.commits if ledger.ledger is not None else None,
        )


def ideal_chains(plan: Plan) -> int:
    """How many instance chains must run one after another: per stage, its instances in
    rounds of its ``max_in_flight``."""
    by_id = {r.id: r for r in plan.construction.remodels}
    total = 0
    for stage in plan.construction.stages:
        units = {by_id[rid].instance or rid for rid in stage.remodels}
        width = stage.max_in_flight or len(units) or 1
        total += math.ceil(len(units) / width)
    return total


async def timer_floor(plan: Plan, calls: int, latency: float) -> float:
    """The plan's shape with nothing in it: per stage, its instances through a limiter of
    the stage's ``max_in_flight``, each sleeping ``calls`` x ``latency`` one after another.
    What the event loop's timers cost on this host, the best any assembler could do."""
    by_id = {r.id: r for r in plan.construction.remodels}

    async def chain(limiter: anyio.CapacityLimiter) -> None:
        async with limiter:
            for _ in range(calls):
                await anyio.sleep(latency)

    started = time.perf_counter()
    for stage in plan.construction.stages:
        units = {by_id[rid].instance or rid for rid in stage.remodels}
        limiter = anyio.CapacityLimiter(stage.max_in_flight or len(units) or 1)
        async with anyio.create_task_group() as tg:
            for _ in units:
                tg.start_soon(chain, limiter)
    return time.perf_counter() - started


def describe_chain(chains: dict[str, Chain]) -> tuple[tuple[str, ...], int]:
    """The call sequence most instances made, and how many instances made it."""
    counts: dict[tuple[str, ...], int] = {}
    for chain in chains.values():
        counts[chain.methods] = counts.get(chain.methods, 0) + 1
    methods = max(counts, key=lambda m: (counts[m], len(m)))
    return methods, counts[methods]


# --- the figures ----------------------------------------------------------------------------


async def makespan(args: argparse.Namespace) -> None:
    n, k, latency = args.instances, args.in_flight, args.latency
    runs = [await deploy_once(args, latency) for _ in range(args.repeat)]
    best = min(runs, key=lambda r: r.wall)
    chains = best.chains
    methods, typical = describe_chain(chains)
    longest = max(chains.values(), key=lambda c: len(c.methods))
    calls = len(longest.methods)
    chain_seconds = calls * latency
    rounds = ideal_chains(best.plan)
    ideal = rounds * chain_seconds
    simple = math.ceil(n / k) * chain_seconds
    overlapping = sum(1 for c in chains.values() if not c.sequential)
    spans = [c.span for c in chains.values()]
    print(
        f"makespan: first deploy, N={n}, max_in_flight={k}, canaries={args.canaries}, "
        f"L={latency * 1000:g} ms per call, disks={'yes' if args.disks else 'no'}, "
        f"store {describe_store(args.store)}"
    )
    print(f"  calls per instance (from the record): {calls}: {' → '.join(longest.methods)}")
    print(
        f"    {typical} of {len(chains)} instances made exactly {' → '.join(methods)}; "
        f"{overlapping} had overlapping calls"
    )
    print(
        f"  chain: {calls} x {latency * 1000:g} ms = {chain_seconds * 1000:.1f} ms; "
        f"instance span mean {statistics.mean(spans) * 1000:.1f} ms, "
        f"max {max(spans) * 1000:.1f} ms"
    )
    print(
        f"  stages: {len(best.plan.construction.stages)}, sequential chains {rounds} "
        f"(⌈N/K⌉ = {math.ceil(n / k)}); stage mean "
        f"{statistics.mean(best.stage_seconds) * 1000:.1f} ms, "
        f"max {max(best.stage_seconds) * 1000:.1f} ms"
    )
    print(f"  remodels: {best.remodels}; runs (s): " + ", ".join(f"{r.wall:.3f}" for r in runs))
    print(f"  makespan {best.wall:.3f} s (DeployResult.seconds {best.seconds:.3f} s)")
    print(f"  ideal    {ideal:.3f} s (⌈N/K⌉·chain = {simple:.3f} s)")
    ratio = best.wall / ideal
    verdict = "meets" if ratio <= 1.05 else "MISSES"
    print(f"  makespan/ideal = {ratio:.4f} ({verdict} the ≤ 1.05 target)")
    print(f"  jobsite's share: {(best.wall - ideal) / rounds * 1000:.1f} ms per sequential chain")
    floor = min([await timer_floor(best.plan, calls, latency) for _ in range(args.repeat)])
    print(
        f"  event-loop floor (the same stages, each instance {calls} x anyio.sleep(L) and "
        f"nothing else): {floor:.3f} s, floor/ideal = {floor / ideal:.4f}, "
        f"makespan/floor = {best.wall / floor:.4f}"
    )
    if rounds != math.ceil(n / k):
        print(f"  makespan/(⌈N/K⌉·chain) = {best.wall / simple:.4f}")
    if args.commits:
        probed = await deploy_once(args, latency, probe=True)
        print(
            f"  ledger commits: {probed.commits} for {probed.remodels} remodels "
            f"({probed.remodels / max(1, probed.commits or 1):.1f} remodels per commit; "
            f"probed run {probed.wall:.3f} s)"
        )


async def overhead(args: argparse.Namespace) -> None:
    n, k = args.instances, args.in_flight
    runs = [await deploy_once(args, 0.0) for _ in range(args.repeat)]
    best = min(runs, key=lambda r: r.wall)
    per = best.wall / best.remodels * 1000
    print(
        f"overhead: first deploy at L=0, N={n}, max_in_flight={k}, canaries={args.canaries}, "
        f"disks={'yes' if args.disks else 'no'}, store "
        f"{describe_store(args.store)}"
    )
    print(f"  remodels: {best.remodels}; runs (s): " + ", ".join(f"{r.wall:.3f}" for r in runs))
    print(f"  deploy {best.wall:.3f} s (DeployResult.seconds {best.seconds:.3f} s)")
    verdict = "meets" if per <= 0.5 else "MISSES"
    print(f"  per remodel {per:.3f} ms ({verdict} the ≤ 0.5 ms target)")
    if args.commits:
        probed = await deploy_once(args, 0.0, probe=True)
        print(
            f"  ledger commits: {probed.commits} for {probed.remodels} remodels "
            f"({probed.remodels / max(1, probed.commits or 1):.1f} remodels per commit; "
            f"probed run {probed.wall:.3f} s, "
            f"{probed.wall / probed.remodels * 1000:.3f} ms per remodel)"
        )


async def main(args: argparse.Namespace) -> None:
    if args.latency > 0:
        await makespan(args)
    await overhead(args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1000, help="N (default 1000)")
    parser.add_argument("--in-flight", type=int, default=50, help="max_in_flight K (default 50)")
    parser.add_argument(
        "--latency", type=float, default=0.02, help="L: seconds per mock call (default 0.02)"
    )
    parser.add_argument("--canaries", type=int, default=0, help="default 0 (see above)")
    parser.add_argument("--disks", action="store_true", help="give each instance a disk")
    parser.add_argument(
        "--store", default=None, help="state store URL (default: a temporary SQLite file)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; best counts")
    parser.add_argument(
        "--no-commits", dest="commits", action="store_false", help="skip the commit count"
    )
    anyio.run(main, parser.parse_args())
