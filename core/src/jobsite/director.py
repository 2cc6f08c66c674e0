"""The director: jobsite as a library, for async applications that embed it.

::

    async with jobsite.Director(DirectorConfig(cpi=DriverChoice("mock"))) as director:
        plan = await director.plan(PlanRequest(configs=configs))
        result = await director.deploy(plan, on_event=print)

A director owns one plugin manager (never a global one, so an application can run two
directors with different plugins), one store connection and the drivers its config names,
built on first use. Everything runs in the caller's event loop, under asyncio or trio;
blocking work (the database, blocking SDKs) runs in worker threads, and the caller's cancel
scopes cancel a deploy (which still records what it did before returning). The CLI is a thin
layer over this class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import attrs

from jobsite.architect import Blueprint
from jobsite.assembler import DeployResult, RetryPolicy, StopSignal, assemble
from jobsite.config import Document, load_deployment, parse_yaml
from jobsite.driver import DriverContext
from jobsite.errors import ConfigError, JobsiteError
from jobsite.foreman import Limitations, UpdatePolicy, collect_remodels, order_remodels
from jobsite.inspector import survey
from jobsite.planning import Plan, PlanRequest, make_plan, stored_configs
from jobsite.plugins import Plugins, load_plugins
from jobsite.stemcell import import_stemcell, read_stemcell
from jobsite.store import Batch, StemcellRecord, open_store
from jobsite.store._open import default_home

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    from jobsite.agent import Agent
    from jobsite.assembler import Event
    from jobsite.blobstore import Blobstore
    from jobsite.cpi import Cpi
    from jobsite.store import DiskRecord, InstanceRecord, Store, VmRecord

__all__ = ["Director", "DirectorConfig", "DriverChoice"]


@attrs.frozen
class DriverChoice:
    """A driver picked by its registered name, with its own options."""

    name: str
    options: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class DirectorConfig:
    """What a director is made of. Every field has a default fit for one machine."""

    name: str = "jobsite"
    """The director's name: VMs are tagged with it, and the inspector finds its VMs by it."""
    home: Path | None = None
    """Where drivers and the default SQLite store keep files (default: ``JOBSITE_HOME`` or
    the platform's data directory)."""
    store: str | None = None
    """The state store's URL (``sqlite:///...``, ``postgresql://...``); default: SQLite in
    ``home``."""
    cpi: DriverChoice = attrs.field(factory=lambda: DriverChoice("mock"))
    agent: DriverChoice | None = None
    """Default: the agent registered under the CPI's name."""
    blobstore: DriverChoice | None = None
    """Default: the blobstore registered under the CPI's name."""
    strategy: str = "serial"
    """The update strategy for manifests that do not choose one."""
    strategy_options: Mapping[str, Any] = attrs.field(factory=dict)
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)
    plugins: Sequence[tuple[str, object]] = ()
    """Extra ``(name, plugin)`` pairs registered after installed plugins."""
    entrypoints: bool = True
    """Whether installed plugins (entry-point group ``jobsite``) are loaded."""


class Director:
    """A jobsite director; see the module docstring."""

    def __init__(self, config: DirectorConfig | None = None) -> None:
        self.config = config or DirectorConfig()
        self.home = self.config.home or default_home()
        self.plugins: Plugins = load_plugins(
            entrypoints=self.config.entrypoints, plugins=tuple(self.config.plugins)
        )
        self._store_cm: Any = None
        self._store: Store | None = None
        self._cpi: Cpi | None = None
        self._blobstore: Blobstore | None = None
        self._agent: Agent | None = None

    async def __aenter__(self) -> Director:
        self._store_cm = open_store(self.config.store, home=self.home, plugins=self.plugins)
        self._store = await self._store_cm.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        cm, self._store_cm, self._store = self._store_cm, None, None
        if cm is not None:
            await cm.__aexit__(exc_type, exc, tb)

    # --- drivers -----------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("use the director inside `async with Director(...)`")
        return self._store

    @property
    def cpi(self) -> Cpi:
        if self._cpi is None:
            choice = self.config.cpi
            self._cpi = self.plugins.registry("cpi").create(
                DriverContext(name=choice.name, options=dict(choice.options), home=self.home)
            )
        return self._cpi

    @property
    def blobstore(self) -> Blobstore:
        if self._blobstore is None:
            choice = self.config.blobstore or DriverChoice(self.config.cpi.name)
            self._blobstore = self.plugins.registry("blobstore").create(
                DriverContext(name=choice.name, options=dict(choice.options), home=self.home)
            )
        return self._blobstore

    @property
    def agent(self) -> Agent:
        if self._agent is None:
            choice = self.config.agent or DriverChoice(self.config.cpi.name)
            self._agent = self.plugins.registry("agent").create(
                DriverContext(
                    name=choice.name,
                    options=dict(choice.options),
                    home=self.home,
                    cpi=self.cpi,
                    blobstore=self.blobstore,
                )
            )
        return self._agent

    # --- the pipeline --------------------------------------------------------------------------

    async def plan(self, request: PlanRequest, *, check_cloud: bool = True) -> Plan:
        """What deploying ``request`` would change, and why (``jobsite plan``)."""
        if request.strategy is None:
            request = attrs.evolve(
                request,
                strategy=self.config.strategy,
                strategy_options={**self.config.strategy_options, **request.strategy_options},
            )
        return await make_plan(
            request,
            store=self.store,
            cpi=self.cpi if check_cloud else None,
            plugins=self.plugins,
            director=self.config.name,
            home=self.home,
        )

    async def deploy(
        self,
        plan: Plan,
        *,
        on_event: Callable[[Event], Any] | None = None,
        stop: StopSignal | None = None,
        description: str = "",
    ) -> DeployResult:
        """Carry ``plan`` out (``jobsite deploy``). Failures of single remodels are in the
        result; a plan that cannot be carried out at all raises
        :class:`~jobsite.assembler.DeployRefused` before anything changes."""
        return await assemble(
            plan,
            store=self.store,
            cpi=self.cpi,
            agent=self.agent,
            hooks=self.plugins.hooks,
            director=self.config.name,
            on_event=on_event,
            retry=self.config.retry,
            stop=stop,
            description=description,
        )

    async def request_for(
        self, manifest_text: str, *, source: str = "manifest.yml", **flags: Any
    ) -> PlanRequest:
        """A plan request for a manifest given as text (already interpolated), with the
        store's current cloud and runtime configs. ``flags`` are :class:`PlanRequest`
        fields (``recreate``, ``fix``, ``states``, ...)."""
        clouds, cloud_ids = await stored_configs(self.store, "cloud")
        runtimes, runtime_ids = await stored_configs(self.store, "runtime")
        manifest = Document(source, parse_yaml(manifest_text, document=source))
        configs = load_deployment(manifest, clouds, runtimes)
        flags.setdefault("config_ids", tuple(sorted(cloud_ids + runtime_ids)))
        return PlanRequest(configs=configs, manifest_text=manifest_text, **flags)

    async def stored_request(self, deployment: str, **flags: Any) -> PlanRequest:
        """A plan request for ``deployment`` as last deployed: its recorded manifest with the
        store's current cloud and runtime configs (what ``jobsite recreate``, ``stop``,
        ``start`` and ``restart`` replan with). ``flags`` are :class:`PlanRequest` fields."""
        record = await self.store.get_deployment(deployment)
        if record is None:
            raise ConfigError(f"deployment {deployment!r} does not exist")
        return await self.request_for(
            record.manifest, source=f"deployment {deployment!r} (as deployed)", **flags
        )

    async def delete_plan(self, deployment: str, *, skip_drain: bool = False) -> Plan:
        """The plan that deletes ``deployment``: every instance stopped and its VM deleted,
        its disks orphaned (kept, as BOSH keeps them), leftover VMs deleted."""
        if await self.store.get_deployment(deployment) is None:
            raise ConfigError(f"deployment {deployment!r} does not exist")
        floorplan = await survey(
            deployment, self.store, self.cpi, director=self.config.name, hooks=self.plugins.hooks
        )
        blueprint = Blueprint(deployment=deployment)
        limitations = Limitations(skip_drain=skip_drain, fix=True)
        remodels, skipped = await collect_remodels(
            blueprint, floorplan, limitations, self.plugins.hooks
        )
        strategy = self.plugins.registry("strategy").create(
            DriverContext(name=self.config.strategy, options={}, home=self.home)
        )
        policy = UpdatePolicy(strategy=self.config.strategy)
        construction = await order_remodels(strategy, self.config.strategy, remodels, policy)
        return Plan(
            deployment=deployment,
            id_seed="",
            blueprint=blueprint,
            floorplan=floorplan,
            limitations=limitations,
            construction=construction,
            skipped=tuple(skipped),
        )

    async def delete_deployment(
        self,
        deployment: str,
        *,
        skip_drain: bool = False,
        on_event: Callable[[Event], Any] | None = None,
        stop: StopSignal | None = None,
        plan: Plan | None = None,
    ) -> DeployResult:
        """Delete every VM of ``deployment``, orphan its disks, and forget it (``jobsite
        delete-deployment``). When something fails the deployment stays, so a rerun can
        finish the job. ``plan``: the :meth:`delete_plan` already shown to the operator."""
        if plan is None:
            plan = await self.delete_plan(deployment, skip_drain=skip_drain)
        result = await self.deploy(
            plan, on_event=on_event, stop=stop, description=f"delete deployment {deployment}"
        )
        if result.ok:
            await self.store.apply(Batch().delete_deployment(deployment))
        return result

    # --- stemcells -----------------------------------------------------------------------------

    async def upload_stemcell(self, path: Path | str) -> StemcellRecord:
        """Import the stemcell tarball at ``path`` into this director's cloud and record it
        (``jobsite upload-stemcell``). A stemcell already uploaded with the same name and
        version for this CPI is returned as it is, without calling the CPI."""
        cpi_name = self.config.cpi.name
        stemcell = await anyio.to_thread.run_sync(read_stemcell, path)
        for record in await self.store.list_stemcells():
            if (record.name, record.version, record.cpi) == (
                stemcell.name,
                stemcell.version,
                cpi_name,
            ):
                return record
        stemcell, cid = await import_stemcell(self.cpi, path, home=self.home)
        record = StemcellRecord(
            name=stemcell.name,
            version=stemcell.version,
            os=stemcell.os,
            cid=cid,
            cpi=cpi_name,
            sha1=stemcell.sha1,
        )
        await self.store.apply(Batch().put_stemcell(record))
        return record

    async def stemcells(self) -> list[tuple[StemcellRecord, tuple[str, ...]]]:
        """Every uploaded stemcell (of every CPI) with the deployments whose VMs use it."""
        vms = await self.store.list_vms()
        return [
            (record, tuple(sorted({v.deployment for v in vms if self._uses_stemcell(v, record)})))
            for record in await self.store.list_stemcells()
        ]

    async def delete_stemcell(self, name: str, version: str) -> StemcellRecord:
        """Delete stemcell ``name``/``version`` from this director's cloud and forget it
        (``jobsite delete-stemcell``); refused while any deployment's VM uses it."""
        cpi_name = self.config.cpi.name
        records = [s for s in await self.store.list_stemcells() if s.name == name]
        record = next((s for s in records if s.version == version and s.cpi == cpi_name), None)
        if record is None:
            others = sorted({s.cpi or "(none)" for s in records if s.version == version})
            if others:
                raise ConfigError(
                    f"stemcell {name}/{version} is not uploaded for CPI {cpi_name!r} "
                    f"(it is for: {', '.join(others)}); pass --cpi to choose"
                )
            known = sorted({s.version for s in records})
            hint = f" (known versions: {', '.join(known)})" if known else ""
            raise ConfigError(f"stemcell {name}/{version} is not uploaded{hint}")
        users = sorted(
            {v.deployment for v in await self.store.list_vms() if self._uses_stemcell(v, record)}
        )
        if users:
            noun = "deployment" if len(users) == 1 else "deployments"
            raise JobsiteError(
                f"stemcell {name}/{version} is in use by {noun} {', '.join(users)}: delete "
                f"or redeploy {'it' if len(users) == 1 else 'them'} onto another stemcell first"
            )
        await self.cpi.delete_stemcell(record.cid)
        await self.store.apply(Batch().delete_stemcell(name, version, cpi_name))
        return record

    @staticmethod
    def _uses_stemcell(vm: VmRecord, stemcell: StemcellRecord) -> bool:
        """Whether ``vm`` was created from ``stemcell``: by cid, or by the os (or name) and
        version it was asked for (erring towards "in use", which only refuses a deletion)."""
        if vm.stemcell_cid is not None and vm.stemcell_cid == stemcell.cid:
            return True
        return vm.stemcell_os in (stemcell.os, stemcell.name) and (
            vm.stemcell_version == stemcell.version
        )

    # --- reading -------------------------------------------------------------------------------

    async def instances(
        self, deployment: str
    ) -> list[tuple[InstanceRecord, VmRecord | None, tuple[DiskRecord, ...]]]:
        """A deployment's instances with their active VM and disks."""
        if await self.store.get_deployment(deployment) is None:
            raise ConfigError(f"deployment {deployment!r} does not exist")
        vms = {v.instance_uuid: v for v in await self.store.list_vms(deployment) if v.active}
        disks: dict[str, list[DiskRecord]] = {}
        for disk in await self.store.list_disks(deployment, orphaned=False):
            if disk.instance_uuid is not None and disk.active:
                disks.setdefault(disk.instance_uuid, []).append(disk)
        return [
            (i, vms.get(i.uuid), tuple(disks.get(i.uuid, ())))
            for i in await self.store.list_instances(deployment)
        ]
