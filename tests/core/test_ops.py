"""go-patch ops files: pointers, replace/remove/test, their error texts, and real ops files."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from jobsite.config import (
    Op,
    Variables,
    apply_ops,
    find_path,
    interpolate,
    parse_ops,
    read_ops_file,
    read_yaml,
    variables_from_cli,
)
from jobsite.config._ops import (
    AfterLastIndexToken,
    IndexToken,
    KeyToken,
    MatchingIndexToken,
    Pointer,
    PointerError,
)
from jobsite.errors import ConfigError, ConfigErrors, InterpolationError

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
needs_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"the BOSH corpus is not checked out beside the repo ({CORPUS})"
)


def ops(*definitions: dict[str, Any]) -> tuple[Op, ...]:
    return parse_ops(list(definitions), document="ops.yml")


def replace(path: str, value: Any) -> dict[str, Any]:
    return {"type": "replace", "path": path, "value": value}


def remove(path: str) -> dict[str, Any]:
    return {"type": "remove", "path": path}


def failure(document: Any, *definitions: dict[str, Any]) -> str:
    with pytest.raises(InterpolationError) as info:
        apply_ops(document, ops(*definitions))
    return str(info.value)


# --- pointers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tokens", "canonical"),
    [
        ("", (), ""),
        ("/", (KeyToken(""),), "/"),
        ("/key/-", (KeyToken("key"), AfterLastIndexToken()), "/key/-"),
        ("/-/key", (KeyToken("-"), KeyToken("key")), "/-/key"),
        ("/0/-2", (IndexToken(0), IndexToken(-2)), "/0/-2"),
        (
            "/key?/key2/name=val",
            (
                KeyToken("key", True),
                KeyToken("key2", True),
                MatchingIndexToken("name", "val", True),
            ),
            "/key?/key2/name=val",
        ),
        ("/name=val?", (MatchingIndexToken("name", "val", True),), "/name=val?"),
        ("/==", (MatchingIndexToken("", "="),), "/=~3"),
        (
            "/0:next/name=x:before",
            (IndexToken(0, ("next",)), MatchingIndexToken("name", "x", False, ("before",))),
            "/0:next/name=x:before",
        ),
        (
            "/a~1b/m~0n/q~2/k~7v",
            (KeyToken("a/b"), KeyToken("m~n"), KeyToken("q?"), KeyToken("k:v")),
            "/a~1b/m~0n/q~2/k~7v",
        ),
        ("/a~01b", (KeyToken("a~1b"),), "/a~01b"),
    ],
)
def test_pointers_parse_and_print_as_go_patch_does(
    text: str, tokens: tuple[Any, ...], canonical: str
) -> None:
    pointer = Pointer.parse(text)
    assert pointer.tokens == tokens
    assert str(pointer) == canonical


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", "Expected to start with '/'"),
        (
            "/a:sideways",
            "Expected to find one of the following modifiers: 'prev', 'next', 'before', or "
            "'after' but found 'sideways'",
        ),
        ("/a/-:next", "Expected not to find any modifiers with after last index token"),
        ("/key:prev", "Expected not to find any modifiers with key token"),
    ],
)
def test_bad_pointers_are_refused_with_go_patch_messages(text: str, message: str) -> None:
    with pytest.raises(PointerError) as info:
        Pointer.parse(text)
    assert str(info.value) == message


# --- replace, remove, test --------------------------------------------------------------------

DOC = {
    "name": "dep",
    "list": [1, 2, 3],
    "groups": [{"name": "web", "n": 1}, {"name": "db", "n": 2}, "not-a-map", {"name": 7}],
    "props": {"a": {"b": 1}},
}


def test_replace_map_keys_indexes_and_selectors() -> None:
    result = apply_ops(
        DOC,
        ops(
            replace("/name", "new"),
            replace("/list/1", 20),
            replace("/list/-1", 30),
            replace("/groups/name=db/n", 22),
            replace("/props/a/b", {"deep": [1]}),
        ),
    )
    assert result == {
        "name": "new",
        "list": [1, 20, 30],
        "groups": [{"name": "web", "n": 1}, {"name": "db", "n": 22}, "not-a-map", {"name": 7}],
        "props": {"a": {"b": {"deep": [1]}}},
    }


def test_replace_appends_and_inserts_around_an_item() -> None:
    result = apply_ops(
        {"list": ["a", "b"], "groups": [{"name": "web"}, {"name": "db"}]},
        ops(
            replace("/list/-", "end"),
            replace("/list/0:before", "first"),
            replace("/list/1:after", "after-a"),
            replace("/groups/name=web:after", {"name": "mid"}),
            replace("/list/0:next", "second"),
        ),
    )
    assert result == {
        "list": ["first", "second", "after-a", "b", "end"],
        "groups": [{"name": "web"}, {"name": "mid"}, {"name": "db"}],
    }


def test_prev_before_the_first_item_wraps_to_the_last_as_in_go_patch() -> None:
    assert apply_ops({"list": [1, 2, 3]}, ops(replace("/list/0:prev", "x"))) == {
        "list": [1, 2, "x"]
    }


def test_optional_paths_create_what_is_missing() -> None:
    result = apply_ops(
        {"groups": [{"name": "web"}]},
        ops(
            replace("/update?/canaries", 2),
            replace("/tags?/-", "t1"),
            replace("/groups/name=db?/instances", 3),
            replace("/groups/name=cache?", {"name": "cache", "instances": 1}),
            replace("/groups/name=web/vm_extensions?/-", "ext"),
        ),
    )
    assert result == {
        "groups": [
            {"name": "web", "vm_extensions": ["ext"]},
            {"name": "db", "instances": 3},
            {"name": "cache", "instances": 1},
        ],
        "update": {"canaries": 2},
        "tags": ["t1"],
    }


def test_replace_at_the_root_replaces_the_whole_document() -> None:
    assert apply_ops(DOC, ops(replace("", {"fresh": True}))) == {"fresh": True}


def test_remove_map_keys_and_items_and_ignores_missing_optional_ones() -> None:
    result = apply_ops(
        DOC,
        ops(
            remove("/props/a/b"),
            remove("/list/0"),
            remove("/list/-1"),
            remove("/groups/name=web"),
            remove("/absent?/deeper"),
            remove("/groups/name=absent?"),
        ),
    )
    assert result == {
        "name": "dep",
        "list": [2],
        "groups": [{"name": "db", "n": 2}, "not-a-map", {"name": 7}],
        "props": {"a": {}},
    }


def test_test_ops_check_values_and_absence() -> None:
    checks = ops(
        {"type": "test", "path": "/props/a/b", "value": 1},
        {"type": "test", "path": "/props/zz", "absent": True},
    )
    assert apply_ops(DOC, checks) == DOC
    assert failure(DOC, {"type": "test", "path": "/props/a/b", "value": 1.0}) == (
        "ops.yml: [0]: Found value does not match expected value"
    )
    assert failure(DOC, {"type": "test", "path": "/name", "absent": True}) == (
        "ops.yml: [0]: Expected to not find '/name'"
    )


def test_apply_ops_never_mutates_its_input_or_shares_the_op_value() -> None:
    before = copy.deepcopy(DOC)
    value = {"k": [1]}
    operations = ops(replace("/props/a", value), replace("/new?", value))
    result = apply_ops(DOC, operations)
    assert before == DOC
    result["props"]["a"]["k"].append(2)
    assert result["new"] == {"k": [1]}
    assert operations[0].value == {"k": [1]}


def test_replace_values_are_cloned_through_yaml_so_integral_floats_become_ints() -> None:
    result = apply_ops({}, ops(replace("/a?", 2.0), replace("/b?", 2.5)))
    assert result == {"a": 2, "b": 2.5}
    assert type(result["a"]) is int


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        (
            replace("/props/x/y", 1),
            "Expected to find a map key 'x' for path '/props/x' (found map keys: 'a')",
        ),
        (
            replace("/nope", 1),
            "Expected to find a map key 'nope' for path '/nope' (found map keys: 'groups', 'list', "
            "'name', 'props')",
        ),
        (remove("/props/a/b/c"), "Expected to find a map at path '/props/a/b/c' but found 'int'"),
        (replace("/name/0", 1), "Expected to find an array at path '/name/0' but found 'string'"),
        (
            replace("/props/0", 1),
            "Expected to find an array at path '/props/0' but found "
            "'map[interface {}]interface {}'",
        ),
        (
            replace("/list/key", 1),
            "Expected to find a map at path '/list/key' but found '[]interface {}'",
        ),
        (
            replace("/list/3", 1),
            "Expected to find array index '3' but found array of length '3' for path '/list/3'",
        ),
        (
            remove("/list/-4"),
            "Expected to find array index '-4' but found array of length '3' for path '/list/-4'",
        ),
        (
            replace("/list/2:next", 1),
            "Expected to find array index '3' but found array of length '3' for path "
            "'/list/2:next'",
        ),
        (
            replace("/groups/name=nope/n", 1),
            "Expected to find exactly one matching array item for path '/groups/name=nope' but "
            "found 0",
        ),
        (
            replace("/groups/name=7", 1),
            "Expected to find exactly one matching array item for path '/groups/name=7' but "
            "found 0",
        ),
        (
            replace("/list/-/x", 1),
            "Expected to find a map at path '/list/-' but found '[]interface {}'",
        ),
        (
            remove("/list/-"),
            "Expected to not find token 'patch.AfterLastIndexToken' at path '/list/-'",
        ),
        (remove(""), "Cannot remove entire document"),
        (
            replace("/missing?/0", 1),
            "Expected to find key, matching index or after last index token at path '/missing?/0'",
        ),
        (
            replace("/list/0:before:after", 1),
            "Expected to not find any modifiers after 'before' modifier, but found modifier "
            "'patch.AfterModifier'",
        ),
        (
            replace("/list/0:after/x", 1),
            "Expected to find one of the following modifiers: 'prev', 'next', but found "
            "modifier 'patch.AfterModifier'",
        ),
        (
            {"type": "test", "path": "/list/-", "value": 1},
            "Expected not to find after last index token in path '/list/-' (not supported in "
            "find operations)",
        ),
    ],
)
def test_failures_are_worded_as_go_patch_words_them(
    definition: dict[str, Any], message: str
) -> None:
    assert failure(DOC, definition) == f"ops.yml: [0]: {message}"


def test_the_error_names_the_failing_operation_by_its_index() -> None:
    assert failure({"a": {"b": 1, "c": 2}}, replace("/a/b", 2), replace("/a/x/y", 1)) == (
        "ops.yml: [1]: Expected to find a map key 'x' for path '/a/x' (found map keys: 'b', 'c')"
    )
    assert failure({}, replace("/a/b", 1)) == (
        "ops.yml: [0]: Expected to find a map key 'a' for path '/a' (found no other map keys)"
    )


def test_find_path_reads_values_as_bosh_int_path_does() -> None:
    assert find_path(DOC, "/groups/name=db/n") == 2
    assert find_path(DOC, "/list/-1") == 3
    assert find_path(DOC, "/absent?") is None
    assert find_path(DOC, "/groups/name=cache?") == {"name": "cache"}
    assert find_path(DOC, "") == DOC
    with pytest.raises(InterpolationError) as info:
        find_path(DOC, "/props/b", document_name="m.yml")
    assert str(info.value) == (
        "m.yml: Expected to find a map key 'b' for path '/props/b' (found map keys: 'a')"
    )
    with pytest.raises(InterpolationError) as bad:
        find_path(DOC, "props")
    assert str(bad.value) == "Invalid path 'props': Expected to start with '/'"


# --- ops files --------------------------------------------------------------------------------


def test_ops_carry_where_they_came_from_and_ignore_unknown_keys() -> None:
    (op,) = parse_ops(
        [{"name": "cpi", "release": "x", "type": "replace", "path": "/a?", "value": 1}],
        document="cpi.yml",
    )
    assert (op.type, str(op.path), op.value, op.document, op.index) == (
        "replace",
        "/a?",
        1,
        "cpi.yml",
        0,
    )


def test_every_malformed_operation_is_reported_with_where() -> None:
    with pytest.raises(ConfigErrors) as info:
        parse_ops(
            [
                {"type": "remove", "path": "/a", "value": 1},
                {"type": "bogus", "path": "/a"},
                {"type": "replace", "path": "a"},
                {"type": "replace", "path": "/a:x", "value": 1},
                "not an op",
                {"type": "replace", "value": 1},
                {"type": "replace", "path": "/a", "value": None},
                {"type": "replace", "path": "relative", "value": 1},
                {"type": "replace", "path": {"a": 1}, "value": 1},
            ],
            document="ops.yml",
        )
    assert str(info.value).splitlines() == [
        "ops.yml: [0].value: Cannot specify value",
        "ops.yml: [1].type: Unknown operation type 'bogus' "
        "(expected 'replace', 'remove' or 'test')",
        "ops.yml: [2].value: Missing value",
        "ops.yml: [3].path: Invalid path: Expected to find one of the following modifiers: "
        "'prev', 'next', 'before', or 'after' but found 'x'",
        "ops.yml: [4]: Expected an operation (a map with type, path and value) but found a string",
        "ops.yml: [5].path: Missing path",
        "ops.yml: [6].value: Missing value",
        "ops.yml: [7].path: Invalid path: Expected to start with '/'",
        "ops.yml: [8].path: Expected a string but found a map",
    ]


def test_an_ops_file_must_be_a_list(tmp_path: Path) -> None:
    path = tmp_path / "ops.yml"
    path.write_text("type: replace\n")
    with pytest.raises(ConfigError) as info:
        read_ops_file(path)
    assert str(info.value) == f"{path}: Expected a list of operations but found a map"
    path.write_text("# nothing yet\n")
    assert read_ops_file(path) == ()


def test_read_ops_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "scale.yml"
    path.write_text("- type: replace\n  path: /instances\n  value: 3\n")
    (op,) = read_ops_file(path)
    assert op.document == str(path)
    with pytest.raises(InterpolationError) as info:
        apply_ops({"name": "x"}, [op])
    assert str(info.value) == (
        f"{path}: [0]: Expected to find a map key 'instances' for path '/instances' "
        "(found map keys: 'name')"
    )


# --- real ops files ---------------------------------------------------------------------------


@needs_corpus
@pytest.mark.corpus
def test_bosh_deployment_warden_uaa_credhub_and_jumpbox_ops() -> None:
    root = CORPUS / "bosh-deployment"
    files = ["warden/cpi.yml", "uaa.yml", "credhub.yml", "jumpbox-user.yml"]
    operations = [op for name in files for op in read_ops_file(root / name)]
    manifest = read_yaml(root / "bosh.yml")
    result = apply_ops(manifest, operations)

    bosh = result["instance_groups"][0]
    assert [job["name"] for job in bosh["jobs"]] == [
        "bpm",
        "nats",
        "postgres",
        "blobstore",
        "director",
        "health_monitor",
        "uaa",
        "bbr-uaadb",
        "credhub",
        "bbr-credhubdb",
        "user_add",
    ]
    assert [r["name"] for r in result["releases"]] == [
        "bosh",
        "bpm",
        "bosh-warden-cpi",
        "uaa",
        "credhub",
        "os-conf",
    ]
    properties = bosh["properties"]
    assert properties["director"]["user_management"] == {
        "provider": "uaa",
        "uaa": {
            "url": "https://((internal_ip)):8443",
            "public_key": "((uaa_jwt_signing_key.public_key))",
        },
    }
    assert properties["postgres"]["additional_databases"] == ["uaa", "credhub"]
    assert properties["director"]["default_ssh_options"] == {"gateway_user": "jumpbox"}
    assert result["cloud_provider"]["template"] == {
        "name": "warden_cpi",
        "release": "bosh-warden-cpi",
    }
    uaa_job = next(job for job in bosh["jobs"] if job["name"] == "uaa")
    assert uaa_job["properties"]["uaa"]["scim"]["users"][1] == {
        "name": "credhub_cli_user",
        "password": "((credhub_cli_user_password))",
        "groups": ["credhub.read", "credhub.write"],
    }
    assert len(result["variables"]) == 17 + 5 + 6 + 1
    assert result["variables"][-1] == {"name": "jumpbox_ssh", "type": "ssh"}
    assert manifest == read_yaml(root / "bosh.yml")


@needs_corpus
@pytest.mark.corpus
def test_bosh_deployment_var_errs_lists_the_credentials_bosh_would_generate() -> None:
    root = CORPUS / "bosh-deployment"
    operations = [
        op
        for name in ["warden/cpi.yml", "uaa.yml", "credhub.yml", "jumpbox-user.yml"]
        for op in read_ops_file(root / name)
    ]
    manifest = read_yaml(root / "bosh.yml")
    defined = {v["name"] for v in apply_ops(manifest, operations)["variables"]}
    network = Variables(
        {
            "internal_ip": "10.244.0.2",
            "internal_gw": "10.244.0.1",
            "internal_cidr": "10.244.0.0/24",
            "director_name": "lite",
            "garden_host": "127.0.0.1",
        }
    )
    with pytest.raises(InterpolationError) as info:
        interpolate(
            manifest, ops=operations, variables=network, expect_all=True, document_name="bosh.yml"
        )
    assert str(info.value) == "bosh.yml: Expected to find variables: " + ", ".join(sorted(defined))

    given = Variables({**dict(network), "admin_password": "secret"})
    result = interpolate(manifest, ops=operations, variables=given, document_name="bosh.yml")
    assert "admin_password" not in {v["name"] for v in result["variables"]}
    director = result["instance_groups"][0]["properties"]["director"]
    assert director["address"] == "10.244.0.2"
    assert director["user_management"]["uaa"]["url"] == "https://10.244.0.2:8443"


@needs_corpus
@pytest.mark.corpus
def test_concourse_cluster_with_operations_and_versions_file(tmp_path: Path) -> None:
    root = CORPUS / "concourse-bosh-deployment"
    names = [
        "basic-auth.yml",
        "static-web.yml",
        "privileged-http.yml",
        "cluster-name.yml",
        "scale.yml",
        "tls-vars.yml",
        "tls.yml",
        "gitlab-auth.yml",
    ]
    operations = [op for n in names for op in read_ops_file(root / "cluster" / "operations" / n)]
    users = tmp_path / "users.yml"
    users.write_text("local_user: {username: admin, password: s3cret}\n")
    variables = variables_from_cli(
        var=[
            "deployment_name=ci",
            "network_name=default",
            "web_ip=10.0.0.5",
            "cluster_name=main",
            "web_instances=2",
            "worker_instances=3",
            "azs=[z1]",
        ],
        vars_files=[root / "versions.yml", users],
        environ={},
    )
    result = interpolate(
        read_yaml(root / "cluster" / "concourse.yml"),
        ops=operations,
        variables=variables,
        document_name="concourse.yml",
    )
    assert result["name"] == "ci"
    assert result["releases"][0] == {
        "name": "concourse",
        "version": "8.2.4",
        "sha1": "313dc3dd8c3e08b26eec1941476c34db0f20e997",
        "url": "https://bosh.io/d/github.com/concourse/concourse-bosh-release?v=8.2.4",
    }
    groups = {g["name"]: g for g in result["instance_groups"]}
    assert (groups["db"]["instances"], groups["web"]["instances"]) == (1, 2)
    assert groups["worker"]["instances"] == 3
    assert groups["web"]["azs"] == ["z1"]
    assert groups["web"]["networks"] == [{"name": "default", "static_ips": ["10.0.0.5"]}]
    web = next(job for job in groups["web"]["jobs"] if job["name"] == "web")["properties"]
    assert web["bind_port"] == 80
    assert web["cluster_name"] == "main"
    assert web["add_local_users"] == ["admin:s3cret"]
    assert web["main_team"]["auth"] == {
        "local": {"users": ["admin"]},
        "gitlab": {
            "users": "((main_team.gitlab_users))",
            "groups": "((main_team.gitlab_groups))",
        },
    }
    assert web["postgresql"] == {
        "database": "atc",
        "role": {"name": "concourse", "password": "((postgres_password))"},
    }
    assert web["worker_gateway"]["authorized_keys"] == "((worker_key.public_key))\n"
    assert web["tls"] == {
        "cert": {
            "certificate": "((atc_tls.certificate))",
            "private_key": "((atc_tls.private_key))",
        }
    }
    assert [v["name"] for v in result["variables"]] == [
        "postgres_password",
        "token_signing_key",
        "tsa_host_key",
        "worker_key",
        "atc_ca",
        "atc_tls",
    ]
