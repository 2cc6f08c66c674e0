from __future__ import annotations

import pytest


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Core never uses asyncio-only APIs: every async core test runs on both backends."""
    return str(request.param)
