"""The collector pause restores what it found, nests, and is undone on errors."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

import pytest

from jobsite._gcpause import gc_paused, without_gc

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(autouse=True)
def restore_gc() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_paused_inside_and_enabled_after() -> None:
    gc.enable()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block still holds the pause
    assert gc.isenabled()


def test_an_application_that_disabled_the_collector_keeps_it_off() -> None:
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()


def test_an_exception_still_restores_the_collector() -> None:
    gc.enable()

    @without_gc
    def boom() -> None:
        assert not gc.isenabled()
        raise ValueError("x")

    with pytest.raises(ValueError, match="x"):
        boom()
    assert gc.isenabled()
