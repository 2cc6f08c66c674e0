"""``((variables))``: where values come from (bosh's flags) and how they are substituted."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import pytest

from jobsite.config import Variables, parse_yaml, substitute, variables_from_cli
from jobsite.errors import ConfigError, ConfigErrors, InterpolationError

if TYPE_CHECKING:
    from pathlib import Path

# --- -v, --var-file, -l, --vars-env -------------------------------------------------------------


@pytest.mark.parametrize(
    ("arg", "value"),
    [
        ("port=8080", 8080),
        ("ratio=1.5", 1.5),
        ("flag=yes", True),
        ("nothing=~", None),
        ("zones=[z1, z2]", ["z1", "z2"]),
        ("obj=a: 1", {"a": 1}),
        ("version=1.0", 1.0),
        ("name=plain", "plain"),
        ('name="quoted"', "quoted"),
        ("name='single'", "single"),
        ('name="\'val""val\'"', "'val\"\"val'"),
        ("key=ssh-rsa G4/+VHa1aw==", "ssh-rsa G4/+VHa1aw=="),
        ("text=one\ntwo", "one\ntwo"),
        ("text=keep # not a comment", "keep # not a comment"),
        ("url=http://host:80", "http://host:80"),
    ],
)
def test_var_values_are_yaml_but_strings_keep_their_raw_text(arg: str, value: Any) -> None:
    name = arg.partition("=")[0]
    assert variables_from_cli(var=[arg], environ={})[name] == value


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("novalue", "--var: Expected var 'novalue' to be in format 'name=value'"),
        ("=val", "--var: Expected var '=val' to specify non-empty name"),
        ("name=", "--var: Expected var 'name=' to specify non-empty value"),
    ],
)
def test_malformed_var_flags_are_one_line_errors(arg: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        variables_from_cli(var=[arg], environ={})
    assert str(info.value) == message


def test_a_var_that_is_not_yaml_says_so_in_one_line() -> None:
    with pytest.raises(ConfigError) as info:
        variables_from_cli(var=["bad=[1"], environ={})
    text = str(info.value)
    assert text.startswith("--var: Deserializing variables 'bad=[1': line ")
    assert text.endswith(
        "did not find expected ',' or ']' (while parsing a flow sequence at line 1, column 1)"
    )
    assert "\n" not in text


def test_var_file_is_the_file_content_never_parsed(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("8080\n")
    assert variables_from_cli(var_files=[f"ca={cert}"], environ={})["ca"] == "8080\n"


def test_var_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigErrors) as info:
        variables_from_cli(var_files=["nopath", "x=", f"x={tmp_path / 'gone'}"], environ={})
    assert str(info.value).splitlines() == [
        "--var-file: Expected var 'nopath' to be in format 'name=path'",
        "--var-file: Expected var 'x=' to specify non-empty path",
        f"--var-file x={tmp_path / 'gone'}: cannot read file: No such file or directory",
    ]


def test_vars_file_is_a_map_and_anything_else_is_an_error(tmp_path: Path) -> None:
    good = tmp_path / "good.yml"
    good.write_text("port: 8080\n1: numeric-key\nnested: {a: [1]}\n")
    empty = tmp_path / "empty.yml"
    empty.write_text("# no variables\n")
    variables = variables_from_cli(vars_files=[good, empty], environ={})
    assert dict(variables) == {"port": 8080, "1": "numeric-key", "nested": {"a": [1]}}
    listed = tmp_path / "list.yml"
    listed.write_text("- a\n")
    with pytest.raises(ConfigError) as info:
        variables_from_cli(vars_files=[listed], environ={})
    assert (
        str(info.value) == f"{listed}: Expected a map of variable names to values but found a list"
    )


def test_vars_env_takes_prefixed_names_and_parses_values_as_yaml() -> None:
    environ = {"BOSH_port": "8080", "BOSH_text": "one\ntwo", "BOSHX_other": "1", "other": "2"}
    variables = variables_from_cli(vars_env=["BOSH"], environ=environ)
    assert dict(variables) == {"port": 8080, "text": "one two"}


def test_vars_env_errors() -> None:
    with pytest.raises(ConfigErrors) as info:
        variables_from_cli(vars_env=["", "P"], environ={"P_bad": "[1"})
    empty, bad = str(info.value).splitlines()
    assert empty == "--vars-env: Expected environment variable prefix to be non-empty"
    assert bad.startswith("--vars-env: Deserializing YAML from environment variable 'P_bad': ")
    assert bad.endswith("(while parsing a flow sequence at line 1, column 1)")


def test_precedence_is_vars_env_then_vars_files_then_var_files_then_var(tmp_path: Path) -> None:
    first = tmp_path / "first.yml"
    first.write_text("a: file1\nb: file1\nc: file1\nd: file1\n")
    second = tmp_path / "second.yml"
    second.write_text("b: file2\n")
    content = tmp_path / "content"
    content.write_text("from-var-file")
    variables = variables_from_cli(
        var=["d=flag", "d=last-flag"],
        vars_files=[first, second],
        vars_env=["E"],
        var_files=[f"c={content}", f"d={content}"],
        environ={"E_a": "env", "E_b": "env", "E_e": "env"},
    )
    assert dict(variables) == {
        "a": "file1",
        "b": "file2",
        "c": "from-var-file",
        "d": "last-flag",
        "e": "env",
    }


def test_every_bad_flag_is_reported_at_once(tmp_path: Path) -> None:
    with pytest.raises(ConfigErrors) as info:
        variables_from_cli(
            var=["oops"], vars_files=[tmp_path / "missing.yml"], vars_env=[""], environ={}
        )
    assert str(info.value).splitlines() == [
        "--vars-env: Expected environment variable prefix to be non-empty",
        f"{tmp_path / 'missing.yml'}: cannot read file: No such file or directory",
        "--var: Expected var 'oops' to be in format 'name=value'",
    ]


# --- the Variables value ----------------------------------------------------------------------


def test_variables_are_immutable_and_hand_out_copies() -> None:
    source = {"m": {"k": [1]}}
    variables = Variables(source)
    source["m"]["k"].append(2)
    assert variables["m"] == {"k": [1]}
    variables["m"]["k"].append(3)
    assert variables["m"] == {"k": [1]}
    with pytest.raises(AttributeError):
        variables.extra = 1


def test_variables_repr_shows_names_not_values() -> None:
    assert repr(Variables({"password": "hunter2", "a": 1})) == "Variables(['a', 'password'])"


def test_dotted_names_nest_into_their_variable() -> None:
    variables = Variables({"a.b": 1, "a": {"c": 2}, "x.y.z": 3})
    assert dict(variables) == {"a": {"b": 1, "c": 2}, "x": {"y": {"z": 3}}}


def test_lookup_reads_inside_values_with_indexes_selectors_and_numeric_keys() -> None:
    variables = Variables(
        {"cert": {"ca": "CA", "list": [{"name": "a", "v": 1}]}, "m": {"0": "zero"}}
    )
    assert variables.lookup("cert.ca") == "CA"
    assert variables.lookup("cert.list.0.v") == 1
    assert variables.lookup("cert.list.name=a.v") == 1
    assert variables.lookup("m.0") == "zero"
    with pytest.raises(KeyError):
        variables.lookup("nope.x")
    with pytest.raises(InterpolationError) as info:
        variables.lookup("cert.key")
    assert str(info.value) == (
        "Finding variable 'cert.key': Expected to find a map key 'key' for path '/key' "
        "(found map keys: 'ca', 'list')"
    )


# --- substitution -----------------------------------------------------------------------------

VARS = Variables(
    {
        "port": 8080,
        "host": "10.0.0.1",
        "zones": ["z1", "z2"],
        "cert": {"ca": "CA-PEM", "certificate": "CERT"},
        "ratio": 2.5,
        "on": True,
        "nothing": None,
        "key": "renamed",
        "loop": "((port))",
    }
)


def test_a_whole_string_variable_keeps_its_type() -> None:
    document = {
        "port": "((port))",
        "azs": "((zones))",
        "tls": "((cert))",
        "ca": "((cert.ca))",
        "flag": "((on))",
        "empty": "((nothing))",
    }
    assert substitute(document, VARS) == {
        "port": 8080,
        "azs": ["z1", "z2"],
        "tls": {"ca": "CA-PEM", "certificate": "CERT"},
        "ca": "CA-PEM",
        "flag": True,
        "empty": None,
    }


def test_strings_and_integers_splice_into_longer_strings_and_keys() -> None:
    document = {"url": "https://((host)):((port))/((!host))", "((key))_suffix": "x", "((key))": 1}
    assert substitute(document, VARS) == {
        "url": "https://10.0.0.1:8080/10.0.0.1",
        "renamed_suffix": "x",
        "renamed": 1,
    }


def test_bang_names_are_the_same_variable() -> None:
    assert substitute({"a": "((!port))", "b": ["((!zones))"]}, VARS) == {
        "a": 8080,
        "b": [["z1", "z2"]],
    }


def test_values_are_not_interpolated_again() -> None:
    assert substitute({"a": "((loop))"}, VARS) == {"a": "((port))"}


def test_unknown_variables_stay_as_text_and_non_strings_are_untouched() -> None:
    document = {"a": "((unknown))", "b": "x ((unknown.sub)) ((port))", "c": 3, "d": None}
    assert substitute(document, VARS) == {
        "a": "((unknown))",
        "b": "x ((unknown.sub)) 8080",
        "c": 3,
        "d": None,
    }


def test_substitute_never_mutates_its_input() -> None:
    document = {"a": ["((zones))"], "b": {"((key))": "((cert))"}}
    before = copy.deepcopy(document)
    result = substitute(document, VARS)
    result["a"][0].append("z3")
    assert document == before
    assert VARS["zones"] == ["z1", "z2"]


def test_expect_all_lists_every_missing_name_once_sorted() -> None:
    document = {"((k1))": "((k2))", "arr": ["((k_in_array))", "((k2))"], "s": "((b.sub)) ((port))"}
    with pytest.raises(InterpolationError) as info:
        substitute(document, VARS, expect_all=True, document_name="manifest.yml")
    assert str(info.value) == "manifest.yml: Expected to find variables: b, k1, k2, k_in_array"


def test_non_string_values_cannot_be_spliced_into_a_string() -> None:
    document = {"jobs": [{"props": {"a": "x-((ratio))"}}], "b": "((zones)) and more"}
    with pytest.raises(ConfigErrors) as info:
        substitute(document, VARS, document_name="manifest.yml")
    assert str(info.value).splitlines() == [
        "manifest.yml: jobs[0].props.a: Invalid type 'float64' for value '2.5' and variable "
        "'ratio'. Supported types for interpolation within a string are integers and strings.",
        "manifest.yml: b: Invalid type '[]interface {}' for value '[z1 z2]' and variable "
        "'zones'. Supported types for interpolation within a string are integers and strings.",
    ]


def test_a_missing_key_inside_a_found_variable_is_an_error_even_without_expect_all() -> None:
    with pytest.raises(InterpolationError) as info:
        substitute({"tls": {"key": "((cert.private_key))"}}, VARS, document_name="m.yml")
    assert str(info.value) == (
        "m.yml: tls.key: Finding variable 'cert.private_key': Expected to find a map key "
        "'private_key' for path '/private_key' (found map keys: 'ca', 'certificate')"
    )


MANIFEST_WITH_DEFINITIONS = """
name: ((name))
password: ((admin_password))
tls: ((director_ssl.certificate))
variables:
- name: admin_password
  type: password
- name: director_ssl
  type: certificate
  options:
    ca: default_ca
    common_name: ((internal_ip))
- name: default_ca
  type: certificate
  options: {is_ca: true}
- name: untyped
"""


def test_found_definitions_are_removed_from_the_variables_section() -> None:
    document = parse_yaml(MANIFEST_WITH_DEFINITIONS, document="m.yml")
    result = substitute(document, Variables({"admin_password": "pw", "name": "dep"}))
    assert result["password"] == "pw"
    assert [v["name"] for v in result["variables"]] == ["director_ssl", "default_ca", "untyped"]


def test_definitions_count_as_missing_but_not_those_whose_options_miss_a_variable() -> None:
    document = parse_yaml(MANIFEST_WITH_DEFINITIONS, document="m.yml")
    with pytest.raises(InterpolationError) as info:
        substitute(document, Variables(), expect_all=True, document_name="m.yml")
    assert str(info.value) == (
        "m.yml: Expected to find variables: admin_password, default_ca, internal_ip, name, untyped"
    )
    with pytest.raises(InterpolationError) as info:
        substitute(
            document, Variables({"internal_ip": "10.0.0.2"}), expect_all=True, document_name="m.yml"
        )
    assert str(info.value) == (
        "m.yml: Expected to find variables: admin_password, default_ca, director_ssl, name, untyped"
    )


def test_recursive_definitions_are_reported_with_bosh_wording() -> None:
    document = parse_yaml(
        "variables:\n"
        "- {name: one, type: certificate, options: {ca: ((two))}}\n"
        "- {name: two, type: certificate, options: {ca: ((one))}}\n",
        document="m.yml",
    )
    with pytest.raises(InterpolationError) as info:
        substitute(document, Variables(), document_name="m.yml")
    assert str(info.value) == (
        "m.yml: variables: Getting all variables from variable definitions sections: "
        "Interpolating variable 'one' definition options: Finding variable 'two': "
        "Interpolating variable 'two' definition options: Finding variable 'one': "
        "Detected recursion"
    )


def test_a_variables_section_that_is_not_a_list_is_an_error() -> None:
    with pytest.raises(InterpolationError) as info:
        substitute({"variables": {"a": 1}}, Variables(), document_name="m.yml")
    assert (
        str(info.value)
        == "m.yml: variables: Expected a list of variable definitions but found a map"
    )
