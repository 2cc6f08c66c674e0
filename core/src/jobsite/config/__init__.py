"""Reading BOSH's inputs: YAML, ``((variables))``, go-patch ops files, and typed configs.

The public API for everything that turns an operator's files into values jobsite can plan
with. The pieces run in BOSH's order: parse YAML, apply ops files, substitute variables, then
structure the result into frozen models and check cross-references, reporting every problem
of a document at once.
"""

from __future__ import annotations

from jobsite.config._cloud import (
    Az,
    CloudConfig,
    Compilation,
    DiskType,
    Network,
    Subnet,
    VmExtension,
    VmResources,
    VmType,
)
from jobsite.config._converter import ConfigWarning
from jobsite.config._interpolate import interpolate
from jobsite.config._ipranges import IpRange, IpRanges, parse_ip_range, parse_ip_ranges
from jobsite.config._load import (
    DeploymentConfigs,
    Document,
    Loaded,
    load_cloud_config,
    load_deployment,
    load_manifest,
    load_runtime_config,
)
from jobsite.config._manifest import (
    VM_STRATEGIES,
    CloudProvider,
    DiskPool,
    Features,
    InstanceGroup,
    Manifest,
    MigratedFrom,
    NamedDisk,
    NetworkRef,
    ResourcePool,
    Stemcell,
    UpdateConfig,
)
from jobsite.config._ops import Op, apply_ops, find_path, parse_ops, read_ops_file
from jobsite.config._parts import (
    Addon,
    Job,
    JobRule,
    Placement,
    Release,
    ReleaseStemcell,
    StemcellRule,
    Variable,
)
from jobsite.config._runtime import RuntimeConfig
from jobsite.config._values import MaxInFlight, Version, WatchTime
from jobsite.config._vars import Variables, substitute, variables_from_cli
from jobsite.config._yaml import dump_yaml, parse_yaml, read_yaml

__all__ = [
    "VM_STRATEGIES",
    "Addon",
    "Az",
    "CloudConfig",
    "CloudProvider",
    "Compilation",
    "ConfigWarning",
    "DeploymentConfigs",
    "DiskPool",
    "DiskType",
    "Document",
    "Features",
    "InstanceGroup",
    "IpRange",
    "IpRanges",
    "Job",
    "JobRule",
    "Loaded",
    "Manifest",
    "MaxInFlight",
    "MigratedFrom",
    "NamedDisk",
    "Network",
    "NetworkRef",
    "Op",
    "Placement",
    "Release",
    "ReleaseStemcell",
    "ResourcePool",
    "RuntimeConfig",
    "Stemcell",
    "StemcellRule",
    "Subnet",
    "UpdateConfig",
    "Variable",
    "Variables",
    "Version",
    "VmExtension",
    "VmResources",
    "VmType",
    "WatchTime",
    "apply_ops",
    "dump_yaml",
    "find_path",
    "interpolate",
    "load_cloud_config",
    "load_deployment",
    "load_manifest",
    "load_runtime_config",
    "parse_ip_range",
    "parse_ip_ranges",
    "parse_ops",
    "parse_yaml",
    "read_ops_file",
    "read_yaml",
    "substitute",
    "variables_from_cli",
]
