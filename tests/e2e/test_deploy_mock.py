"""End to end on the mock driver: plan, deploy, replan; every change a user makes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Site

pytestmark = pytest.mark.anyio


async def test_a_first_deploy_creates_everything_and_a_redeploy_changes_nothing(
    site: Site,
) -> None:
    result = await site.deploy()
    assert result.ok, result.failures
    assert len(site.cpi.snapshot().vms) == 5
    await site.converged()
    again = await site.deploy()
    assert again.ok
    assert again.done == 0
