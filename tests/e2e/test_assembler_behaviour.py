"""The assembler's promises, observed on the mock: bounds, overlap, retries, hooks, the task
log, write-ahead records."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import pytest

from jobsite import hookimpl
from jobsite.assembler import DeployRefused, event_from_json
from jobsite.director import Director
from jobsite_mock import Fault

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from conftest import Site

pytestmark = pytest.mark.anyio


async def test_max_in_flight_bounds_instances_and_batches_overlap_nothing(site: Site) -> None:
    site.cpi.set_latency({"create_vm": 0.02})
    man = site.manifest(web={"instances": 7}, update={"max_in_flight": 3, "canaries": 1})
    assert (await site.deploy(man)).ok
    assert site.cpi.calls.max_concurrency("create_vm") == 3


async def test_serial_false_groups_update_side_by_side(site: Site) -> None:
    site.cpi.set_latency({"create_vm": 0.03})
    man = site.manifest(
        update={"max_in_flight": 5, "canaries": 0, "serial": False},
    )
    assert (await site.deploy(man)).ok
    assert site.cpi.calls.max_concurrency("create_vm") == 5  # web (3) beside worker (2)


async def test_transient_cloud_errors_are_retried_with_backoff(site: Site) -> None:
    site.cpi.inject(Fault(method="create_vm", every=True, times=2, transient=True))
    result = await site.deploy()
    assert result.ok, result.failures
    retried = [e for e in site.events if e.kind == "remodel_retried"]
    assert len(retried) == 2
    await site.converged()


async def test_a_lost_create_answer_is_found_by_agent_id_not_created_twice(site: Site) -> None:
    site.cpi.inject(Fault(method="create_vm", nth=1, transient=True, after=True))
    result = await site.deploy()
    assert result.ok, result.failures
    assert len(site.cpi.calls.of("create_vm")) == 5  # four plus the one that went through
    await site.converged()


async def test_a_permanent_error_is_not_retried(site: Site) -> None:
    site.cpi.inject(Fault(method="create_vm", nth=1))
    result = await site.deploy()
    assert result.state == "error"
    assert not [e for e in site.events if e.kind == "remodel_retried"]


async def test_plugins_wrap_each_remodel_and_observe_every_event(
    site: Site, tmp_path: Path
) -> None:
    seen: list[str] = []
    wrapped: list[str] = []

    class Observer:
        @hookimpl
        def jobsite_event(self, event: Any) -> None:
            seen.append(event.kind)

        @hookimpl
        def jobsite_assemble_remodel(self, remodel: Any, context: Any) -> Any:
            @contextlib.asynccontextmanager
            async def around() -> AsyncIterator[None]:
                wrapped.append(f"enter {remodel.action}")
                yield
                wrapped.append(f"exit {remodel.action}")

            return around()

    home = tmp_path / "observed"
    home.mkdir()
    async with Director(site.config_for(home, plugins=(("observer", Observer()),))) as director:
        await site.upload_stemcell(director)
        plan = await director.plan(site.request(site.manifest()))
        assert (await director.deploy(plan)).ok
    assert seen[0] == "deploy_started"
    assert seen[-1] == "deploy_finished"
    assert wrapped[:2] == ["enter create_vm", "exit create_vm"]
    assert len(wrapped) == 2 * len(plan.construction.remodels)


async def test_the_task_log_replays_the_deploy(site: Site) -> None:
    result = await site.deploy()
    assert result.task is not None
    task = await site.store.get_task(result.task)
    assert task is not None
    assert task.state == "done"
    events = [event_from_json(dict(e.data)) for e in await site.store.list_events(result.task)]
    assert [type(e).__name__ for e in events] == [type(e).__name__ for e in site.events]
    assert events[-1] == site.events[-1]


async def test_a_missing_stemcell_refuses_before_anything_changes(site: Site) -> None:
    man = site.manifest(stemcells=[{"alias": "default", "os": "ubuntu-jammy", "version": "9"}])
    plan = await site.plan(man)
    with pytest.raises(DeployRefused, match=r"stemcell ubuntu-jammy/9 is not uploaded"):
        await site.director.deploy(plan)
    assert site.cpi.calls.of("create_vm") == []
    assert await site.store.list_tasks() == ()


async def test_two_deploys_of_one_deployment_never_run_at_once(site: Site) -> None:
    import anyio

    site.cpi.set_latency({"create_vm": 0.05})
    plan = await site.plan()
    outcomes: list[str] = []

    async def one() -> None:
        try:
            outcomes.append((await site.director.deploy(plan)).state)
        except DeployRefused as exc:
            outcomes.append(str(exc))

    async with anyio.create_task_group() as tg:
        tg.start_soon(one)
        tg.start_soon(one)
    assert "done" in outcomes
    assert any("is locked" in o for o in outcomes)


async def test_a_plugins_malformed_remodel_is_refused_by_name_before_anything_runs(
    site: Site,
) -> None:
    import attrs

    plan = await site.plan()
    broken = tuple(
        attrs.evolve(r, vm=None) if r.action == "start" else r for r in plan.construction.remodels
    )
    plan = attrs.evolve(plan, construction=attrs.evolve(plan.construction, remodels=broken))
    with pytest.raises(DeployRefused, match=r"\(start\) lacks vm"):
        await site.director.deploy(plan)
    assert site.cpi.calls.of("create_vm") == []
