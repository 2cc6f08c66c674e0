"""Stemcell tarballs (``jobsite.stemcell``): reading a good one, a light one, refusing each
kind of bad one with one line naming the member or key, and writing deterministic ones."""

from __future__ import annotations

import hashlib
import io
import tarfile
from typing import TYPE_CHECKING, Any

import anyio
import pytest

from jobsite.errors import ConfigError, JobsiteError
from jobsite.stemcell import (
    Stemcell,
    import_stemcell,
    read_stemcell,
    unpack_stemcell,
    write_stemcell,
)
from jobsite_mock import MockCpi

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

MF = b"""\
name: bosh-aws-xen-hvm-ubuntu-jammy-go_agent
operating_system: ubuntu-jammy
version: "1.5"
sha1: abc
api_version: 3
stemcell_formats: [aws-raw]
cloud_properties: {architecture: x86_64, root_device_name: /dev/sda1}
"""


def _file(name: str, content: bytes = b"") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(content)
    return info, content


def _special(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, b""


def _tar(path: Path, *members: tuple[tarfile.TarInfo, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, content in members:
            tar.addfile(info, io.BytesIO(content) if info.isfile() else None)
    return path


# --- good tarballs -------------------------------------------------------------------------------


def test_a_stemcell_tarball_is_read_without_extracting_anything(tmp_path: Path) -> None:
    directory = tarfile.TarInfo(".")
    directory.type = tarfile.DIRTYPE
    path = _tar(
        tmp_path / "s.tgz",
        (directory, b""),
        _file("./image", b"IMAGE" * 1000),
        _file("./packages.txt", b"openssl 3"),
        _file("./stemcell.MF", MF),
    )
    assert read_stemcell(path) == Stemcell(
        name="bosh-aws-xen-hvm-ubuntu-jammy-go_agent",
        os="ubuntu-jammy",
        version="1.5",
        cloud_properties={"architecture": "x86_64", "root_device_name": "/dev/sda1"},
        sha1="abc",
        api_version=3,
        stemcell_formats=("aws-raw",),
        image_size=5000,
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.tgz"]


def test_unpacking_writes_only_the_image(tmp_path: Path) -> None:
    path = _tar(
        tmp_path / "s.tgz",
        _file("stemcell.MF", MF),
        _file("packages.txt", b"x"),
        _file("image", b"disk image bytes"),
    )
    out = tmp_path / "out"
    out.mkdir()
    stemcell, image = unpack_stemcell(path, out)
    assert image == out / "image"
    assert image.read_bytes() == b"disk image bytes"
    assert [p.name for p in out.iterdir()] == ["image"]
    assert stemcell.image_size == len(b"disk image bytes")


@pytest.mark.parametrize(
    ("raw", "expected"), [("1.5", "1.5"), ("3586.25", "3586.25"), ("42", "42")]
)
def test_a_numeric_version_is_read_as_a_string(tmp_path: Path, raw: str, expected: str) -> None:
    mf = f"name: s\noperating_system: o\nversion: {raw}\ncloud_properties: {{}}\n".encode()
    path = _tar(tmp_path / "s.tgz", _file("stemcell.MF", mf), _file("image"))
    assert read_stemcell(path).version == expected


def test_write_stemcell_is_deterministic_and_reads_back(tmp_path: Path) -> None:
    kwargs: dict[str, Any] = {
        "name": "bosh-mock-ubuntu-jammy",
        "os": "ubuntu-jammy",
        "version": "1.5",
        "cloud_properties": {"ami": "ami-1"},
        "image": b"some image",
        "stemcell_formats": ["mock-raw"],
    }
    first = write_stemcell(tmp_path / "a.tgz", **kwargs)
    second = write_stemcell(tmp_path / "b.tgz", **kwargs)
    assert first.read_bytes() == second.read_bytes()
    stemcell = read_stemcell(first)
    assert (stemcell.name, stemcell.os, stemcell.version) == (
        "bosh-mock-ubuntu-jammy",
        "ubuntu-jammy",
        "1.5",
    )
    assert stemcell.cloud_properties == {"ami": "ami-1"}
    assert stemcell.stemcell_formats == ("mock-raw",)
    assert stemcell.sha1 == hashlib.sha1(b"some image").hexdigest()
    assert stemcell.image_size == len(b"some image")
    with tarfile.open(first) as tar:
        assert [(m.name, m.mtime, m.uid, m.uname) for m in tar] == [
            ("stemcell.MF", 0, 0, ""),
            ("image", 0, 0, ""),
        ]
    # a version that looks like a number stays the string it was given
    again = write_stemcell(tmp_path / "c.tgz", name="n", os="o", version="1.10")
    assert read_stemcell(again).version == "1.10"


class _RecordingCpi:
    """Just enough CPI to see what ``create_stemcell`` is given while it runs."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes | None, dict[str, Any]]] = []

    async def create_stemcell(self, image_path: str, cloud_properties: dict[str, Any]) -> str:
        content = None
        if image_path:
            content = await anyio.Path(image_path).read_bytes()
        self.calls.append((image_path, content, cloud_properties))
        return "stemcell-cid"


@pytest.mark.anyio
async def test_import_hands_the_image_to_the_cpi_and_deletes_it(tmp_path: Path) -> None:
    path = write_stemcell(
        tmp_path / "s.tgz", name="n", os="o", version="2", cloud_properties={"a": 1}, image=b"img"
    )
    cpi = _RecordingCpi()
    home = tmp_path / "home"
    stemcell, cid = await import_stemcell(cpi, path, home=home)  # type: ignore[arg-type]
    assert cid == "stemcell-cid"
    assert stemcell.version == "2"
    [(image_path, content, properties)] = cpi.calls
    assert image_path.startswith(str(home / "tmp"))
    assert content == b"img"
    assert properties == {"a": 1}
    assert list((home / "tmp").iterdir()) == []


@pytest.mark.anyio
async def test_a_light_stemcell_is_imported_with_the_empty_path(tmp_path: Path) -> None:
    path = write_stemcell(
        tmp_path / "light.tgz", name="light", os="o", version="1", cloud_properties={"ami": "x"}
    )
    assert read_stemcell(path).image_size == 0
    cpi = _RecordingCpi()
    await import_stemcell(cpi, path, home=tmp_path)  # type: ignore[arg-type]
    assert cpi.calls == [("", None, {"ami": "x"})]
    mock = MockCpi()  # the real contract: an empty path is a light stemcell's
    _, cid = await import_stemcell(mock, path, home=tmp_path)
    assert list(mock.snapshot().stemcells) == [cid]
    assert list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.anyio
async def test_the_image_is_deleted_when_the_cpi_fails(tmp_path: Path) -> None:
    path = write_stemcell(tmp_path / "s.tgz", name="n", os="o", version="1", image=b"img")

    class Failing:
        async def create_stemcell(self, image_path: str, cloud_properties: Any) -> str:
            raise JobsiteError("cloud says no")

    with pytest.raises(JobsiteError, match="cloud says no"):
        await import_stemcell(Failing(), path, home=tmp_path)  # type: ignore[arg-type]
    assert list((tmp_path / "tmp").iterdir()) == []


# --- refusals ------------------------------------------------------------------------------------

GOOD = (_file("stemcell.MF", MF), _file("image", b"x"))

BAD_MEMBERS: dict[str, tuple[tuple[tarfile.TarInfo, bytes], str]] = {
    "absolute": (_file("/etc/passwd", b"x"), "member '/etc/passwd' has an absolute path"),
    "dotdot": (_file("a/../../evil", b"x"), "member 'a/../../evil' has '..' in its path"),
    "symlink": (
        _special("image2", tarfile.SYMTYPE, "/etc/shadow"),
        "member 'image2' is a link (to '/etc/shadow')",
    ),
    "hardlink": (_special("hard", tarfile.LNKTYPE, "image"), "member 'hard' is a link"),
    "chardev": (_special("dev/null", tarfile.CHRTYPE), "member 'dev/null' is a device or pipe"),
    "blockdev": (_special("sda", tarfile.BLKTYPE), "member 'sda' is a device or pipe"),
    "fifo": (_special("pipe", tarfile.FIFOTYPE), "member 'pipe' is a device or pipe"),
}


@pytest.mark.parametrize("case", sorted(BAD_MEMBERS))
def test_a_dangerous_member_is_refused_naming_it(tmp_path: Path, case: str) -> None:
    member, message = BAD_MEMBERS[case]
    path = _tar(tmp_path / "s.tgz", *GOOD, member)
    out = tmp_path / "out"
    out.mkdir()
    for read in (lambda: read_stemcell(path), lambda: unpack_stemcell(path, out)):
        with pytest.raises(JobsiteError) as caught:
            read()
        assert str(caught.value).startswith(f"{path}: {message}")
        assert "\n" not in str(caught.value)
    assert not (tmp_path / "evil").exists()


def test_a_bad_member_is_refused_before_the_image_is_written(tmp_path: Path) -> None:
    path = _tar(tmp_path / "s.tgz", _file("../x", b"x"), *GOOD)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(JobsiteError, match=r"member '\.\./x'"):
        unpack_stemcell(path, out)
    assert list(out.iterdir()) == []


def _mf(text: str) -> Callable[[Path], Path]:
    return lambda tmp: _tar(tmp / "s.tgz", _file("stemcell.MF", text.encode()), _file("image"))


BAD_TARBALLS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "no manifest": (
        lambda tmp: _tar(tmp / "s.tgz", _file("image")),
        "no stemcell.MF in the tarball",
    ),
    "no image": (
        lambda tmp: _tar(tmp / "s.tgz", _file("stemcell.MF", MF)),
        "no image in the tarball",
    ),
    "two manifests": (
        lambda tmp: _tar(tmp / "s.tgz", *GOOD, _file("./stemcell.MF", MF)),
        "stemcell.MF appears twice",
    ),
    "not a tarball": (
        lambda tmp: (tmp / "s.tgz").write_bytes(b"hello") and tmp / "s.tgz",
        "not a readable stemcell tarball",
    ),
    "missing file": (lambda tmp: tmp / "nope.tgz", "no such file"),
    "manifest not a map": (_mf("- a\n"), "stemcell.MF: expected a map, got a list"),
    "yaml error": (_mf("name: [\n"), "stemcell.MF"),
    "missing name": (
        _mf("operating_system: o\nversion: '1'\n"),
        "stemcell.MF: name: is required",
    ),
    "missing os": (_mf("name: s\nversion: '1'\n"), "stemcell.MF: operating_system: is required"),
    "missing version": (_mf("name: s\noperating_system: o\n"), "stemcell.MF: version: is required"),
    "version a list": (
        _mf("name: s\noperating_system: o\nversion: [1]\n"),
        "stemcell.MF: version: expected a non-empty string, got a list",
    ),
    "version a boolean": (
        _mf("name: s\noperating_system: o\nversion: true\n"),
        "stemcell.MF: version: expected a non-empty string, got a boolean (true)",
    ),
    "empty name": (
        _mf("name: ''\noperating_system: o\nversion: '1'\n"),
        "stemcell.MF: name: expected a non-empty string, got an empty string",
    ),
    "cloud_properties a list": (
        _mf("name: s\noperating_system: o\nversion: '1'\ncloud_properties: [a]\n"),
        "stemcell.MF: cloud_properties: expected a map, got a list",
    ),
    "formats not strings": (
        _mf("name: s\noperating_system: o\nversion: '1'\nstemcell_formats: [raw, 3]\n"),
        "stemcell.MF: stemcell_formats[1]: expected a string, got a number (3)",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_TARBALLS))
def test_a_bad_tarball_is_refused_in_one_line(tmp_path: Path, case: str) -> None:
    make, message = BAD_TARBALLS[case]
    path = make(tmp_path)
    with pytest.raises(JobsiteError) as caught:
        read_stemcell(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: "), text
    assert message in text
    assert "\n" not in text
    if "stemcell.MF: " in message:
        assert isinstance(caught.value, ConfigError)
