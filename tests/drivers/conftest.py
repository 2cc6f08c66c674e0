from __future__ import annotations

import pytest


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Drivers use anyio only: every async driver test runs on asyncio and trio both."""
    return str(request.param)
