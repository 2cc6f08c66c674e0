"""jobsite-mock: an honest in-memory cloud (CPI), blobstore and agent for tests and benchmarks.

The drivers keep the contracts of :mod:`jobsite.cpi`, :mod:`jobsite.blobstore` and
:mod:`jobsite.agent` as strictly as real ones, add latency and fault injection, and record
every call. Names are imported on first use, so loading the plugin (``jobsite_mock.plugin``)
costs nothing until a config selects a mock driver.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobsite_mock._calls import CallLog, CallRecord
    from jobsite_mock._faults import ArmedFault, Fault
    from jobsite_mock._options import OptionError
    from jobsite_mock._state import (
        AgentRecord,
        DiskRecord,
        SnapshotRecord,
        StemcellRecord,
        VmRecord,
        WorldSnapshot,
    )
    from jobsite_mock.agent import MockAgent
    from jobsite_mock.blobstore import MockBlobstore
    from jobsite_mock.cpi import MockCpi

__all__ = [
    "AgentRecord",
    "ArmedFault",
    "CallLog",
    "CallRecord",
    "DiskRecord",
    "Fault",
    "MockAgent",
    "MockBlobstore",
    "MockCpi",
    "OptionError",
    "SnapshotRecord",
    "StemcellRecord",
    "VmRecord",
    "WorldSnapshot",
]

_HOME = {
    "AgentRecord": "jobsite_mock._state",
    "ArmedFault": "jobsite_mock._faults",
    "CallLog": "jobsite_mock._calls",
    "CallRecord": "jobsite_mock._calls",
    "DiskRecord": "jobsite_mock._state",
    "Fault": "jobsite_mock._faults",
    "MockAgent": "jobsite_mock.agent",
    "MockBlobstore": "jobsite_mock.blobstore",
    "MockCpi": "jobsite_mock.cpi",
    "OptionError": "jobsite_mock._options",
    "SnapshotRecord": "jobsite_mock._state",
    "StemcellRecord": "jobsite_mock._state",
    "VmRecord": "jobsite_mock._state",
    "WorldSnapshot": "jobsite_mock._state",
}


def __getattr__(name: str) -> object:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'jobsite_mock' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
