"""The one error hierarchy of jobsite.

Every error a user can cause or meet is a :class:`JobsiteError`; the CLI prints each as one
clean line (``str(error)``) and exits non-zero, and only ``--debug`` shows a traceback.
Anything else escaping is a bug in jobsite or a plugin.

Configuration errors carry where they are (document and path into it) so a user can find the
line; driver errors carry the driver and the call, and CPI errors keep BOSH's own type names
and ``ok_to_retry`` so operators recognise them and the assembler knows what to retry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "AgentError",
    "BlobNotFound",
    "BlobstoreError",
    "CloudError",
    "ConfigError",
    "ConfigErrors",
    "CpiError",
    "DigestMismatch",
    "DiskNotAttached",
    "DiskNotFound",
    "DriverError",
    "InterpolationError",
    "JobsiteError",
    "NoDiskSpace",
    "NotImplementedByCpi",
    "NotSupported",
    "PluginError",
    "VMCreationFailed",
    "VMNotFound",
    "cloud_error_from_bosh",
    "format_path",
]


class JobsiteError(Exception):
    """Root of every error jobsite reports to a user; ``str()`` is the one line to print."""


# --- configuration ---------------------------------------------------------------------------


def format_path(parts: Iterable[str | int]) -> str:
    """Render a path into a document the way a user reads it: ``instance_groups[2].vm_type``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif out:
            out += f".{part}"
        else:
            out = str(part)
    return out


class ConfigError(JobsiteError):
    """One problem at one place in one document.

    ``document`` names the file as the user gave it (``manifest.yml``), ``path`` is the
    rendered path into it (``instance_groups[2].vm_type``, empty for the whole document),
    ``hint`` an optional suggestion (known names, a did-you-mean).
    """

    def __init__(self, message: str, *, document: str = "", path: str = "", hint: str = "") -> None:
        self.message = message
        self.document = document
        self.path = path
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ": ".join(p for p in (self.document, self.path) if p)
        text = f"{where}: {self.message}" if where else self.message
        return f"{text} ({self.hint})" if self.hint else text

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_config_error, (self.message, self.document, self.path, self.hint))


def _rebuild_config_error(message: str, document: str, path: str, hint: str) -> ConfigError:
    return ConfigError(message, document=document, path=path, hint=hint)


class ConfigErrors(JobsiteError):
    """Every problem found in the inputs, reported together so one edit fixes them all."""

    def __init__(self, errors: Sequence[ConfigError]) -> None:
        if not errors:
            raise ValueError("ConfigErrors needs at least one error")
        self.errors: tuple[ConfigError, ...] = tuple(errors)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)

    def __reduce__(self) -> tuple[object, ...]:
        return (ConfigErrors, (self.errors,))


class InterpolationError(ConfigError):
    """A ``((variable))`` or a go-patch ops file could not be applied."""


# --- plugins ---------------------------------------------------------------------------------


class PluginError(JobsiteError):
    """A plugin failed to load or register, or two plugins claim the same name."""


# --- drivers ---------------------------------------------------------------------------------


class DriverError(JobsiteError):
    """A driver call failed. ``driver`` is the name it was chosen by, ``call`` the method.

    ``ok_to_retry`` says whether the same call may succeed if made again (throttling, a 5xx,
    an agent that timed out): the assembler retries only those. It lives here rather than on
    CPI errors alone because agents and blobstores have transient faults too.
    """

    default_ok_to_retry = False

    def __init__(
        self,
        message: str,
        *,
        ok_to_retry: bool | None = None,
        driver: str = "",
        call: str = "",
    ) -> None:
        self.message = message
        self.ok_to_retry = self.default_ok_to_retry if ok_to_retry is None else ok_to_retry
        self.driver = driver
        self.call = call
        super().__init__(str(self))

    def __str__(self) -> str:
        where = " ".join(p for p in (self.driver, self.call) if p)
        return f"{where}: {self.message}" if where else self.message

    def __reduce__(self) -> tuple[object, ...]:
        return (
            _rebuild_driver_error,
            (type(self), self.message, self.ok_to_retry, self.driver, self.call),
        )

    def located(self, *, driver: str = "", call: str = "") -> DriverError:
        """Say which driver and call failed, where the raiser did not know (a helper deep in
        a driver): fills only what is empty, and returns ``self`` for ``raise e.located(...)``.
        """
        self.driver = self.driver or driver
        self.call = self.call or call
        self.args = (str(self),)
        return self


def _rebuild_driver_error(
    cls: type[DriverError], message: str, ok_to_retry: bool, driver: str, call: str
) -> DriverError:
    return cls(message, ok_to_retry=ok_to_retry, driver=driver, call=call)


class CloudError(DriverError):
    """A CPI call failed: BOSH's ``Bosh::Clouds::CloudError`` and the root of its family.

    Subclasses keep BOSH's type names in ``bosh_type`` so an external CPI's error round-trips
    exactly.
    """

    bosh_type = "Bosh::Clouds::CloudError"

    def __str__(self) -> str:
        return f"{super().__str__()} [{self.bosh_type}]"

    def to_bosh(self) -> dict[str, object]:
        """The error as an external CPI writes it in its JSON response."""
        return {"type": self.bosh_type, "message": self.message, "ok_to_retry": self.ok_to_retry}


class CpiError(CloudError):
    """The CPI itself is broken or misconfigured (``Bosh::Clouds::CpiError``)."""

    bosh_type = "Bosh::Clouds::CpiError"


class NotImplementedByCpi(CloudError):
    """The CPI does not implement this method (``Bosh::Clouds::NotImplemented``)."""

    bosh_type = "Bosh::Clouds::NotImplemented"


class NotSupported(CloudError):
    """The CPI cannot do this with these arguments (``Bosh::Clouds::NotSupported``)."""

    bosh_type = "Bosh::Clouds::NotSupported"


class VMNotFound(CloudError):
    """No VM with that cid exists (``Bosh::Clouds::VMNotFound``)."""

    bosh_type = "Bosh::Clouds::VMNotFound"


class VMCreationFailed(CloudError):
    """Creating a VM failed; ``ok_to_retry`` says whether another try may work."""

    bosh_type = "Bosh::Clouds::VMCreationFailed"


class NoDiskSpace(CloudError):
    """The cloud has no room for the disk (``Bosh::Clouds::NoDiskSpace``)."""

    bosh_type = "Bosh::Clouds::NoDiskSpace"


class DiskNotAttached(CloudError):
    """The disk is not attached to that VM (``Bosh::Clouds::DiskNotAttached``)."""

    bosh_type = "Bosh::Clouds::DiskNotAttached"


class DiskNotFound(CloudError):
    """No disk with that cid exists (``Bosh::Clouds::DiskNotFound``)."""

    bosh_type = "Bosh::Clouds::DiskNotFound"


_BOSH_TYPES: dict[str, type[CloudError]] = {
    cls.bosh_type: cls
    for cls in (
        CloudError,
        CpiError,
        NotImplementedByCpi,
        NotSupported,
        VMNotFound,
        VMCreationFailed,
        NoDiskSpace,
        DiskNotAttached,
        DiskNotFound,
    )
}


def cloud_error_from_bosh(
    bosh_type: str, message: str, *, ok_to_retry: bool = False, driver: str = "", call: str = ""
) -> CloudError:
    """Build the matching error from an external CPI's ``{"type", "message", "ok_to_retry"}``.

    An unknown type becomes a plain :class:`CloudError` whose message names the type, so
    nothing the CPI said is lost.
    """
    cls = _BOSH_TYPES.get(bosh_type)
    if cls is None:
        return CloudError(
            f"{message} ({bosh_type})", ok_to_retry=ok_to_retry, driver=driver, call=call
        )
    return cls(message, ok_to_retry=ok_to_retry, driver=driver, call=call)


class BlobstoreError(DriverError):
    """A blobstore call failed."""


class BlobNotFound(BlobstoreError):
    """No blob with that id is stored."""


class DigestMismatch(BlobstoreError):
    """A blob's content does not match the digest it was stored or asked for under."""


class AgentError(DriverError):
    """An agent on a VM failed or could not be reached."""


# --- state store -----------------------------------------------------------------------------


class StoreError(JobsiteError):
    """The state store could not be opened, read or written.

    The message names the store (a path, or a URL with any password masked) and says why, on
    one line: ``sqlite:///var/jobsite/jobsite.db: database is locked``.
    """


__all__ += ["StoreError"]
