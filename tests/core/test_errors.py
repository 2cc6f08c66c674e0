"""The error hierarchy: one line per problem, BOSH's CPI error types round-trip."""

from __future__ import annotations

import pickle

import pytest

from jobsite.errors import (
    CloudError,
    ConfigError,
    ConfigErrors,
    DiskNotFound,
    DriverError,
    JobsiteError,
    NotImplementedByCpi,
    VMCreationFailed,
    VMNotFound,
    cloud_error_from_bosh,
    format_path,
)


def test_config_error_reads_document_path_message_hint() -> None:
    err = ConfigError(
        "'large' is not defined in the cloud config",
        document="manifest.yml",
        path="instance_groups[2].vm_type",
        hint="known: default, small",
    )
    assert str(err) == (
        "manifest.yml: instance_groups[2].vm_type: 'large' is not defined in the cloud config "
        "(known: default, small)"
    )
    assert isinstance(err, JobsiteError)


def test_config_error_without_path_or_document() -> None:
    assert str(ConfigError("empty", document="a.yml")) == "a.yml: empty"
    assert str(ConfigError("empty")) == "empty"


def test_config_errors_is_one_line_per_problem_and_needs_one() -> None:
    errs = ConfigErrors([ConfigError("x", path="a"), ConfigError("y", path="b[0]")])
    assert str(errs).splitlines() == ["a: x", "b[0]: y"]
    with pytest.raises(ValueError, match="at least one"):
        ConfigErrors([])


@pytest.mark.parametrize(
    ("parts", "rendered"),
    [
        (["instance_groups", 2, "networks", 0, "name"], "instance_groups[2].networks[0].name"),
        ([0, "name"], "[0].name"),
        ([], ""),
        (["update"], "update"),
    ],
)
def test_format_path(parts: list[str | int], rendered: str) -> None:
    assert format_path(parts) == rendered


@pytest.mark.parametrize(
    ("bosh_type", "cls"),
    [
        ("Bosh::Clouds::VMNotFound", VMNotFound),
        ("Bosh::Clouds::DiskNotFound", DiskNotFound),
        ("Bosh::Clouds::VMCreationFailed", VMCreationFailed),
        ("Bosh::Clouds::NotImplemented", NotImplementedByCpi),
        ("Bosh::Clouds::CloudError", CloudError),
    ],
)
def test_bosh_types_round_trip(bosh_type: str, cls: type[CloudError]) -> None:
    err = cloud_error_from_bosh(bosh_type, "boom", ok_to_retry=True, driver="aws", call="x")
    assert type(err) is cls
    assert err.to_bosh() == {"type": bosh_type, "message": "boom", "ok_to_retry": True}
    assert str(err) == f"aws x: boom [{bosh_type}]"


def test_unknown_bosh_type_keeps_what_the_cpi_said() -> None:
    err = cloud_error_from_bosh("Bosh::Clouds::Weird", "odd")
    assert type(err) is CloudError
    assert "Bosh::Clouds::Weird" in str(err)
    assert err.ok_to_retry is False


def test_errors_survive_pickling_for_worker_processes() -> None:
    for err in (
        ConfigError("m", document="d", path="p", hint="h"),
        ConfigErrors([ConfigError("m")]),
        VMCreationFailed("quota", ok_to_retry=True, driver="aws", call="create_vm"),
        DriverError("down", driver="local", call="start"),
    ):
        copy = pickle.loads(pickle.dumps(err))
        assert type(copy) is type(err)
        assert str(copy) == str(err)
    retry = pickle.loads(pickle.dumps(VMCreationFailed("q", ok_to_retry=True)))
    assert retry.ok_to_retry is True


def test_every_driver_error_can_be_transient_and_survives_pickling() -> None:
    from jobsite.errors import AgentError, BlobstoreError

    for err in (
        AgentError("timed out", ok_to_retry=True, driver="nats", call="apply"),
        BlobstoreError("503 Slow Down", ok_to_retry=True, driver="s3", call="put"),
    ):
        again = pickle.loads(pickle.dumps(err))
        assert type(again) is type(err)
        assert again.ok_to_retry is True
        assert str(again) == str(err)
    assert AgentError("down").ok_to_retry is False


def test_located_fills_in_only_what_the_raiser_did_not_know() -> None:
    err = DriverError("no such package").located(driver="local", call="compile_package")
    assert str(err) == "local compile_package: no such package"
    assert str(err.located(driver="other", call="other")) == str(err)
