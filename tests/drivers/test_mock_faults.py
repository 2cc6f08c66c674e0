"""Fault rules and latency: failures chosen reproducibly, calls that take time and overlap."""

from __future__ import annotations

from itertools import combinations
from typing import Any

import anyio
import pytest

from jobsite.errors import (
    AgentError,
    BlobstoreError,
    CloudError,
    DiskNotFound,
    NoDiskSpace,
    VMCreationFailed,
)
from jobsite_mock import Fault, MockAgent, MockBlobstore, MockCpi, OptionError

pytestmark = pytest.mark.anyio


async def attempt_creates(cpi: MockCpi, count: int) -> list[str]:
    """Create ``count`` VMs one after the other; ``ok`` or the error's type name for each."""
    stemcell = await cpi.create_stemcell("", {})
    outcomes = []
    for i in range(count):
        try:
            await cpi.create_vm(f"agent-{i}", stemcell, {}, {}, [], {})
            outcomes.append("ok")
        except CloudError as exc:
            outcomes.append(f"{type(exc).__name__}:{exc.ok_to_retry}")
    return outcomes


async def test_nth_fails_exactly_that_call_and_leaves_no_vm() -> None:
    cpi = MockCpi(faults=[{"method": "create_vm", "nth": 3}])
    assert await attempt_creates(cpi, 5) == ["ok", "ok", "VMCreationFailed:False", "ok", "ok"]
    assert len(cpi.snapshot().vms) == 4
    failed = cpi.calls.of("create_vm")[2]
    assert failed.error == "VMCreationFailed"
    assert "mock create_vm: injected fault" in (failed.message or "")


async def test_every_with_times_fails_a_few_then_works_and_transient_allows_retry() -> None:
    cpi = MockCpi(faults=[{"method": "create_vm", "every": True, "times": 2, "transient": True}])
    outcomes = await attempt_creates(cpi, 4)
    assert outcomes == ["VMCreationFailed:True", "VMCreationFailed:True", "ok", "ok"]


async def test_probability_is_reproducible_with_a_seed() -> None:
    async def pattern(seed: int) -> list[str]:
        rule = {"method": "create_vm", "probability": 0.3, "seed": seed}
        return await attempt_creates(MockCpi(faults=[rule]), 40)

    first, again, other = await pattern(42), await pattern(42), await pattern(7)
    assert first == again
    assert first != other
    assert 0 < first.count("VMCreationFailed:False") < 40


async def test_error_type_message_and_wildcard_method() -> None:
    cpi = MockCpi(
        faults=[
            {"method": "create_disk", "nth": 1, "error": "NoDiskSpace", "message": "pool full"},
            {"method": "*", "nth": 3, "error": "Bosh::Clouds::DiskNotFound"},
        ]
    )
    with pytest.raises(NoDiskSpace, match="pool full") as info:
        await cpi.create_disk(10, {}, None)
    assert info.value.to_bosh() == {
        "type": "Bosh::Clouds::NoDiskSpace",
        "message": "pool full",
        "ok_to_retry": False,
    }
    await cpi.has_vm("vm-1")
    with pytest.raises(DiskNotFound):
        await cpi.info()  # the third call of any method
    assert await cpi.create_disk(10, {}, None) == "disk-1"


async def test_an_after_fault_acts_then_fails_leaking_the_vm() -> None:
    cpi = MockCpi(faults=[{"method": "create_vm", "nth": 1, "after": True, "error": "CloudError"}])
    stemcell = await cpi.create_stemcell("", {})
    with pytest.raises(CloudError, match="injected"):
        await cpi.create_vm("lost", stemcell, {}, {}, [], {})
    assert [v.vm_cid for v in await cpi.list_vms()] == ["vm-1"]
    assert cpi.find_vm_by_agent_id("lost") is not None


async def test_faults_injected_at_runtime_count_from_then_and_can_be_cleared() -> None:
    cpi = MockCpi()
    stemcell = await cpi.create_stemcell("", {})
    armed = cpi.inject(Fault(method="create_vm", nth=2))
    await cpi.create_vm("a", stemcell, {}, {}, [], {})
    with pytest.raises(VMCreationFailed):
        await cpi.create_vm("b", stemcell, {}, {}, [], {})
    assert (armed.seen, armed.fired) == (2, 1)
    cpi.inject(Fault(method="has_vm", every=True))
    with pytest.raises(CloudError):
        await cpi.has_vm("vm-1")
    cpi.clear_faults()
    assert await cpi.has_vm("vm-1")


async def test_two_rules_on_one_call_both_count_but_one_fires() -> None:
    cpi = MockCpi()
    first = cpi.inject(Fault(method="info", every=True, times=1))
    second = cpi.inject(Fault(method="info", nth=1))
    with pytest.raises(CloudError):
        await cpi.info()
    assert (first.seen, first.fired, second.seen, second.fired) == (1, 1, 1, 0)
    await cpi.info()


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"method": "craete_vm", "nth": 1}, "faults[0]: unknown method 'craete_vm'"),
        ({"method": "create_vm"}, "give exactly one of nth, every, probability"),
        ({"method": "create_vm", "nth": 1, "every": True}, "exactly one"),
        ({"method": "create_vm", "nth": 0}, "faults[0].nth: expected an integer >= 1"),
        ({"method": "create_vm", "every": "yes"}, "faults[0].every: expected true or false"),
        ({"method": "create_vm", "probability": 1.5}, "probability in (0, 1]"),
        ({"method": "create_vm", "nth": 1, "error": "Oops"}, "unknown error 'Oops'"),
        ({"method": "create_vm", "nth": 1, "times": -1}, "faults[0].times"),
        ({"method": "create_vm", "nth": 1, "seed": "x"}, "faults[0].seed"),
        ({"nth": 1}, "faults[0].method: required"),
        ({"method": "create_vm", "nht": 1}, "unknown option 'faults[0].nht'"),
    ],
)
def test_bad_fault_rules_are_refused_naming_the_option(rule: dict[str, Any], message: str) -> None:
    with pytest.raises(OptionError) as info:
        MockCpi(faults=[rule])
    assert message in str(info.value)
    assert str(info.value).startswith("mock: ")
    assert "\n" not in str(info.value)


async def test_agent_and_blobstore_faults_can_be_transient_too() -> None:
    store = MockBlobstore(faults=[{"method": "exists", "nth": 1, "transient": True}])
    with pytest.raises(BlobstoreError) as blob_info:
        await store.exists("0" * 64)
    assert blob_info.value.ok_to_retry is True
    assert await store.exists("0" * 64) is False
    agent = MockAgent(cpi=MockCpi(), blobstore=MockBlobstore())
    agent.inject(Fault(method="ping", nth=1, transient=True))
    with pytest.raises(AgentError) as agent_info:
        await agent.ping("agent-0")
    assert agent_info.value.ok_to_retry is True
    assert str(agent_info.value).startswith("mock ping: injected fault")


async def test_concurrent_calls_with_latency_overlap() -> None:
    cpi = MockCpi(latency={"create_vm": 0.05})
    stemcell = await cpi.create_stemcell("", {})
    async with anyio.create_task_group() as tg:
        for i in range(10):
            tg.start_soon(cpi.create_vm, f"a{i}", stemcell, {}, {}, [], {})
    creates = cpi.calls.of("create_vm")
    assert len(creates) == 10
    assert all(a.overlaps(b) for a, b in combinations(creates, 2))
    assert cpi.calls.max_concurrency("create_vm") == 10


async def test_sequential_calls_do_not_overlap() -> None:
    cpi = MockCpi(latency=0.001)
    for _ in range(3):
        await cpi.info()
    assert cpi.calls.max_concurrency() == 1
    a, b, c = cpi.calls
    assert not a.overlaps(b)
    assert not b.overlaps(c)


async def test_latency_per_method_with_default() -> None:
    cpi = MockCpi(latency={"default": 60, "has_vm": 0})
    with anyio.fail_after(5):
        await cpi.has_vm("vm-1")  # no latency of its own
    with anyio.move_on_after(0.01) as scope:
        await cpi.info()  # the default
    assert scope.cancelled_caught
    cpi.set_latency(0)
    with anyio.fail_after(5):
        await cpi.info()


async def test_a_cancelled_call_is_recorded_and_changes_nothing() -> None:
    cpi = MockCpi(latency={"create_vm": 10})
    stemcell = await cpi.create_stemcell("", {})
    with anyio.move_on_after(0.01):
        await cpi.create_vm("a", stemcell, {}, {}, [], {})
    assert cpi.snapshot().vms == {}
    assert cpi.calls[-1].error == "cancelled"


@pytest.mark.parametrize(
    ("latency", "message"),
    [
        (-1, "option latency: expected seconds"),
        ("fast", "option latency: expected seconds"),
        (True, "option latency: expected seconds"),
        ({"create_vm": -0.5}, "option latency.create_vm"),
        ({"craete_vm": 1}, "unknown method 'craete_vm'"),
    ],
)
def test_bad_latency_is_refused(latency: Any, message: str) -> None:
    with pytest.raises(OptionError, match=message.replace(".", r"\.")):
        MockCpi(latency=latency)
