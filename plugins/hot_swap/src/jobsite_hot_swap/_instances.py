"""One instance's remodels, redrawn create-swap-delete.

Core's diff gives an instance whose VM is replaced in delete-first order::

    stop(old) → detach_disk(old)... → delete_vm(old) → create_vm(new) → attach_disk(new)...
    → [disk migration] → apply(new) → start(new)

``hot_swap`` lifts ``create_vm`` out of that chain into the deploy's first stage (the new VM
is created *standby*, beside the running one), puts a ``swap`` where the VM used to be
replaced, and moves ``delete_vm(old)`` to the deploy's last stage::

    create VMs:       create_vm(new, standby) ─────────────┐
    the group's stage: stop(old) → detach_disk(old)... → swap → attach_disk(new)... → apply → start
    delete old VMs:                                          └→ delete_vm(old)

Two VMs then exist for the same instance for a while, so the new one cannot take an address
the old one still holds: on a manual network it takes the instance's spare address (drawn by
the architect, :attr:`jobsite.foreman.UpdatePolicy.swap_addresses`). Where that is not
possible (a static IP or a VIP, which only one VM can hold; no spare; an address some other
VM keeps until it is deleted later) the instance falls back to core's delete-first order, in
its group's stage, and says why.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from jobsite.architect import NetworkPlacement, VmMaterial
from jobsite.foreman import Reason, Remodel, Unit

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from jobsite.foreman import GroupUpdate

__all__ = ["Drawn", "Held", "draw_instance"]

Edge = tuple[str, str]


@attrs.frozen(kw_only=True)
class Drawn:
    """A unit as the plan holds it: which of its remodels go in which stage, and its edges."""

    remodels: tuple[Remodel, ...]
    """Every remodel of the unit, as given or amended, plus its ``swap``; in the order given,
    the ``swap`` right after the ``create_vm``."""
    first: tuple[str, ...] = ()
    """The ``create_vm`` that goes to the ``create VMs`` stage."""
    batch: tuple[str, ...] = ()
    """What goes to the instance's place among its group's canaries and pool (or to the
    deletion stage), in chain order."""
    last: tuple[str, ...] = ()
    """The old VM's ``delete_vm``, for the ``delete old VMs`` stage."""
    edges: tuple[Edge, ...] = ()

    @classmethod
    def as_given(cls, remodels: Sequence[Remodel]) -> Drawn:
        """The remodels in one stage, chained in the order given (the ``serial`` way)."""
        return cls(
            remodels=tuple(remodels),
            batch=tuple(r.id for r in remodels),
            edges=tuple((a.id, b.id) for a, b in itertools.pairwise(remodels)),
        )


# --- addresses --------------------------------------------------------------------------------


def _addresses(vm: Remodel) -> dict[str, str] | None:
    """Network → the address a ``delete_vm``'s VM holds, from its material (the VM's store
    record, whose ``networks`` map each network to its settings); None when not known."""
    networks = getattr(vm.material, "networks", None)
    if not isinstance(networks, Mapping):
        return None
    out: dict[str, str] = {}
    for name, settings in networks.items():
        ip = settings.get("ip") if isinstance(settings, Mapping) else None
        if isinstance(ip, str):
            out[str(name)] = ip
    return out


def _vm_name(remodel: Remodel) -> str:
    """``VM <cid> of <group>/<uuid>``, or as much of it as is known, for messages."""
    name = f"VM {remodel.cid or remodel.vm or remodel.id}"
    return f"{name} of {remodel.instance_name}" if remodel.instance else name


@attrs.frozen
class Held:
    """Addresses held by VMs the plan deletes, until they are deleted.

    Every ``delete_vm`` of the plan runs after ``create VMs``, so a VM created there must not
    take an address any of them holds: not its own old VM's (it takes a spare instead) and
    not one freed by an instance being deleted, a leftover VM or an instance whose address
    moved, which the architect may already have handed to another instance.
    """

    holders: Mapping[tuple[str, str], tuple[Remodel, ...]]

    @classmethod
    def of(cls, remodels: Iterable[Remodel]) -> Held:
        holders: dict[tuple[str, str], list[Remodel]] = {}
        for remodel in remodels:
            if remodel.action == "delete_vm":
                for network, ip in (_addresses(remodel) or {}).items():
                    holders.setdefault((network, ip), []).append(remodel)
        return cls({key: tuple(rs) for key, rs in holders.items()})

    def other(self, network: str, ip: str, own: Remodel | None) -> Remodel | None:
        """The first VM other than ``own`` that holds ``ip`` on ``network``, if any."""
        return next(
            (r for r in self.holders.get((network, ip), ()) if own is None or r.id != own.id),
            None,
        )


def _addressed(placement: NetworkPlacement) -> bool:
    """Whether jobsite chose the placement's address (dynamic ones are the cloud's)."""
    return placement.type != "dynamic" and placement.ip is not None


def _fallback(cause: str, placement: NetworkPlacement, message: str) -> Reason:
    return Reason(
        code="swap_fallback",
        message=message,
        details={"network": placement.network, "ip": placement.ip, "cause": cause},
    )


def _readdress(
    create: Remodel,
    old: Remodel,
    spares: Sequence[NetworkPlacement],
    held: Held,
) -> tuple[Any, tuple[Reason, ...]] | Reason:
    """The new VM's material with a spare address wherever the old VM holds the one it
    was given, and the ``address_changed`` reasons; or why the instance cannot be swapped.

    When the old VM's addresses are not known (a ``delete_vm`` without its record), every
    address the new VM was given is taken to be held: a second VM on a held address breaks
    both, a spare address only renumbers the instance.
    """
    material = create.material
    if not isinstance(material, VmMaterial):
        return material, ()
    held_by_old = _addresses(old)
    why = "the VM is replaced delete-first"
    placements: list[NetworkPlacement] = []
    reasons: list[Reason] = []
    for placement in material.networks:
        if not _addressed(placement):
            placements.append(placement)
            continue
        assert placement.ip is not None
        chosen = placement
        if held_by_old is None or held_by_old.get(placement.network) == placement.ip:
            if placement.type == "vip":
                return _fallback(
                    "vip",
                    placement,
                    f"VIP {placement.ip} on {placement.network} cannot be held by two VMs: {why}",
                )
            if placement.static:
                return _fallback(
                    "static",
                    placement,
                    f"static IP {placement.ip} on {placement.network} cannot be held by two "
                    f"VMs: {why}",
                )
            spare = next(
                (s for s in spares if s.network == placement.network and s.ip is not None), None
            )
            if spare is None:
                return _fallback(
                    "no_spare",
                    placement,
                    f"no spare address on {placement.network} (the old VM holds "
                    f"{placement.ip}): {why}",
                )
            chosen = spare
        assert chosen.ip is not None
        holder = held.other(chosen.network, chosen.ip, old)
        if holder is not None:
            return _fallback(
                "held",
                chosen,
                f"address {chosen.ip} on {chosen.network} is held by {_vm_name(holder)} until "
                f"it is deleted: {why}",
            )
        if chosen is not placement:
            reasons.append(
                Reason(
                    code="address_changed",
                    message=(
                        f"address {placement.ip} → {chosen.ip} on {placement.network} (hot_swap:"
                        " the old VM keeps its address until it is deleted)"
                    ),
                    details={"network": placement.network, "old": placement.ip, "new": chosen.ip},
                )
            )
        placements.append(chosen)
    if not reasons:
        return material, ()
    return attrs.evolve(material, networks=tuple(placements)), tuple(reasons)


def _held_by_others(create: Remodel, held: Held) -> Reason | None:
    """Why a new instance's VM cannot be created up front: an address it was given is still
    held by a VM the plan deletes later. None when it can."""
    material = create.material
    if not isinstance(material, VmMaterial):
        return None
    for placement in material.networks:
        if _addressed(placement):
            assert placement.ip is not None
            holder = held.other(placement.network, placement.ip, None)
            if holder is not None:
                return _fallback(
                    "held",
                    placement,
                    f"address {placement.ip} on {placement.network} is held by "
                    f"{_vm_name(holder)} until it is deleted: the new VM is created in its "
                    "group's stage, not up front",
                )
    return None


# --- one instance -----------------------------------------------------------------------------


def _with_reasons(remodel: Remodel, reasons: Sequence[Reason]) -> Remodel:
    return attrs.evolve(remodel, reasons=(*remodel.reasons, *reasons)) if reasons else remodel


def _fall_back(remodels: Sequence[Remodel], amend: Sequence[Remodel], why: Reason) -> Drawn:
    """Core's delete-first order, with ``why`` on the VM remodels in ``amend``."""
    ids = {r.id for r in amend}
    return Drawn.as_given([_with_reasons(r, (why,)) if r.id in ids else r for r in remodels])


def _lift(remodels: Sequence[Remodel], at: int, create: Remodel) -> Drawn:
    """``remodels`` with the ``create_vm`` at ``at`` (replaced by ``create``) moved to the
    first stage: the rest stay chained, and the VM is created before the step that followed
    it."""
    rest = [*remodels[:at], *remodels[at + 1 :]]
    edges = [(a.id, b.id) for a, b in itertools.pairwise(rest)]
    if at + 1 < len(remodels):
        edges.append((create.id, remodels[at + 1].id))
    return Drawn(
        remodels=(*remodels[:at], create, *remodels[at + 1 :]),
        first=(create.id,),
        batch=tuple(r.id for r in rest),
        edges=tuple(edges),
    )


_DISK_CHANGES = frozenset({"create_disk", "migrate_disk", "orphan_disk"})


def _swap(
    remodels: Sequence[Remodel],
    at: int,
    old_at: int,
    material: Any,
    changed: Sequence[Reason],
) -> Drawn:
    """Create first (standby, on ``material``), swap in the group's stage, delete the old last."""
    old, create = remodels[old_at], remodels[at]
    create = attrs.evolve(
        create,
        material=material,
        reasons=(*create.reasons, *changed),
        options={**create.options, "standby": True},
    )
    swap = Remodel(
        id=f"{create.instance_group}/{create.instance}:swap:{create.vm}",
        action="swap",
        deployment=create.deployment,
        instance_group=create.instance_group,
        instance=create.instance,
        index=create.index,
        reasons=create.reasons,
        vm=create.vm,
        options={"old_vm": old.vm},
    )
    out: list[Remodel] = []
    for n, remodel in enumerate(remodels):
        if n == at:
            out += (create, swap)
        elif remodel.action in ("apply", "start"):
            out.append(_with_reasons(remodel, changed))
        else:
            out.append(remodel)
    chain = [r for r in out if r.id not in (create.id, old.id)]
    if not any(r.action in _DISK_CHANGES for r in chain):
        # Apply first, on the standby VM while the old one still runs: installing jobs and
        # packages (often the slowest step of an update) leaves the instance's downtime,
        # which is then only stop, the disk move and start. With a disk migration the spec
        # names the new disk, so the apply waits for it.
        applies = [r for r in chain if r.action == "apply"]
        chain = applies + [r for r in chain if r.action != "apply"]
        out = [create, *chain, old]  # the order it runs in
    edges = [(a.id, b.id) for a, b in itertools.pairwise(chain)]
    edges += ((create.id, swap.id), (swap.id, old.id))
    edges += ((create.id, r.id) for r in chain[:1] if r.action == "apply")
    return Drawn(
        remodels=tuple(out),
        first=(create.id,),
        batch=tuple(r.id for r in chain),
        last=(old.id,),
        edges=tuple(edges),
    )


def draw_instance(
    unit: Unit, group: GroupUpdate, spares: Sequence[NetworkPlacement], held: Held
) -> Drawn:
    """One needed instance's remodels, drawn create-swap-delete where that is possible.

    - no ``create_vm`` (only jobs or disks change), or a group that asks for ``serial``:
      as given, in the instance's stage;
    - a new VM for an instance with no VM to replace (a new instance): created up front,
      the rest in that stage;
    - a VM replaced: created up front as a standby, swapped in that stage, the old one
      deleted last; on a spare address where the old VM holds the one it was given.

    A ``create_vm`` that already has a ``cid`` adopts a VM an interrupted deploy created:
    that VM exists with its addresses, so it is kept as it is and always goes first.
    """
    remodels = unit.remodels
    at = next((n for n, r in enumerate(remodels) if r.action == "create_vm"), None)
    if at is None or group.strategy == "serial":
        return Drawn.as_given(remodels)
    create = remodels[at]
    # The VM being replaced: the last one deleted before the new one is created (a VM of
    # the instance deleted after that, such as a leftover, is not the one it replaces).
    old_at = next(
        (
            n
            for n in range(at - 1, -1, -1)
            if remodels[n].action == "delete_vm" and remodels[n].vm is not None
        ),
        None,
    )
    adopted = create.cid is not None
    if old_at is None:
        why = None if adopted else _held_by_others(create, held)
        if why is not None:
            return _fall_back(remodels, (create,), why)
        return _lift(remodels, at, create)
    old = remodels[old_at]
    if adopted:
        return _swap(remodels, at, old_at, create.material, ())
    readdressed = _readdress(create, old, spares, held)
    if isinstance(readdressed, Reason):
        return _fall_back(remodels, (old, create), readdressed)
    material, changed = readdressed
    return _swap(remodels, at, old_at, material, changed)
