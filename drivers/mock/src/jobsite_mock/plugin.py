"""Registers the mock CPI, blobstore and agent, each under the name ``mock``.

Found through the entry point ``mock`` of the group ``jobsite``. The drivers' modules are
imported only when a config selects them, as any third-party driver should do.
"""

from __future__ import annotations

from jobsite import DriverContext, Register, hookimpl

__all__ = ["jobsite_register_agents", "jobsite_register_blobstores", "jobsite_register_cpis"]


def _cpi(context: DriverContext) -> object:
    from jobsite_mock.cpi import MockCpi

    return MockCpi.from_context(context)


def _blobstore(context: DriverContext) -> object:
    from jobsite_mock.blobstore import MockBlobstore

    return MockBlobstore.from_context(context)


def _agent(context: DriverContext) -> object:
    from jobsite_mock.agent import MockAgent

    return MockAgent.from_context(context)


@hookimpl
def jobsite_register_cpis(register: Register) -> None:
    """The in-memory cloud."""
    register("mock", _cpi)


@hookimpl
def jobsite_register_blobstores(register: Register) -> None:
    """The in-memory blobstore."""
    register("mock", _blobstore)


@hookimpl
def jobsite_register_agents(register: Register) -> None:
    """The simulated agents on the mock cloud's VMs."""
    register("mock", _agent)
