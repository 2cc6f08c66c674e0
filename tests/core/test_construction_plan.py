"""The construction plan's own checks: what core refuses from a strategy, by name."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from jobsite.errors import PluginError
from jobsite.foreman import (
    ConstructionPlan,
    Remodel,
    Stage,
    UpdatePolicy,
    order_remodels,
)

if TYPE_CHECKING:
    from collections.abc import Sequence


def remodel(rid: str) -> Remodel:
    return Remodel(id=rid, action="apply", deployment="d", instance_group="g", instance=rid)


A, B, C = remodel("a"), remodel("b"), remodel("c")


def plan(stages: Sequence[Stage], edges: Sequence[tuple[str, str]] = ()) -> ConstructionPlan:
    return ConstructionPlan(
        strategy="mine", remodels=(A, B, C), stages=tuple(stages), edges=tuple(edges)
    )


def test_a_sound_plan_passes() -> None:
    plan(
        [
            Stage(name="one", remodels=("a", "b")),
            Stage(name="two", remodels=("c",), after=("one",)),
        ],
        [("a", "b"), ("b", "c")],
    ).check()


@pytest.mark.parametrize(
    ("stages", "edges", "message"),
    [
        ([Stage(name="one", remodels=("a", "b"))], [], "remodel 'c' is in no stage"),
        (
            [Stage(name="one", remodels=("a", "b", "c")), Stage(name="one")],
            [],
            "two stages are named 'one'",
        ),
        (
            [Stage(name="one", remodels=("a", "b", "c", "z"))],
            [],
            "stage 'one' lists unknown remodel 'z'",
        ),
        (
            [Stage(name="one", remodels=("a", "b")), Stage(name="two", remodels=("b", "c"))],
            [],
            "remodel 'b' is in stages 'one' and 'two'",
        ),
        (
            [Stage(name="one", remodels=("a", "b", "c"), after=("zero",))],
            [],
            "stage 'one' comes after unknown stage 'zero'",
        ),
        ([Stage(name="one", remodels=("a", "b", "c"))], [("a", "q")], "unknown remodel 'q'"),
    ],
)
def test_malformed_plans_are_refused_naming_the_strategy(
    stages: list[Stage], edges: list[tuple[str, str]], message: str
) -> None:
    with pytest.raises(PluginError, match="strategy 'mine' drew a malformed plan") as info:
        plan(stages, edges).check()
    assert message in str(info.value)


def test_a_cycle_between_remodels_is_found_and_shown() -> None:
    with pytest.raises(PluginError, match=r"it has a cycle: ") as info:
        plan(
            [Stage(name="one", remodels=("a", "b", "c"))], [("a", "b"), ("b", "c"), ("c", "a")]
        ).check()
    cycle = str(info.value).split("it has a cycle: ")[1].split(" -> ")
    assert cycle[0] == cycle[-1]
    assert set(cycle) == {"a", "b", "c"}


def test_an_edge_against_the_stage_order_is_a_deadlock() -> None:
    # c waits for a, but a's stage only starts after c's stage has finished
    stages = [Stage(name="one", remodels=("a", "b")), Stage(name="two", remodels=("c",))]
    stages[0] = Stage(name="one", remodels=("a", "b"), after=("two",))
    with pytest.raises(PluginError, match="it has a cycle"):
        plan(stages, [("a", "c")]).check()


def test_stages_that_wait_for_each_other_are_a_cycle() -> None:
    stages = [
        Stage(name="one", remodels=("a",), after=("two",)),
        Stage(name="two", remodels=("b", "c"), after=("one",)),
    ]
    with pytest.raises(PluginError, match="it has a cycle"):
        plan(stages).check()


class Dropper:
    async def plan(self, remodels: Sequence[Remodel], update: UpdatePolicy) -> ConstructionPlan:
        kept = tuple(remodels[1:])
        return ConstructionPlan(
            strategy="dropper",
            remodels=kept,
            stages=(Stage(name="all", remodels=tuple(r.id for r in kept)),),
        )


class Broken:
    async def plan(self, remodels: Sequence[Remodel], update: UpdatePolicy) -> ConstructionPlan:
        raise KeyError("oops")


@pytest.mark.anyio
async def test_a_strategy_may_not_drop_remodels(anyio_backend: str) -> None:
    with pytest.raises(PluginError, match="strategy 'dropper' dropped remodel 'a'"):
        await order_remodels(Dropper(), "dropper", [A, B, C], UpdatePolicy(strategy="dropper"))


@pytest.mark.anyio
async def test_a_strategy_that_raises_is_named(anyio_backend: str) -> None:
    with pytest.raises(PluginError, match="strategy 'broken' failed to plan: KeyError"):
        await order_remodels(Broken(), "broken", [A], UpdatePolicy(strategy="broken"))
