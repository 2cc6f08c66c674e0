"""YAML in and out exactly as the bosh CLI's go-yaml v2.4.0 reads and prints it."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from jobsite.config import dump_yaml, parse_yaml, read_yaml
from jobsite.errors import ConfigError

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
needs_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"the BOSH corpus is not checked out beside the repo ({CORPUS})"
)
needs_libyaml = pytest.mark.skipif(
    not yaml.__with_libyaml__, reason="exact syntax-error texts are libyaml's (as go-yaml's)"
)


# --- reading ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("y", True),
        ("N", False),
        ("yes", True),
        ("On", True),
        ("off", False),
        ("~", None),
        ("", None),
        ("1e3", 1000.0),
        ("08", 8.0),
        ("0o17", 15),
        ("0x1F", 31),
        ("0777", 511),
        ("0b101", 5),
        ("-0x10", -16),
        ("1_000", 1000),
        ("+12", 12),
        (".5", 0.5),
        ("99999999999999999999", 1e20),
        ("18446744073709551615", 2**64 - 1),
        ("1:20", "1:20"),
        ("2001-12-14", "2001-12-14"),
        ("2001-12-14T21:59:43.10Z", "2001-12-14T21:59:43.10Z"),
        ("=", "="),
        ("1.2.3", "1.2.3"),
        ("'yes'", "yes"),
        ('"08"', "08"),
        ("!!str 123", "123"),
        ("!!float 1", 1.0),
    ],
)
def test_plain_scalars_resolve_as_go_yaml_v2_does(text: str, value: Any) -> None:
    result = parse_yaml(f"v: {text}\n", document="t.yml")["v"]
    assert result == value
    assert type(result) is type(value)


def test_infinities_and_nan_are_floats() -> None:
    parsed = parse_yaml("a: .inf\nb: -.Inf\nc: .NaN\n", document="t.yml")
    assert parsed["a"] == math.inf
    assert parsed["b"] == -math.inf
    assert math.isnan(parsed["c"])


def test_empty_and_comment_only_documents_are_none() -> None:
    assert parse_yaml("", document="t.yml") is None
    assert parse_yaml("# nothing here\n", document="t.yml") is None


def test_only_the_first_document_is_read_as_yaml_unmarshal_does() -> None:
    assert parse_yaml("a: 1\n---\nb: [unclosed\n", document="t.yml") == {"a": 1}


def test_aliases_are_independent_copies_and_merge_keys_work() -> None:
    parsed = parse_yaml(
        "base: &b {x: 1}\nuse: *b\nmerged: {<<: *b, z: 2, x: 3}\n", document="t.yml"
    )
    assert parsed == {"base": {"x": 1}, "use": {"x": 1}, "merged": {"x": 3, "z": 2}}
    parsed["use"]["x"] = 99
    assert parsed["base"] == {"x": 1}


def test_a_repeated_key_keeps_the_last_value_as_bosh_does() -> None:
    assert parse_yaml("a: 1\na: 2\n", document="t.yml") == {"a": 2}


def test_strict_parsing_refuses_a_repeated_key_saying_where_both_are() -> None:
    with pytest.raises(ConfigError) as info:
        parse_yaml("a: 1\nb: 2\na: 3\n", document="m.yml", strict=True)
    assert (
        str(info.value)
        == 'm.yml: line 3, column 1: mapping key "a" already defined at line 1, column 1'
    )


def test_unknown_tags_decode_by_node_kind() -> None:
    parsed = parse_yaml("a: !custom text\nb: !!set {x, z}\n", document="t.yml")
    assert parsed == {"a": "text", "b": {"x": None, "z": None}}


def test_y_and_n_are_booleans_even_as_keys() -> None:
    assert parse_yaml("y: n\n", document="t.yml") == {True: False}


@needs_libyaml
@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "a: 1\nb: c: d\n",
            "m.yml: line 2, column 5: mapping values are not allowed in this context",
        ),
        (
            "a: [1, 2\n",
            "m.yml: line 2, column 1: did not find expected ',' or ']' "
            "(while parsing a flow sequence at line 1, column 4)",
        ),
        (
            "a:\n  - x\n - y\n",
            "m.yml: line 3, column 2: did not find expected key "
            "(while parsing a block mapping at line 1, column 1)",
        ),
        ("a: !!int abc\n", "m.yml: line 1, column 4: cannot decode !!str `abc` as a !!int"),
        ("a: &x [*x]\n", "m.yml: anchor value contains itself"),
    ],
)
def test_a_yaml_error_is_one_line_naming_document_line_and_column(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_yaml(text, document="m.yml")
    assert str(info.value) == message
    assert "\n" not in str(info.value)


def test_read_yaml_names_the_file_as_given(tmp_path: Path) -> None:
    path = tmp_path / "vars.yml"
    path.write_text("a: [\n")
    with pytest.raises(ConfigError) as info:
        read_yaml(path, document="vars.yml")
    assert str(info.value).startswith("vars.yml: line 2, column 1: ")


def test_read_yaml_reports_a_missing_file_a_directory_and_bytes_that_are_not_utf8(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError) as missing:
        read_yaml(tmp_path / "nope.yml", document="nope.yml")
    assert str(missing.value) == "nope.yml: cannot read file: No such file or directory"
    with pytest.raises(ConfigError) as directory:
        read_yaml(tmp_path, document="dir")
    assert str(directory.value) == "dir: cannot read file: it is a directory"
    latin = tmp_path / "latin.yml"
    latin.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(ConfigError) as encoding:
        read_yaml(latin, document="latin.yml")
    assert str(encoding.value) == "latin.yml: is not UTF-8 text (byte 0xe9 at offset 9)"


def test_read_yaml_accepts_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "bom.yml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\n")
    assert read_yaml(path) == {"a": 1}
    path.write_bytes("a: 2\n".encode("utf-16"))
    assert read_yaml(path) == {"a": 2}


# --- writing ----------------------------------------------------------------------------------


def test_dump_sorts_keys_and_does_not_indent_sequences_under_a_key() -> None:
    value = {
        "name": "web",
        "jobs": [{"release": "r", "name": "a", "properties": {"z": 1, "b": [1, 2]}}],
        "azs": ["z1", "z2"],
        "nested": [[1, 2], [3]],
    }
    assert dump_yaml(value) == (
        "azs:\n"
        "- z1\n"
        "- z2\n"
        "jobs:\n"
        "- name: a\n"
        "  properties:\n"
        "    b:\n"
        "    - 1\n"
        "    - 2\n"
        "    z: 1\n"
        "  release: r\n"
        "name: web\n"
        "nested:\n"
        "- - 1\n"
        "  - 2\n"
        "- - 3\n"
    )


def test_dump_orders_keys_naturally_as_go_yaml_sorter_does() -> None:
    keys = ["a10", "a2", "b", "A", "_x", "1", "a_b", "ab", "a-b", "a0", "a00"]
    assert dump_yaml(dict.fromkeys(keys, 0)).splitlines() == [
        "_x: 0",
        '"1": 0',
        "A: 0",
        "a-b: 0",
        "a_b: 0",
        "a0: 0",
        "a00: 0",
        "a2: 0",
        "a10: 0",
        "ab: 0",
        "b: 0",
    ]


def test_dump_quotes_strings_that_would_read_back_as_something_else() -> None:
    value = {
        "bool": "true",
        "short_bool": "y",
        "number": "1.0",
        "octal": "08",
        "null": "null",
        "tilde": "~",
        "empty": "",
        "date": "2001-12-14",
        "base60": "1:20",
        "star": "*",
        "dash": "- x",
        "colon": "a: b",
        "comment": "a #c",
        "leading": " x",
        "tab": "a\tb",
        "fine": "it's plain",
        "url": "https://host:8443/x?y=1",
    }
    assert dump_yaml(value) == (
        'base60: "1:20"\n'
        'bool: "true"\n'
        "colon: 'a: b'\n"
        "comment: 'a #c'\n"
        "dash: '- x'\n"
        'date: "2001-12-14"\n'
        'empty: ""\n'
        "fine: it's plain\n"
        "leading: ' x'\n"
        '"null": "null"\n'
        'number: "1.0"\n'
        'octal: "08"\n'
        'short_bool: "y"\n'
        "star: '*'\n"
        'tab: "a\\tb"\n'
        'tilde: "~"\n'
        "url: https://host:8443/x?y=1\n"
    )


def test_dump_writes_multi_line_strings_as_literal_blocks() -> None:
    value = {"clip": "a\nb\n", "strip": "a\nb", "keep": "a\n\n", "indented": " a\nb"}
    assert dump_yaml(value) == (
        "clip: |\n  a\n  b\nindented: |2-\n   a\n  b\nkeep: |+\n  a\n\nstrip: |-\n  a\n  b\n"
    )
    assert dump_yaml({"trailing_space": "a \nb"}) == 'trailing_space: "a \\nb"\n'


def test_dump_of_scalars_empty_collections_and_none() -> None:
    assert dump_yaml(None) == "null\n"
    assert dump_yaml("plain") == "plain\n"
    assert dump_yaml("two\nlines") == "|-\n  two\n  lines\n"
    assert dump_yaml({"a": [], "b": {}, "c": [{}]}) == "a: []\nb: {}\nc:\n- {}\n"
    assert dump_yaml({1: "one", None: "x", "s": False}) == "1: one\nnull: x\ns: false\n"


def test_dump_formats_floats_as_go_does() -> None:
    floats = [1.0, 1e6, 123456.0, 1e-5, 0.0001, 1.5, -0.0, math.inf, -math.inf, math.nan, 1e21]
    assert dump_yaml(floats) == (
        "- 1\n- 1e+06\n- 123456\n- 1e-05\n- 0.0001\n- 1.5\n- -0\n- .inf\n- -.inf\n- .nan\n- 1e+21\n"
    )


def test_dump_folds_long_strings_at_column_80_unless_width_is_none() -> None:
    text = "word " * 20 + "end"
    folded = dump_yaml({"long": text})
    assert folded == (
        "long: word word word word word word word word word word word word word word word word\n"
        "  word word word word end\n"
    )
    assert parse_yaml(folded, document="t.yml") == {"long": text}
    assert dump_yaml({"long": text}, width=None) == f"long: {text}\n"


def test_dump_escapes_what_go_yaml_v2_cannot_print() -> None:
    assert dump_yaml({"u": "caf\u00e9 \U0001f600"}) == 'u: "café \\U0001F600"\n'
    assert dump_yaml({"c": "bell\a"}) == 'c: "bell\\a"\n'


@needs_corpus
@pytest.mark.corpus
def test_bosh_deployment_manifest_round_trips_byte_for_byte() -> None:
    path = CORPUS / "bosh-deployment" / "bosh.yml"
    assert dump_yaml(read_yaml(path)) == path.read_text()


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@needs_corpus
@pytest.mark.corpus
def test_every_corpus_file_reads_back_what_dump_wrote() -> None:
    paths = sorted(CORPUS.rglob("*.yml"))
    assert len(paths) > 100
    for path in paths:
        value = read_yaml(path)
        text = dump_yaml(value)
        again = parse_yaml(text, document=str(path))
        assert _same(again, value), path
        assert dump_yaml(again) == text, path
