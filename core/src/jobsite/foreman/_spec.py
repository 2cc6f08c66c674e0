"""The instance spec: what the assembler records for an instance after applying it, and what
the foreman compares the blueprint against on the next deploy.

One function writes it so that writer and reader cannot drift apart. It is plain JSON (the
store keeps it as text); properties are kept so a later plan can name the keys that changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from collections.abc import Iterable

    from jobsite.architect import InstanceMaterial, JobMaterial, VmMaterial

__all__ = ["SPEC_VERSION", "instance_spec", "plain"]

SPEC_VERSION = 1


def plain(value: Any) -> Any:
    """A JSON-shaped copy: mappings become dicts and sequences lists, recursively (frozen
    store values and YAML values then compare equal when they mean the same)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def instance_spec(
    instance: InstanceMaterial, vm: VmMaterial | None, jobs: Iterable[JobMaterial]
) -> dict[str, Any]:
    """The spec of ``instance`` as applied with ``jobs`` on a VM drawn as ``vm``."""
    return {
        "spec_version": SPEC_VERSION,
        "deployment": instance.deployment,
        "name": instance.group,
        "index": instance.index,
        "id": instance.uuid,
        "az": instance.az,
        "bootstrap": instance.bootstrap,
        "jobs": [
            {
                "name": job.name,
                "release": job.release,
                "version": job.release_version,
                "addon": job.addon,
                "properties": plain(job.properties),
            }
            for job in jobs
        ],
        "vm_resources": (
            attrs.asdict(vm.vm_resources) if vm is not None and vm.vm_resources else None
        ),
    }
