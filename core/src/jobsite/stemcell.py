"""BOSH stemcell tarballs: reading one for ``jobsite upload-stemcell``, and writing one.

A stemcell tarball (``.tgz``) holds ``stemcell.MF``, YAML with ``name``,
``operating_system``, ``version`` (a string or a number, always read as a string),
``cloud_properties`` and optionally ``sha1``, ``api_version`` and ``stemcell_formats``, and
an ``image`` file: the machine image the CPI imports (empty, or nearly, for a light stemcell,
whose image id is in ``cloud_properties``). Other members (``packages.txt``, ...) are ignored.

The tarball is streamed, never unpacked as a whole: only ``stemcell.MF`` is read (into memory)
and ``image`` copied out, and then only to a file jobsite names itself. Every member is checked
first, and a tarball with an absolute path, a ``..``, a link or a device anywhere in it is
refused, as is one whose ``stemcell.MF`` is missing or wrong (naming the bad key).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import attrs

from jobsite.config import dump_yaml, parse_yaml
from jobsite.errors import ConfigError, JobsiteError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from jobsite.cpi import Cpi

__all__ = ["Stemcell", "import_stemcell", "read_stemcell", "unpack_stemcell", "write_stemcell"]

MANIFEST = "stemcell.MF"
IMAGE = "image"
MAX_MANIFEST_BYTES = 1 << 20
"""A ``stemcell.MF`` larger than this is refused rather than read into memory."""


@attrs.frozen(kw_only=True)
class Stemcell:
    """What a stemcell tarball says it is."""

    name: str
    os: str
    version: str
    cloud_properties: Mapping[str, Any] = attrs.field(factory=dict)
    sha1: str | None = None
    api_version: int | None = None
    stemcell_formats: tuple[str, ...] = ()
    image_size: int = 0
    """Bytes of ``image``; 0 for a light stemcell's empty image."""


# --- reading -------------------------------------------------------------------------------------


def read_stemcell(path: Path | str) -> Stemcell:
    """Check the tarball at ``path`` and read its ``stemcell.MF``, extracting nothing."""
    stemcell, _ = _scan(Path(path), None)
    return stemcell


def unpack_stemcell(path: Path | str, directory: Path) -> tuple[Stemcell, Path]:
    """Check the tarball at ``path``, read its ``stemcell.MF`` and copy its image to
    ``directory/image`` (the only file written); return both."""
    stemcell, image = _scan(Path(path), directory / IMAGE)
    assert image is not None
    return stemcell, image


async def import_stemcell(cpi: Cpi, path: Path | str, *, home: Path) -> tuple[Stemcell, str]:
    """Import the stemcell at ``path`` into ``cpi``: its image is copied to a temporary
    directory under ``home/tmp``, handed to ``cpi.create_stemcell`` (an empty image, a light
    stemcell's, as the empty path) and deleted afterwards. Returns the stemcell and its cid."""
    parent = home / "tmp"
    parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="stemcell-", dir=parent))
    try:
        # one long blocking read, in a worker thread (anyio's default limiter); a cancel
        # waits for it to end, so the directory is never deleted under it
        stemcell, image = await anyio.to_thread.run_sync(unpack_stemcell, path, workdir)
        image_path = str(image) if stemcell.image_size else ""
        cid = await cpi.create_stemcell(image_path, dict(stemcell.cloud_properties))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return stemcell, cid


def _scan(path: Path, image_to: Path | None) -> tuple[Stemcell, Path | None]:
    manifest: bytes | None = None
    image_size: int | None = None
    try:
        with tarfile.open(path, mode="r|*") as tar:
            for member in tar:
                name = _member_name(path, member)
                if not member.isfile():
                    continue
                if name == MANIFEST:
                    if manifest is not None:
                        raise JobsiteError(f"{path}: {MANIFEST} appears twice")
                    if member.size > MAX_MANIFEST_BYTES:
                        raise JobsiteError(
                            f"{path}: {MANIFEST} is {member.size} bytes, more than a stemcell "
                            f"manifest ever is ({MAX_MANIFEST_BYTES})"
                        )
                    manifest = _read(tar, member)
                elif name == IMAGE:
                    if image_size is not None:
                        raise JobsiteError(f"{path}: {IMAGE} appears twice")
                    image_size = member.size
                    if image_to is not None:
                        _copy(tar, member, image_to)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise JobsiteError(f"{path}: not a readable stemcell tarball ({exc})") from None
    except FileNotFoundError:
        raise JobsiteError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise JobsiteError(f"{path}: is a directory, not a stemcell tarball") from None
    except OSError as exc:
        raise JobsiteError(f"{path}: cannot read the stemcell tarball ({exc})") from None
    if manifest is None:
        raise JobsiteError(f"{path}: no {MANIFEST} in the tarball (is it a stemcell?)")
    if image_size is None:
        raise JobsiteError(f"{path}: no {IMAGE} in the tarball (is it a stemcell?)")
    stemcell = _parse_manifest(manifest, document=f"{path}: {MANIFEST}", image_size=image_size)
    return stemcell, image_to


def _member_name(path: Path, member: tarfile.TarInfo) -> str:
    """The member's name without ``./``; refuses anything that could write outside a
    directory or is not a plain file or directory."""
    raw = member.name
    if raw.startswith("/"):
        raise JobsiteError(f"{path}: member {raw!r} has an absolute path")
    parts = PurePosixPath(raw).parts
    if ".." in parts:
        raise JobsiteError(f"{path}: member {raw!r} has '..' in its path")
    if member.issym() or member.islnk():
        raise JobsiteError(f"{path}: member {raw!r} is a link (to {member.linkname!r})")
    if member.ischr() or member.isblk() or member.isfifo():
        raise JobsiteError(f"{path}: member {raw!r} is a device or pipe")
    if not (member.isfile() or member.isdir()):
        raise JobsiteError(f"{path}: member {raw!r} is not a regular file or directory")
    return "/".join(p for p in parts if p != ".")


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    source = tar.extractfile(member)
    assert source is not None  # a regular file
    with source:
        return source.read()


def _copy(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> None:
    source = tar.extractfile(member)
    assert source is not None  # a regular file
    with source, target.open("xb") as out:
        shutil.copyfileobj(source, out, 1 << 20)


def _parse_manifest(content: bytes, *, document: str, image_size: int) -> Stemcell:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"is not UTF-8 text ({exc.reason})", document=document) from None
    data = parse_yaml(text, document=document)
    if not isinstance(data, Mapping):
        raise ConfigError(f"expected a map, got {_kind(data)}", document=document)

    def string(key: str, *, number: bool = False) -> str:
        value = data.get(key)
        if value is None:
            raise ConfigError("is required", document=document, path=key)
        if number and isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str) or not value:
            raise ConfigError(
                f"expected a non-empty string, got {_kind(value)}", document=document, path=key
            )
        return value

    name = string("name")
    os = string("operating_system")
    version = string("version", number=True)
    sha1 = data.get("sha1")
    if sha1 is not None and not isinstance(sha1, str):
        raise ConfigError(f"expected a string, got {_kind(sha1)}", document=document, path="sha1")
    cloud_properties = data.get("cloud_properties")
    if cloud_properties is None:
        cloud_properties = {}
    elif not isinstance(cloud_properties, Mapping):
        raise ConfigError(
            f"expected a map, got {_kind(cloud_properties)}",
            document=document,
            path="cloud_properties",
        )
    api_version = data.get("api_version")
    if api_version is not None and (
        isinstance(api_version, bool) or not isinstance(api_version, int)
    ):
        raise ConfigError(
            f"expected a number, got {_kind(api_version)}", document=document, path="api_version"
        )
    formats = data.get("stemcell_formats")
    if formats is None:
        formats = []
    elif not isinstance(formats, list):
        raise ConfigError(
            f"expected a list, got {_kind(formats)}", document=document, path="stemcell_formats"
        )
    for i, item in enumerate(formats):
        if not isinstance(item, str):
            raise ConfigError(
                f"expected a string, got {_kind(item)}",
                document=document,
                path=f"stemcell_formats[{i}]",
            )
    return Stemcell(
        name=name,
        os=os,
        version=version,
        cloud_properties=dict(cloud_properties),
        sha1=sha1,
        api_version=api_version,
        stemcell_formats=tuple(formats),
        image_size=image_size,
    )


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value!r})" if value else "an empty string"
    if isinstance(value, Mapping):
        return "a map"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


# --- writing -------------------------------------------------------------------------------------


def write_stemcell(
    path: Path | str,
    *,
    name: str,
    os: str,
    version: str,
    cloud_properties: Mapping[str, Any] | None = None,
    image: bytes = b"",
    stemcell_formats: Sequence[str] = (),
    api_version: int | None = None,
) -> Path:
    """Write a stemcell tarball to ``path``: ``stemcell.MF`` (with the image's ``sha1``) then
    ``image``. The bytes depend only on the arguments (no times, owners or file names inside),
    so tests and examples get the same tarball every time. An empty ``image`` makes a light
    stemcell. Returns ``path``."""
    manifest: dict[str, Any] = {
        "name": name,
        "operating_system": os,
        "version": version,
        "sha1": hashlib.sha1(image).hexdigest(),
        "cloud_properties": dict(cloud_properties or {}),
    }
    if stemcell_formats:
        manifest["stemcell_formats"] = list(stemcell_formats)
    if api_version is not None:
        manifest["api_version"] = api_version
    target = Path(path)
    with (
        target.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.USTAR_FORMAT) as tar,
    ):
        for member, content in ((MANIFEST, dump_yaml(manifest).encode()), (IMAGE, image)):
            info = tarfile.TarInfo(member)
            info.size = len(content)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(content))
    return target
