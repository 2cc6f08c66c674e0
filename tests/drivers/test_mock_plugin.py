"""The mock drivers load as a third party's would: through the entry point, by name."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import jobsite_mock
from jobsite import DriverContext
from jobsite.errors import DriverError, JobsiteError, VMCreationFailed
from jobsite.plugins import load_plugins

PUBLIC = {
    "jobsite",
    "jobsite.cpi",
    "jobsite.blobstore",
    "jobsite.agent",
    "jobsite.driver",
    "jobsite.errors",
}
SOURCE = Path(jobsite_mock.__file__).parent


def test_the_entry_point_registers_a_cpi_a_blobstore_and_an_agent() -> None:
    plugins = load_plugins()
    info = next(i for i in plugins.infos if i.name == "mock")
    assert (info.distribution, info.module) == ("jobsite-mock", "jobsite_mock.plugin")
    assert plugins.offered_by("mock") == {"cpi": ["mock"], "blobstore": ["mock"], "agent": ["mock"]}
    assert not [f for f in plugins.failures if f.name == "mock"]


@pytest.mark.anyio
async def test_drivers_built_through_the_registries_work_together() -> None:
    plugins = load_plugins()
    options: dict[str, Any] = {
        "latency": {"default": 0, "create_vm": 0.001},
        "faults": [{"method": "create_vm", "nth": 2, "transient": True}],
    }
    cpi = plugins.registry("cpi").create(DriverContext(name="mock", options=options))
    blobstore = plugins.registry("blobstore").create(
        DriverContext(name="mock", options={"chunk_size": 1024})
    )
    agent = plugins.registry("agent").create(
        DriverContext(name="mock", options={"start_seconds": 0}, cpi=cpi, blobstore=blobstore)
    )
    stemcell = await cpi.create_stemcell("", {})
    await cpi.create_vm("a1", stemcell, {}, {}, [], {})
    with pytest.raises(VMCreationFailed) as info:
        await cpi.create_vm("a2", stemcell, {}, {}, [], {})
    assert info.value.ok_to_retry
    assert await agent.ping("a1")
    assert not await agent.ping("a2")


class NotMock:
    """Some other cloud."""


@pytest.mark.parametrize(
    ("kind", "context", "message"),
    [
        ("cpi", DriverContext(name="mock", options={"latncy": 1}), "unknown option 'latncy'"),
        ("cpi", DriverContext(name="mock", options={"state_file": 3}), "option state_file"),
        ("cpi", DriverContext(name="mock", options={"dynamic_ip_range": "x"}), "dynamic_ip_range"),
        ("blobstore", DriverContext(name="mock", options={"chunk_size": "1k"}), "chunk_size"),
        ("agent", DriverContext(name="mock", cpi=NotMock()), "needs the mock CPI"),  # type: ignore[arg-type]
        ("agent", DriverContext(name="mock"), "needs the mock CPI (cpi: mock), got none"),
        ("agent", DriverContext(name="mock", options={"start_seconds": -1}), "start_seconds"),
        ("agent", DriverContext(name="mock", options={"failing_jobs": "web"}), "failing_jobs"),
    ],
)
def test_bad_configurations_fail_at_creation_in_one_line(
    kind: str, context: DriverContext, message: str
) -> None:
    if kind == "agent" and context.options:
        context = DriverContext(
            name="mock",
            options=context.options,
            cpi=jobsite_mock.MockCpi(),
            blobstore=jobsite_mock.MockBlobstore(),
        )
    with pytest.raises(DriverError) as info:
        load_plugins().registry(kind).create(context)
    assert isinstance(info.value, JobsiteError)
    assert message in str(info.value)
    assert str(info.value).startswith("mock: ")
    assert "\n" not in str(info.value)


def test_the_agent_needs_a_blobstore() -> None:
    context = DriverContext(name="mock", cpi=jobsite_mock.MockCpi())
    with pytest.raises(DriverError, match="needs a blobstore"):
        load_plugins().registry("agent").create(context)


def test_loading_the_plugin_does_not_import_the_drivers() -> None:
    code = textwrap.dedent(
        """
        import sys
        from jobsite.plugins import load_plugins
        plugins = load_plugins()
        assert "mock" in plugins.registry("cpi")
        print(sorted(m for m in sys.modules if m.startswith("jobsite_mock")))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "['jobsite_mock', 'jobsite_mock.plugin']"


def test_the_drivers_import_only_jobsites_public_api() -> None:
    seen: set[str] = set()
    for path in SOURCE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                seen.add(node.module)
            elif isinstance(node, ast.Import):
                seen.update(alias.name for alias in node.names)
    from_jobsite = {m for m in seen if m == "jobsite" or m.startswith("jobsite.")}
    assert from_jobsite
    assert from_jobsite <= PUBLIC, from_jobsite - PUBLIC
