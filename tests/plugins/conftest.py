from __future__ import annotations

import pytest


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Strategies are async and must not depend on asyncio: every async plugin test runs on
    both backends."""
    return str(request.param)
