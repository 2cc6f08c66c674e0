"""A deploy that kills itself (SIGKILL) at its N-th step boundary: the crash test's child.

Usage: ``python crash_deploy.py HOME N``. It deploys ``HOME/manifest.yml`` with the store
``HOME/jobsite.db`` and the mock cloud ``HOME/cloud.json`` (the cloud config comes from the
store). Boundaries are counted in order: before and after every remodel, and before and
after every call that changes the cloud, i.e. between each intent and its call and between
each call and its result. At boundary N the process kills itself, as a power cut would;
with fewer boundaries than N it finishes and prints ``COMPLETED``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from jobsite import hookimpl
from jobsite.assembler import RetryPolicy
from jobsite.director import Director, DirectorConfig, DriverChoice
from jobsite_mock import MockCpi

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

CHANGING = (
    "create_vm",
    "delete_vm",
    "set_vm_metadata",
    "create_disk",
    "delete_disk",
    "attach_disk",
    "detach_disk",
    "set_disk_metadata",
)


class Boundaries:
    def __init__(self, kill_at: int) -> None:
        self.kill_at = kill_at
        self.seen = 0

    def cross(self) -> None:
        self.seen += 1
        if self.seen == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    @hookimpl
    def jobsite_assemble_remodel(self, remodel: Any) -> Any:
        return self.around()

    @contextlib.asynccontextmanager
    async def around(self) -> AsyncIterator[None]:
        self.cross()
        yield
        self.cross()


def count_cloud_calls(boundaries: Boundaries) -> None:
    for name in CHANGING:
        original: Callable[..., Awaitable[Any]] = getattr(MockCpi, name)

        @functools.wraps(original)
        async def wrapped(
            self: MockCpi, *args: Any, _original: Any = original, **kwargs: Any
        ) -> Any:
            boundaries.cross()
            result = await _original(self, *args, **kwargs)
            boundaries.cross()
            return result

        setattr(MockCpi, name, wrapped)


async def main(home: Path, kill_at: int) -> None:

    boundaries = Boundaries(kill_at)
    count_cloud_calls(boundaries)
    config = DirectorConfig(
        home=home,
        store=f"sqlite:///{home / 'jobsite.db'}",
        cpi=DriverChoice("mock", {"state_file": str(home / "cloud.json")}),
        retry=RetryPolicy(attempts=2, base=0.001, cap=0.001),
        plugins=(("crash-boundaries", boundaries),),
    )
    text = (home / "manifest.yml").read_text()
    async with Director(config) as director:
        request = await director.request_for(text)
        plan = await director.plan(request)
        result = await director.deploy(plan)
    print("COMPLETED" if result.ok else f"FAILED {result.failures}", flush=True)


if __name__ == "__main__":
    anyio.run(main, Path(sys.argv[1]), int(sys.argv[2]))
