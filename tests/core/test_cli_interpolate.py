"""``jobsite interpolate``: ``bosh int`` on the command line, one ``Error:`` line per problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from jobsite.cli import cli

REPO = Path(__file__).resolve().parents[2]
HELLO = REPO / "examples" / "hello"

HELLO_HOT_SWAP = """\
instance_groups:
- azs:
  - z1
  - z2
  instances: 3
  jobs:
  - name: hello-server
    properties:
      greeting: Hello from jobsite
      port: 8080
    release: hello
  name: web
  networks:
  - name: default
  stemcell: default
  vm_type: small
name: hello
releases:
- name: hello
  version: latest
stemcells:
- alias: default
  os: ubuntu-jammy
  version: latest
update:
  canaries: 1
  canary_watch_time: 1000-30000
  max_in_flight: 1
  update_watch_time: 1000-30000
  vm_strategy: create-swap-delete
"""


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jobsite", "interpolate", *args],
        cwd=REPO,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def invoke(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["interpolate", *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_hello_example_with_vars_file_and_ops_file_as_a_real_command() -> None:
    done = run(
        "examples/hello/manifest.yml",
        "-l",
        "examples/hello/vars.yml",
        "-o",
        "examples/hello/ops/hot-swap.yml",
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == HELLO_HOT_SWAP


def test_bad_input_is_one_error_line_per_problem_and_exit_1_without_traceback() -> None:
    done = run(
        "examples/hello/manifest.yml", "-o", "missing-ops.yml", "-v", "novalue", "--var-errs"
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "Error: missing-ops.yml: cannot read file: No such file or directory",
        "Error: --var: Expected var 'novalue' to be in format 'name=value'",
    ]


def test_var_errs_lists_the_missing_variables_and_prints_nothing() -> None:
    code, out, err = invoke(str(HELLO / "manifest.yml"), "-v", "port=1", "--var-errs")
    assert (code, out) == (1, "")
    assert err == (
        f"Error: {HELLO / 'manifest.yml'}: Expected to find variables: deployment_name, "
        "greeting, web_instances\n"
    )


def test_without_var_errs_missing_variables_stay_as_text() -> None:
    code, out, _ = invoke(str(HELLO / "manifest.yml"), "-v", "port=1", "--path", "/name")
    assert (code, out) == (0, "((deployment_name))\n")


def test_path_prints_a_map_as_yaml_and_a_string_raw() -> None:
    manifest = str(HELLO / "manifest.yml")
    vars_file = str(HELLO / "vars.yml")
    code, out, _ = invoke(
        manifest, "-l", vars_file, "--path", "/instance_groups/name=web/jobs/0/properties"
    )
    assert (code, out) == (0, "greeting: Hello from jobsite\nport: 8080\n")
    code, out, _ = invoke(
        "-", "-v", "cert=line one\nline two", "--path", "/tls", stdin="tls: ((cert))\n"
    )
    assert (code, out) == (0, "line one\nline two\n")


def test_stdin_and_variable_types_from_flags() -> None:
    code, out, err = invoke(
        "-",
        "-v",
        "port=8080",
        "-v",
        'version="1.10"',
        "-v",
        "zones=[z1, z2]",
        stdin="port: ((port))\nversion: ((version))\nazs: ((zones))\nurl: http://h:((port))\n",
    )
    assert (code, err) == (0, "")
    assert out == 'azs:\n- z1\n- z2\nport: 8080\nurl: http://h:8080\nversion: "1.10"\n'


def test_ops_failures_name_the_file_and_the_operation(tmp_path: Path) -> None:
    ops = tmp_path / "bad.yml"
    ops.write_text(
        "- type: replace\n  path: /update/vm_strategy?\n  value: x\n"
        "- type: replace\n  path: /instance_groups/name=db/instances\n  value: 2\n"
    )
    code, out, err = invoke(str(HELLO / "manifest.yml"), "-o", str(ops))
    assert (code, out) == (1, "")
    assert err == (
        f"Error: {ops}: [1]: Expected to find exactly one matching array item for path "
        "'/instance_groups/name=db' but found 0\n"
    )


def test_every_malformed_flag_and_ops_file_is_reported_together(tmp_path: Path) -> None:
    ops = tmp_path / "ops.yml"
    ops.write_text("- type: remove\n  path: nope\n- {type: replace, path: /a}\n")
    code, _, err = invoke(
        str(HELLO / "manifest.yml"),
        "-o",
        str(ops),
        "-l",
        str(tmp_path / "none.yml"),
        "--vars-env",
        "",
        "--var-file",
        "x",
    )
    assert code == 1
    assert err.splitlines() == [
        f"Error: {ops}: [0].path: Invalid path: Expected to start with '/'",
        f"Error: {ops}: [1].value: Missing value",
        "Error: --vars-env: Expected environment variable prefix to be non-empty",
        f"Error: {tmp_path / 'none.yml'}: cannot read file: No such file or directory",
        "Error: --var-file: Expected var 'x' to be in format 'name=path'",
    ]


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="the exact text is libyaml's (as go-yaml's)")
def test_a_yaml_syntax_error_in_the_manifest_is_one_line(tmp_path: Path) -> None:
    manifest = tmp_path / "broken.yml"
    manifest.write_text("name: x\njobs: a: b\n")
    code, out, err = invoke(str(manifest))
    assert (code, out) == (1, "")
    assert (
        err
        == f"Error: {manifest}: line 2, column 8: mapping values are not allowed in this context\n"
    )


def test_a_bad_path_is_refused() -> None:
    code, _, err = invoke(str(HELLO / "manifest.yml"), "--path", "name")
    assert code == 1
    assert (
        err == f"Error: {HELLO / 'manifest.yml'}: Invalid path 'name': Expected to start with '/'\n"
    )


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_names_bosh_flags(flag: str) -> None:
    code, out, _ = invoke(flag)
    assert code == 0
    for option in (
        "--ops-file",
        "--var",
        "--var-file",
        "--vars-file",
        "--vars-env",
        "--var-errs",
        "--path",
    ):
        assert option in out
