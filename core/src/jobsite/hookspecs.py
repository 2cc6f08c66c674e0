"""Every hook a jobsite plugin can implement, in the order the pipeline calls them.

A plugin is any module or object with functions named like these hooks and marked with
:data:`jobsite.hookimpl`; a distribution makes it known through the entry-point group
``jobsite``::

    [project.entry-points.jobsite]
    my_cloud = "my_cloud_cpi.plugin"

Implementations may accept any subset of a hook's arguments, by name, as with pytest.

**Sync or async.** Registration hooks are synchronous: they run once, when a director loads its
plugins, and hand back *factories* whose products (drivers, strategies) have async methods.
The phase hooks may be ``async def``: pluggy never awaits, so core walks the implementations
itself (in pluggy's order: ``tryfirst`` first, ``trylast`` last, otherwise the last registered
first) and awaits each result that is awaitable, under anyio: asyncio and trio both work. Each
phase hook's docstring says how results combine:

- *collect*: every non-None result is kept, in call order;
- *first*: the first non-None result wins and later implementations are not called;
- *notify*: results are ignored.

``hookwrapper``/``wrapper`` implementations are refused for phase hooks (pluggy cannot run an
async wrapper); wrap execution with :func:`jobsite_assemble_remodel` instead.

**Built-ins are plugins.** jobsite's own behaviour (the diff that makes remodels, the default
materials) is registered first and marked ``trylast``, so a third party can run before it or
replace it.

Set ``JOBSITE_TRACE_PLUGINS=1`` to print every hook call, with its arguments and each
implementation's result, to standard error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pluggy

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("jobsite")
hookimpl = pluggy.HookimplMarker("jobsite")

#: What a registration hook receives: call it once per thing offered,
#: ``register(name, factory)``; ``factory(DriverContext)`` builds the thing when a config
#: selects ``name``.
Register = Callable[[str, Callable[..., Any]], None]


# -------------------------------------------------------------------------------------------
# Registration: naming drivers and strategies (synchronous, once per director)
# -------------------------------------------------------------------------------------------


@hookspec
def jobsite_register_cpis(register: Register) -> None:
    """Offer CPI drivers (clouds) by name.

    Called once when a director loads its plugins, before any phase runs.

    :param register: call ``register(name, factory)`` for each CPI offered, where
        ``factory(context: jobsite.DriverContext) -> jobsite.cpi.Cpi`` builds the driver. It is
        only called when a director config selects ``name``, so importing heavy SDKs inside the
        factory keeps ``jobsite --help`` fast and a broken driver harmless until chosen.

    Two plugins registering the same name is an error naming both; selecting that name fails
    until one of them is disabled (``JOBSITE_DISABLE_PLUGINS``). Return value: ignored.
    """


@hookspec
def jobsite_register_blobstores(register: Register) -> None:
    """Offer blobstore drivers by name.

    Same contract as :func:`jobsite_register_cpis`; the factory returns a
    :class:`jobsite.blobstore.Blobstore`.
    """


@hookspec
def jobsite_register_agents(register: Register) -> None:
    """Offer agent transports by name.

    Same contract as :func:`jobsite_register_cpis`; the factory returns a
    :class:`jobsite.agent.Agent`. Its context carries the chosen CPI and blobstore
    (``context.cpi``, ``context.blobstore``): the agent reaches that CPI's VMs.
    """


@hookspec
def jobsite_register_strategies(register: Register) -> None:
    """Offer update strategies by name (``serial``, ``hot_swap``, ...).

    Same contract as :func:`jobsite_register_cpis`; the factory returns a strategy object with
    ``plan(remodels, update_config) -> ConstructionPlan``. A manifest selects one with
    ``update.strategy`` (or BOSH's ``update.vm_strategy``); the director config sets the default.
    """


@hookspec
def jobsite_register_stores(register: Register) -> None:
    """Offer state stores by name (``sqlite``, ``postgres``, ...).

    Same contract as :func:`jobsite_register_cpis`; the factory returns a
    :class:`jobsite.store.Store`.
    """


@hookspec
def jobsite_register_template_renderers(register: Register) -> None:
    """Offer job template renderers by name (ERB-compatible, Jinja2, ...).

    Same contract as :func:`jobsite_register_cpis`; the factory returns a renderer that turns a
    job's templates, its spec and the instance's properties into rendered files.
    """


# -------------------------------------------------------------------------------------------
# Architect: configs -> blueprint (pure: implementations must do no I/O)
# -------------------------------------------------------------------------------------------


@hookspec
def jobsite_architect_materials(inputs: Any) -> Iterable[Any] | None:
    """Add materials to the blueprint.

    Called once per plan, after the configs are loaded, interpolated and validated.

    :param inputs: the architect's inputs: the manifest, merged cloud and runtime configs,
        releases, stemcells and additions, as immutable values.

    Return an iterable of materials (VMs, disks, compiled packages, instances, or a plugin's
    own material types) or None. Mode: *collect*; core's own materials come from built-in
    plugins through this same hook. May be ``async def``, but must not do I/O: the architect
    is pure so that the same inputs always give the same blueprint.
    """


# -------------------------------------------------------------------------------------------
# Inspector: state store + cloud -> floorplan (reads only)
# -------------------------------------------------------------------------------------------


@hookspec
def jobsite_inspect(deployment: str, store: Any, cpi: Any) -> Iterable[Any] | None:
    """Observe the world and report what exists.

    Called once per plan, concurrently with nothing else of the same deployment.

    :param deployment: the deployment's name.
    :param store: the director's :class:`jobsite.store.Store`.
    :param cpi: the selected :class:`jobsite.cpi.Cpi`.

    Return observations to fold into the floorplan (or None). Mode: *collect*. Usually
    ``async def``. Must only read: an inspector that changes the world breaks ``plan``.
    """


# -------------------------------------------------------------------------------------------
# Foreman: blueprint - floorplan - limitations -> remodels -> construction plan (pure)
# -------------------------------------------------------------------------------------------


@hookspec
def jobsite_foreman_remodels(
    blueprint: Any, floorplan: Any, limitations: Any
) -> Iterable[Any] | None:
    """Propose remodels: the actions that turn the floorplan into the blueprint.

    Called once per plan, after the inspector.

    :param blueprint: every material the inputs ask for.
    :param floorplan: what exists now, with identities (cids, ids, IPs).
    :param limitations: what to leave alone (ignored instances, ``--skip-drain``, ...).

    Return remodels, each with its reasons, or None. Mode: *collect*; core's diff is a built-in
    plugin (``trylast``). Must not do I/O.
    """


@hookspec
def jobsite_foreman_veto(remodel: Any, blueprint: Any, floorplan: Any) -> str | None:
    """Refuse a proposed remodel.

    Called for every remodel the foreman collected, before the strategy orders them.

    Return a human reason to drop the remodel (shown in the plan as skipped, with that reason),
    or None to keep it. Mode: *first*: the first veto wins. Must not do I/O.
    """


# -------------------------------------------------------------------------------------------
# Assembler: carrying the construction plan out
# -------------------------------------------------------------------------------------------


@hookspec
def jobsite_assemble_remodel(remodel: Any, context: Any) -> Any:
    """Wrap the execution of one remodel.

    Called just before the assembler carries ``remodel`` out.

    :param remodel: the remodel about to run.
    :param context: the assembler's context (drivers, store, deployment).

    Return an async context manager (or None); the assembler enters every one returned, in call
    order, around the remodel and exits them in reverse, so a plugin can time, retry, meter or
    log it. An exception raised inside is seen by each manager's ``__aexit__``. Mode: *collect*.
    """


# -------------------------------------------------------------------------------------------
# Events: every phase
# -------------------------------------------------------------------------------------------


@hookspec
def jobsite_event(event: Any) -> None:
    """Observe an event: stage started, remodel started/finished/failed, progress, warnings.

    Called for every event of every phase, in order. Implementations should return quickly
    (hand slow work to a queue); an exception is reported and does not stop the deploy.
    Mode: *notify*. May be ``async def``.
    """
