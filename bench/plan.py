"""How planning scales: architect + inspector + foreman (+ strategy) on big deployments.

Synthetic deployments of N instances in 100 instance groups over 2 AZs (one job with a few
properties, a persistent disk, a manual network) are deployed into a real SQLite store as a
complete deploy leaves it (``settled_records``); then ``make_plan`` plans

- ``same``: the same manifest again (the everyday redeploy: nothing to do), and
- ``bump``: a new stemcell version (every VM replaced: the most remodels a plan can have).

The cloud check is included: the inspector asks ``has_vm`` for every recorded VM through a
CPI that answers at once, so the figures are jobsite's own cost, not a cloud's latency.

Prints, per N and scenario: seconds (best of ``--repeat``), the split between phases, µs per
instance, and the growth ratio from 10k to 100k against the linear ideal of 10. Target:
10,000 instances planned in under 1 s on one core, ratio ≤ 11.

    uv run python bench/plan.py                 # 1k, 10k, 100k
    uv run python bench/plan.py --sizes 1000 10000 --repeat 5
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from jobsite.architect import ArchitectInputs, draw_blueprint
from jobsite.config import DeploymentConfigs, Document, load_deployment
from jobsite.foreman import settled_records
from jobsite.planning import PlanRequest, make_plan
from jobsite.plugins import load_plugins
from jobsite.store import Store, open_store

if TYPE_CHECKING:
    from collections.abc import Mapping

GROUPS = 100


class ReadyCloud:
    """A CPI that has every VM (only ``has_vm`` is called while planning)."""

    async def has_vm(self, vm_cid: str) -> bool:
        return True


def manifest(instances: int, stemcell: str = "1.1") -> dict[str, Any]:
    per_group = instances // GROUPS
    return {
        "name": "bench",
        "releases": [{"name": "app", "version": "1"}],
        "stemcells": [{"alias": "default", "os": "ubuntu-jammy", "version": stemcell}],
        "update": {
            "canaries": 1,
            "max_in_flight": "10%",
            "canary_watch_time": 1000,
            "update_watch_time": 1000,
        },
        "instance_groups": [
            {
                "name": f"group-{g:03d}",
                "instances": per_group,
                "azs": ["z1", "z2"],
                "jobs": [
                    {
                        "name": "server",
                        "release": "app",
                        "properties": {
                            "port": 8080 + g,
                            "tls": {"enabled": True, "ciphers": ["a", "b"]},
                            "peers": {"group": f"group-{(g + 1) % GROUPS:03d}"},
                        },
                    }
                ],
                "vm_type": "small",
                "stemcell": "default",
                "persistent_disk_type": "ten",
                "networks": [{"name": "default"}],
            }
            for g in range(GROUPS)
        ],
    }


CLOUD: Mapping[str, Any] = {
    "azs": [
        {"name": "z1", "cloud_properties": {"zone": "a"}},
        {"name": "z2", "cloud_properties": {"zone": "b"}},
    ],
    "vm_types": [{"name": "small", "cloud_properties": {"cpu": 2, "ram": 4096}}],
    "disk_types": [{"name": "ten", "disk_size": 10240}],
    "networks": [
        {
            "name": "default",
            "type": "manual",
            "subnets": [
                {"range": "10.0.0.0/14", "gateway": "10.0.0.1", "azs": ["z1"]},
                {"range": "10.8.0.0/14", "gateway": "10.8.0.1", "azs": ["z2"]},
            ],
        }
    ],
    "compilation": {"workers": 2, "network": "default", "az": "z1", "vm_type": "small"},
}


def configs(instances: int, stemcell: str = "1.1") -> DeploymentConfigs:
    return load_deployment(
        Document("bench.yml", manifest(instances, stemcell)), [Document("cloud.yml", CLOUD)], []
    )


async def deploy(store: Store, instances: int) -> None:
    """Write the records a complete first deploy leaves, in batches as the assembler will."""
    blueprint = draw_blueprint(ArchitectInputs(configs=configs(instances), id_seed="bench"))
    s = settled_records(blueprint)
    async with store.transaction() as batch:
        batch.put_deployment(s.deployment)
    for rows, put in (
        (s.instances, "put_instance"),
        (s.vms, "put_vm"),
        (s.disks, "put_disk"),
        (s.addresses, "put_ip_reservation"),
    ):
        for start in range(0, len(rows), 5000):
            async with store.transaction() as batch:
                for row in rows[start : start + 5000]:
                    getattr(batch, put)(row)


async def measure(store: Store, request: PlanRequest, repeat: int) -> tuple[float, int]:
    plugins = load_plugins()
    best = float("inf")
    remodels = 0
    for _ in range(repeat):
        started = time.perf_counter()
        plan = await make_plan(request, store=store, cpi=ReadyCloud(), plugins=plugins)  # type: ignore[arg-type]
        best = min(best, time.perf_counter() - started)
        remodels = len(plan.remodels)
    return best, remodels


async def phases(store: Store, request: PlanRequest) -> dict[str, float]:
    """One plan, timed phase by phase (the same calls ``make_plan`` makes)."""
    from jobsite.foreman import Limitations, collect_remodels, order_remodels, update_policy
    from jobsite.inspector import known_instances, survey

    plugins = load_plugins()
    t0 = time.perf_counter()
    floorplan = await survey("bench", store, ReadyCloud(), hooks=plugins.hooks)  # type: ignore[arg-type]
    t1 = time.perf_counter()
    blueprint = draw_blueprint(
        ArchitectInputs(
            configs=request.configs,
            known=known_instances(floorplan),
            taken_addresses=floorplan.taken_addresses,
            id_seed="again",
        )
    )
    t2 = time.perf_counter()
    remodels, _ = await collect_remodels(blueprint, floorplan, Limitations(), plugins.hooks)
    t3 = time.perf_counter()
    policy = update_policy(blueprint)
    from jobsite.driver import DriverContext

    strategy = plugins.registry("strategy").create(DriverContext(name=policy.strategy))
    await order_remodels(strategy, policy.strategy, remodels, policy)
    t4 = time.perf_counter()
    return {"inspect": t1 - t0, "architect": t2 - t1, "foreman": t3 - t2, "strategy": t4 - t3}


async def main(sizes: list[int], repeat: int) -> None:
    results: dict[tuple[str, int], float] = {}
    print(
        f"{'instances':>9}  {'scenario':<8} {'seconds':>8} {'µs/inst':>8} {'remodels':>8}   "
        "inspect / architect / foreman / strategy (s)"
    )
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            async with open_store("sqlite:///" + str(Path(tmp) / "bench.db")) as store:
                await deploy(store, n)
                for scenario, stemcell in (("same", "1.1"), ("bump", "1.2")):
                    request = PlanRequest(configs=configs(n, stemcell), id_seed="again")
                    seconds, remodels = await measure(store, request, repeat)
                    split = await phases(store, request)
                    results[(scenario, n)] = seconds
                    print(
                        f"{n:>9}  {scenario:<8} {seconds:>8.3f} {seconds / n * 1e6:>8.1f} "
                        f"{remodels:>8}   " + " / ".join(f"{split[k]:.3f}" for k in split)
                    )
    for scenario in ("same", "bump"):
        if (scenario, 10_000) in results:
            t10k = results[(scenario, 10_000)]
            verdict = "meets" if t10k < 1.0 else "MISSES"
            print(f"{scenario}: 10k instances in {t10k:.3f} s ({verdict} the 1 s target)")
        if (scenario, 10_000) in results and (scenario, 100_000) in results:
            ratio = results[(scenario, 100_000)] / results[(scenario, 10_000)]
            verdict = "meets" if ratio <= 11 else "MISSES"
            print(
                f"{scenario}: 100k/10k = {ratio:.2f} (linear ideal 10.00, {ratio / 10:.2f}x "
                f"ideal; {verdict} the ≤ 11 target)"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    anyio.run(main, args.sizes, args.repeat)
