"""``jobsite instances`` and ``jobsite vms``: what the store records a deployment is made of.

``instances`` lists each instance with its AZ, the state the operator asked for
(``started``, ``stopped``, ``detached``), its addresses, VM and disks; ``--ps`` asks every
instance's agent how its jobs are (``running``, ``failing``, ``unresponsive``, ...), a few at
a time. ``vms`` lists every VM the store knows, including ones no instance uses (left over
by an interrupted deploy). Without ``-d`` both cover every deployment; ``--json`` prints a
list of objects whose keys are stable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import anyio
import click

from jobsite.cli._app import cli
from jobsite.cli._director import director_options, with_director
from jobsite.cli._store import with_store
from jobsite.errors import ConfigError

if TYPE_CHECKING:
    from jobsite.agent import Agent
    from jobsite.director import Director, DirectorConfig
    from jobsite.store import DiskRecord, InstanceRecord, Store, VmRecord

__all__ = ["instance_label", "table"]

AGENT_TIMEOUT = 10.0
"""Seconds an agent has to answer ``get_state`` before it counts as unresponsive."""
AGENTS_AT_ONCE = 16


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """``rows`` under ``headers`` in aligned columns (two spaces apart), as text."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in (headers, *rows)
    ]
    return "\n".join(lines) + "\n"


def instance_label(instance: InstanceRecord) -> str:
    """``group/index (uuid)``, as bosh names an instance."""
    return f"{instance.group}/{instance.index} ({instance.uuid})"


def _ips(vm: VmRecord | None) -> list[str]:
    if vm is None:
        return []
    out = []
    for network in vm.networks.values():
        if isinstance(network, Mapping) and isinstance(network.get("ip"), str):
            out.append(network["ip"])
    return out


async def _deployments(store: Store, deployment: str | None) -> list[str]:
    if deployment is not None:
        if await store.get_deployment(deployment) is None:
            raise ConfigError(f"deployment {deployment!r} does not exist")
        return [deployment]
    return [d.name for d in await store.list_deployments()]


async def _process_states(agent: Agent, agent_ids: Sequence[str]) -> dict[str, str]:
    """Each agent's ``job_state`` (``unresponsive`` when it fails or does not answer)."""
    limiter = anyio.CapacityLimiter(AGENTS_AT_ONCE)
    states: dict[str, str] = {}

    async def ask(agent_id: str) -> None:
        async with limiter:
            states[agent_id] = "unresponsive"
            with anyio.move_on_after(AGENT_TIMEOUT):
                try:
                    state = await agent.get_state(agent_id)
                except Exception:  # any failure to answer is what "unresponsive" means
                    return
                states[agent_id] = str(state.job_state)

    async with anyio.create_task_group() as tasks:
        for agent_id in agent_ids:
            tasks.start_soon(ask, agent_id)
    return states


def _instance_row(
    deployment: str,
    instance: InstanceRecord,
    vm: VmRecord | None,
    disks: Sequence[DiskRecord],
    process_state: str | None,
) -> dict[str, Any]:
    return {
        "deployment": deployment,
        "instance": instance_label(instance),
        "group": instance.group,
        "index": instance.index,
        "uuid": instance.uuid,
        "az": instance.az,
        "state": instance.state,
        "process_state": process_state,
        "bootstrap": instance.bootstrap,
        "ignore": instance.ignore,
        "ips": _ips(vm),
        "vm_cid": vm.cid if vm is not None else None,
        "agent_id": vm.agent_id if vm is not None else None,
        "disk_cids": [d.cid for d in disks if d.cid is not None],
    }


def _cell(value: Any) -> str:
    if value is None or value == []:
        return "-"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _print_sections(
    rows: list[dict[str, Any]],
    deployments: Sequence[str],
    columns: Sequence[tuple[str, str]],
    *,
    noun: str,
) -> None:
    """One table per deployment (titled when there are several)."""
    if not rows:
        where = f" in deployment {deployments[0]!r}" if len(deployments) == 1 else ""
        click.echo(f"No {noun}{where}." if deployments else "No deployments.")
        return
    first = True
    for name in deployments:
        mine = [r for r in rows if r["deployment"] == name]
        if not mine:
            continue
        if not first:
            click.echo()
        first = False
        if len(deployments) > 1:
            click.echo(f"Deployment {name!r}")
        click.echo(
            table(
                [title for _, title in columns],
                [[_cell(r[key]) for key, _ in columns] for r in mine],
            ),
            nl=False,
        )
        count = len(mine)
        click.echo(f"{count} {noun if count != 1 else noun.rstrip('s')}")


@cli.command("instances")
@click.option("-d", "--deployment", metavar="NAME", help="One deployment (default: every one).")
@click.option(
    "--ps",
    "ask_agents",
    is_flag=True,
    help="Ask each instance's agent how its jobs are (the process state column).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of objects.")
@director_options
def instances_command(
    deployment: str | None,
    ask_agents: bool,
    as_json: bool,
    director_config: DirectorConfig,
) -> None:
    """List instances: AZ, the state asked for, addresses, VM and disks."""

    async def work(director: Director) -> tuple[list[str], list[dict[str, Any]]]:
        names = await _deployments(director.store, deployment)
        found = [(name, entry) for name in names for entry in await director.instances(name)]
        states: dict[str, str] = {}
        if ask_agents:
            agent_ids = [vm.agent_id for _, (_, vm, _) in found if vm is not None]
            if agent_ids:
                states = await _process_states(director.agent, agent_ids)
        rows = [
            _instance_row(
                name,
                instance,
                vm,
                disks,
                (states.get(vm.agent_id) if vm is not None else None) if ask_agents else None,
            )
            for name, (instance, vm, disks) in found
        ]
        return names, rows

    names, rows = with_director(director_config, work)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    columns = [("instance", "Instance"), ("az", "AZ"), ("state", "State")]
    if ask_agents:
        columns.append(("process_state", "Process state"))
    columns += [("ips", "IPs"), ("vm_cid", "VM CID"), ("disk_cids", "Disk CIDs")]
    _print_sections(rows, names, columns, noun="instances")


@cli.command("vms")
@click.option("-d", "--deployment", metavar="NAME", help="One deployment (default: every one).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of objects.")
def vms_command(deployment: str | None, as_json: bool) -> None:
    """List the VMs the store records, also those no instance uses any more."""

    async def work(store: Store) -> tuple[list[str], list[dict[str, Any]]]:
        names = await _deployments(store, deployment)
        rows = []
        for name in names:
            instances = {i.uuid: i for i in await store.list_instances(name)}
            disks: dict[str, list[str]] = {}
            for disk in await store.list_disks(name, orphaned=False):
                if disk.vm is not None and disk.cid is not None:
                    disks.setdefault(disk.vm, []).append(disk.cid)
            for vm in await store.list_vms(name):
                instance = instances.get(vm.instance_uuid or "")
                rows.append(
                    {
                        "deployment": name,
                        "instance": instance_label(instance) if instance else None,
                        "uuid": vm.instance_uuid,
                        "az": instance.az if instance else None,
                        "state": vm.state,
                        "active": vm.active,
                        "ips": _ips(vm),
                        "vm_cid": vm.cid,
                        "agent_id": vm.agent_id,
                        "stemcell": (
                            f"{vm.stemcell_os}/{vm.stemcell_version}"
                            if vm.stemcell_os is not None
                            else None
                        ),
                        "disk_cids": disks.get(vm.id, []),
                    }
                )
        return names, rows

    names, rows = with_store(work)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    columns = [
        ("instance", "Instance"),
        ("az", "AZ"),
        ("state", "State"),
        ("active", "Active"),
        ("ips", "IPs"),
        ("vm_cid", "VM CID"),
        ("stemcell", "Stemcell"),
        ("disk_cids", "Disk CIDs"),
    ]
    _print_sections(rows, names, columns, noun="VMs")
