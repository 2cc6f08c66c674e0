"""YAML as the bosh CLI reads and prints it: go-yaml v2.4.0 (``gopkg.in/yaml.v2``).

bosh-cli's ``go.mod`` pins ``gopkg.in/yaml.v2 v2.4.0``; every manifest, vars file and ops file
goes through its ``yaml.Unmarshal`` and ``bosh int`` prints with its ``yaml.Marshal``. PyYAML
parses the same YAML 1.1 syntax (both descend from libyaml), but resolves plain scalars
differently, so this module replaces the resolver with go-yaml's (``resolve.go``):

- ``y``/``n`` are booleans as well as ``yes``/``on``; ``1e3`` and ``08`` are floats;
  ``0o17`` is an int; ``1:20`` (base 60) and ``2001-12-14`` stay strings (go-yaml decodes
  timestamps into ``interface{}`` as the original text); ``=`` is a plain string.
- Only the first document of a stream is read, as ``yaml.Unmarshal`` does.
- Anchored values are copied, never shared: Go decodes an alias afresh each time, so editing
  one place of a document never changes another.

:func:`dump_yaml` is a port of go-yaml's encoder and libyaml emitter: keys sorted with its
"natural" order (``sorter.go``: digit runs compare as numbers), block style, sequences under a
key not indented, strings that would read back as another type double-quoted, multi-line
strings as literal blocks, and plain or quoted strings folded at spaces past column 80 (the
v2.4.0 default; ``yaml.FutureLineWrap`` turns that off and bosh-cli does not call it).

Duplicate map keys: go-yaml v2's ``Unmarshal`` (what bosh-cli calls) keeps the last one
silently; only ``UnmarshalStrict`` and go-yaml v3 refuse them. Real inputs rely on that
(concourse-bosh-deployment's ``gitlab-auth.yml`` repeats ``value:``), so the default is
bosh's; ``strict=True`` refuses them with where both are, for checks that want it.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Mapping
from functools import cmp_to_key
from pathlib import Path
from typing import Any

import yaml

from jobsite.errors import ConfigError

__all__ = [
    "describe_kind",
    "dump_yaml",
    "fresh_copy",
    "go_resolve",
    "go_type_name",
    "go_value_text",
    "parse_yaml",
    "read_text",
    "read_yaml",
]

_INT64 = (-(2**63), 2**63 - 1)
_UINT64_MAX = 2**64 - 1

# --- go-yaml's resolve() ---------------------------------------------------------------------

_RESOLVE_MAP: dict[str, tuple[str, Any]] = {
    **{s: ("bool", True) for s in ("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE")},
    **{s: ("bool", True) for s in ("on", "On", "ON")},
    **{s: ("bool", False) for s in ("n", "N", "no", "No", "NO", "false", "False", "FALSE")},
    **{s: ("bool", False) for s in ("off", "Off", "OFF")},
    **{s: ("null", None) for s in ("", "~", "null", "Null", "NULL")},
    **{s: ("float", math.nan) for s in (".nan", ".NaN", ".NAN")},
    **{s: ("float", math.inf) for s in (".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF")},
    **{s: ("float", -math.inf) for s in ("-.inf", "-.Inf", "-.INF")},
}
_YAML_STYLE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_DOT_FLOAT = re.compile(r"\.[0-9]+([eE][-+]?[0-9]+)?")
_GO_INT = re.compile(r"([-+]?)(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|0[0-7]*|[1-9][0-9]*)")
_DATE = r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"
_TIME = r"([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})([.,][0-9]+)?"
_TIMESTAMPS = (
    re.compile(_DATE + "[Tt]" + _TIME + r"(Z|[-+][0-9]{2}:[0-9]{2})"),
    re.compile(_DATE + " " + _TIME),
    re.compile(_DATE),
)
_BASE60_FLOAT = re.compile(r"[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?")


def _go_parse_int(text: str) -> int | None:
    """``strconv.ParseInt(s, 0, 64)``, then ``ParseUint`` for what overflows int64."""
    match = _GO_INT.fullmatch(text)
    if match is None:
        return None
    sign, body = match.groups()
    prefix = body[:2].lower()
    if prefix in ("0x", "0b", "0o"):
        number = int(body[2:], {"0x": 16, "0b": 2, "0o": 8}[prefix])
    elif len(body) > 1 and body[0] == "0":
        number = int(body[1:], 8)
    else:
        number = int(body)
    if sign == "-":
        number = -number
    if _INT64[0] <= number <= _INT64[1]:
        return number
    if not sign and number <= _UINT64_MAX:
        return number
    return None


def _is_timestamp(text: str) -> bool:
    """go-yaml's ``parseTimestamp``: the ``time.Parse`` layouts it tries, with their ranges."""
    for pattern in _TIMESTAMPS:
        match = pattern.fullmatch(text)
        if match is None:
            continue
        parts = match.groups()
        year, month, day = int(parts[0]), int(parts[1]), int(parts[2])
        if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(year, month)[1]:
            return False
        if len(parts) > 3:
            hour, minute, second = int(parts[3]), int(parts[4]), int(parts[5])
            if hour > 23 or minute > 59 or second > 59:
                return False
        return True
    return False


def go_resolve(text: str) -> tuple[str, Any]:
    """What a plain (unquoted) scalar means to go-yaml v2: ``(kind, value)``.

    ``kind`` is ``null``, ``bool``, ``int``, ``float``, ``timestamp`` (whose value is the text:
    go-yaml hands timestamps to ``interface{}`` as strings) or ``str``.
    """
    if text in _RESOLVE_MAP:
        return _RESOLVE_MAP[text]
    first = text[0]
    if first == ".":
        if _DOT_FLOAT.fullmatch(text):
            return "float", float(text)
    elif first in "+-0123456789":
        if _is_timestamp(text):
            return "timestamp", text
        plain = text.replace("_", "")
        number = _go_parse_int(plain)
        if number is not None:
            return "int", number
        if _YAML_STYLE_FLOAT.fullmatch(plain):
            value = float(plain)
            if not math.isinf(value):  # ParseFloat reports overflow as an error
                return "float", value
    return "str", text


# --- Go's names and formatting of values ------------------------------------------------------


def go_format_float(value: float) -> str:
    """``strconv.FormatFloat(v, 'g', -1, 64)``: shortest digits, exponent past 1e+06."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return sign + "0"
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + (int(exponent) if exponent else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0") or "0"
    exp = point - 1
    if exp < -4 or exp >= 6:
        head = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{head}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


def go_type_name(value: Any) -> str:
    """Go's ``%T`` of a decoded YAML value, as go-patch and bosh-cli print it in errors."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int" if _INT64[0] <= value <= _INT64[1] else "uint64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "map[interface {}]interface {}"
    if isinstance(value, list | tuple):
        return "[]interface {}"
    return type(value).__name__


def go_value_text(value: Any) -> str:
    """Go's ``%v`` of a decoded YAML value (maps print their keys sorted)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_format_float(value)
    if isinstance(value, Mapping):
        items = sorted(value.items(), key=lambda kv: (type(kv[0]).__name__, str(kv[0])))
        return "map[" + " ".join(f"{go_value_text(k)}:{go_value_text(v)}" for k, v in items) + "]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(go_value_text(v) for v in value) + "]"
    return str(value)


def describe_kind(value: Any) -> str:
    """A value's YAML kind with its article, for messages: ``a map``, ``a list``, ``null``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a map"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def fresh_copy(value: Any) -> Any:
    """A deep copy that never shares: each alias becomes its own copy, as Go decodes them.

    Raises ``ValueError`` for a value that contains itself (a recursive anchor).
    """
    active: set[int] = set()

    def copy(node: Any) -> Any:
        if isinstance(node, Mapping | list | tuple):
            if id(node) in active:
                raise ValueError("anchor value contains itself")
            active.add(id(node))
            try:
                if isinstance(node, Mapping):
                    return {k: copy(v) for k, v in node.items()}
                return [copy(v) for v in node]
            finally:
                active.discard(id(node))
        return node

    return copy(value)


# --- reading ----------------------------------------------------------------------------------

_TAG = "tag:yaml.org,2002:"
_KIND_TAGS = {
    "null": _TAG + "null",
    "bool": _TAG + "bool",
    "int": _TAG + "int",
    "float": _TAG + "float",
    "timestamp": _TAG + "str",
    "str": _TAG + "str",
}
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _GoLoader(_BaseLoader):  # type: ignore[misc]
    """PyYAML's parser with go-yaml v2's scalar resolution (and, if strict, unique keys)."""

    strict = False

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode:
            if not implicit[0]:
                return _TAG + "str"
            if value == "<<":
                return _TAG + "merge"
            return _KIND_TAGS[go_resolve(value)[0]]
        return super().resolve(kind, value, implicit)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if self.strict and isinstance(node, yaml.MappingNode):
            seen: dict[tuple[str, Any], Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == _TAG + "merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    marker = (type(key).__name__, key)
                    first = seen.setdefault(marker, key_node.start_mark)
                except TypeError:
                    continue  # unhashable: the base class reports it
                if first is not key_node.start_mark:
                    shown = f'"{key}"' if isinstance(key, str) else go_value_text(key)
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"mapping key {shown} already defined at line {first.line + 1}, "
                        f"column {first.column + 1}",
                        key_node.start_mark,
                    )
        return super().construct_mapping(node, deep=deep)


def _construct_typed(kind: str) -> Any:
    """A constructor that decodes a scalar tagged ``!!kind`` (implicitly or explicitly)."""

    def construct(loader: Any, node: Any) -> Any:
        text = loader.construct_scalar(node)
        found, value = go_resolve(text)
        if found == kind:
            return value
        if kind == "float" and found == "int":
            return float(value)
        raise yaml.constructor.ConstructorError(
            None, None, f"cannot decode !!{found} `{text}` as a !!{kind}", node.start_mark
        )

    return construct


def _construct_text(loader: Any, node: Any) -> Any:
    return loader.construct_scalar(node)


def _construct_binary(loader: Any, node: Any) -> Any:
    data = yaml.SafeLoader.construct_yaml_binary(loader, node)
    return data.decode("utf-8", errors="replace")


def _construct_any(loader: Any, suffix: Any, node: Any) -> Any:
    """Unknown tags (``!foo``, ``!!set``...): go-yaml decodes the node by its kind alone."""
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


for _kind in ("null", "bool", "int", "float"):
    _GoLoader.add_constructor(_TAG + _kind, _construct_typed(_kind))
_GoLoader.add_constructor(_TAG + "timestamp", _construct_text)
_GoLoader.add_constructor(_TAG + "merge", _construct_text)
_GoLoader.add_constructor(_TAG + "binary", _construct_binary)
for _tag in ("set", "omap", "pairs"):
    _GoLoader.add_constructor(_TAG + _tag, lambda loader, node: _construct_any(loader, "", node))
_GoLoader.add_multi_constructor("", _construct_any)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _yaml_error(exc: yaml.YAMLError, document: str) -> ConfigError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        message = exc.problem or exc.context or "invalid YAML"
        if exc.problem and exc.context:
            context = exc.context
            cm = exc.context_mark
            if (
                cm is not None
                and mark is not None
                and (cm.line, cm.column) != (mark.line, mark.column)
            ):
                context += f" at line {cm.line + 1}, column {cm.column + 1}"
            message += f" ({context})"
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        return ConfigError(_one_line(message), document=document, path=where)
    if isinstance(exc, yaml.reader.ReaderError):
        char = exc.character
        code = ord(char) if isinstance(char, str) else int(char)
        return ConfigError(
            f"unacceptable character #x{code:04x}: {exc.reason}",
            document=document,
            path=f"position {exc.position}",
        )
    return ConfigError(_one_line(str(exc)), document=document)


class _StrictGoLoader(_GoLoader):
    strict = True


def parse_yaml(text: str, *, document: str, strict: bool = False) -> Any:
    """Parse ``text`` as go-yaml v2 does; an empty document is ``None``.

    Only the first document of a stream is read (``yaml.Unmarshal``). Every syntax error
    becomes one :class:`ConfigError` naming ``document`` and the line and column. A repeated
    map key keeps its last value, as in bosh, unless ``strict``: then it is an error.
    """
    loader = (_StrictGoLoader if strict else _GoLoader)(text)
    try:
        node = loader.get_node() if loader.check_node() else None
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, document) from None
    finally:
        loader.dispose()
    try:
        return fresh_copy(data)
    except ValueError as exc:
        raise ConfigError(str(exc), document=document) from None


def read_text(path: Path | str, *, document: str | None = None) -> str:
    """A file's text (UTF-8, or UTF-16 with a byte-order mark), or one clean ConfigError."""
    name = str(path) if document is None else document
    try:
        data = Path(path).read_bytes()
    except IsADirectoryError:
        raise ConfigError("cannot read file: it is a directory", document=name) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"cannot read file: {reason}", document=name) from None
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            document=name,
        ) from None


def read_yaml(path: Path | str, *, document: str | None = None, strict: bool = False) -> Any:
    """Read and parse a YAML file; errors name ``document`` (by default the path as given)."""
    name = str(path) if document is None else document
    return parse_yaml(read_text(path, document=name), document=name, strict=strict)


# --- writing: go-yaml's encoder and libyaml's emitter ------------------------------------------

_PLAIN, _SINGLE, _DOUBLE, _LITERAL = "plain", "single", "double", "literal"
_BREAKS = "\r\n\x85\u2028\u2029"
_GO_KINDS = {"bool": 1, "int": 2, "uint64": 11, "float64": 14, "<nil>": 20, "string": 24}


def _printable(ch: str) -> bool:
    o = ord(ch)
    return (
        o == 0x0A
        or 0x20 <= o <= 0x7E
        or 0xA0 <= o <= 0xD7FF
        or (0xE000 <= o <= 0xFFFD and o != 0xFEFF)
    )


def _scalar_event(value: Any) -> tuple[str, str]:
    """The text and requested style go-yaml's encoder gives a scalar (``encode.go``)."""
    if value is None:
        return "null", _PLAIN
    if isinstance(value, bool):
        return ("true" if value else "false"), _PLAIN
    if isinstance(value, int):
        return str(value), _PLAIN
    if isinstance(value, float):
        text = go_format_float(value)
        return {"+Inf": ".inf", "-Inf": "-.inf", "NaN": ".nan"}.get(text, text), _PLAIN
    if isinstance(value, str):
        if "\n" in value:
            return value, _LITERAL
        if go_resolve(value)[0] == "str" and not _BASE60_FLOAT.fullmatch(value):
            return value, _PLAIN
        return value, _DOUBLE
    raise TypeError(f"cannot write a {type(value).__name__} as YAML")


def _key_less(a: Any, b: Any) -> bool:
    """go-yaml v2's ``keyList.Less`` (``sorter.go``)."""
    ak, bk = _GO_KINDS.get(go_type_name(a), 25), _GO_KINDS.get(go_type_name(b), 25)
    numbers = (bool, int, float)
    if isinstance(a, numbers) and isinstance(b, numbers):
        if float(a) != float(b):
            return float(a) < float(b)
        if ak != bk:
            return ak < bk
        return a < b
    if not isinstance(a, str) or not isinstance(b, str):
        return ak < bk
    for i in range(min(len(a), len(b))):
        if a[i] == b[i]:
            continue
        al, bl = a[i].isalpha(), b[i].isalpha()
        if al and bl:
            return a[i] < b[i]
        if al or bl:
            return bl
        an = bn = 0
        if a[i] == "0" or b[i] == "0":
            j = i - 1
            while j >= 0 and a[j].isdecimal():
                if a[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(a) and a[ai].isdecimal():
            an = an * 10 + ord(a[ai]) - 48
            ai += 1
        bi = i
        while bi < len(b) and b[bi].isdecimal():
            bn = bn * 10 + ord(b[bi]) - 48
            bi += 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return a[i] < b[i]
    return len(a) < len(b)


_KEY_ORDER = cmp_to_key(lambda a, b: -1 if _key_less(a, b) else (1 if _key_less(b, a) else 0))


class _Analysis:
    """libyaml's ``yaml_emitter_analyze_scalar``: which styles can carry this text."""

    def __init__(self, value: str) -> None:
        self.multiline = False
        self.flow_plain = self.block_plain = self.single = self.block = True
        if not value:
            self.flow_plain = self.block = False
            return
        flow_ind = block_ind = line_breaks = special = False
        leading = trailing_space = trailing_break = break_space = space_break = False
        prev_space = prev_break = False
        if value.startswith(("---", "...")):
            flow_ind = block_ind = True
        preceded_ws = True
        last = len(value) - 1
        for i, ch in enumerate(value):
            followed_ws = i == last or value[i + 1] in " \t"
            if i == 0:
                if ch in "#,[]{}&*!|>'\"%@`":
                    flow_ind = block_ind = True
                elif ch in "?:":
                    flow_ind = True
                    block_ind = block_ind or followed_ws
                elif ch == "-" and followed_ws:
                    flow_ind = block_ind = True
            elif ch in ",?[]{}":
                flow_ind = True
            elif ch == ":":
                flow_ind = True
                block_ind = block_ind or followed_ws
            elif ch == "#" and preceded_ws:
                flow_ind = block_ind = True
            if not _printable(ch):
                special = True
            if ch == " ":
                leading = leading or i == 0
                trailing_space = trailing_space or i == last
                break_space = break_space or prev_break
                prev_space, prev_break = True, False
            elif ch in _BREAKS:
                line_breaks = True
                leading = leading or i == 0
                trailing_break = trailing_break or i == last
                space_break = space_break or prev_space
                prev_space, prev_break = False, True
            else:
                prev_space = prev_break = False
            preceded_ws = ch in " \t\0" or ch in _BREAKS
        self.multiline = line_breaks
        if leading or trailing_space or trailing_break:
            self.flow_plain = self.block_plain = False
        if trailing_space:
            self.block = False
        if break_space:
            self.flow_plain = self.block_plain = self.single = False
        if space_break or special:
            self.flow_plain = self.block_plain = self.single = self.block = False
        if line_breaks:
            self.flow_plain = self.block_plain = False
        if flow_ind:
            self.flow_plain = False
        if block_ind:
            self.block_plain = False


_ESCAPES = {
    "\0": "0",
    "\a": "a",
    "\b": "b",
    "\t": "t",
    "\n": "n",
    "\v": "v",
    "\f": "f",
    "\r": "r",
    "\x1b": "e",
    '"': '"',
    "\\": "\\",
    "\x85": "N",
    "\xa0": "_",
    "\u2028": "L",
    "\u2029": "P",
}


class _Emitter:
    """The block-style subset of libyaml's emitter that go-yaml's ``Marshal`` exercises."""

    def __init__(self, best_width: int) -> None:
        self.out: list[str] = []
        self.column = 0
        self.whitespace = True
        self.indention = True
        self.indent = -1
        self.indents: list[int] = []
        self.best_width = best_width
        self.mapping_context = False
        self.simple_key_context = False

    # primitives
    def put(self, text: str) -> None:
        self.out.append(text)
        self.column += len(text)

    def put_break(self) -> None:
        self.out.append("\n")
        self.column = 0

    def write_break(self, ch: str) -> None:
        if ch == "\n":
            self.put_break()
        else:
            self.out.append(ch)
            self.column = 0

    def indicator(self, text: str, need_ws: bool, is_ws: bool, is_indention: bool) -> None:
        if need_ws and not self.whitespace:
            self.put(" ")
        self.put(text)
        self.whitespace = is_ws
        self.indention = self.indention and is_indention

    def write_indent(self) -> None:
        indent = max(self.indent, 0)
        if (
            not self.indention
            or self.column > indent
            or (self.column == indent and not self.whitespace)
        ):
            self.put_break()
        while self.column < indent:
            self.put(" ")
        self.whitespace = self.indention = True

    def increase_indent(self, flow: bool, indentless: bool) -> None:
        self.indents.append(self.indent)
        if self.indent < 0:
            self.indent = 2 if flow else 0
        elif not indentless:
            self.indent += 2

    # nodes
    def node(self, value: Any, *, mapping: bool = False, simple_key: bool = False) -> None:
        self.mapping_context = mapping
        self.simple_key_context = simple_key
        if isinstance(value, Mapping):
            self.block_mapping(value)
        elif isinstance(value, list | tuple):
            self.block_sequence(value)
        else:
            self.scalar(*_scalar_event(value))

    def block_mapping(self, value: Mapping[Any, Any]) -> None:
        if not value:
            self.indicator("{", True, True, False)
            self.indicator("}", False, False, False)
            return
        self.increase_indent(False, False)
        for key in sorted(value, key=_KEY_ORDER):
            self.write_indent()
            if self.simple_key(key):
                self.node(key, mapping=True, simple_key=True)
                self.indicator(":", False, False, False)
            else:
                self.indicator("?", True, False, True)
                self.node(key, mapping=True)
                self.write_indent()
                self.indicator(":", True, False, True)
            self.node(value[key], mapping=True)
        self.indent = self.indents.pop()

    def block_sequence(self, value: list[Any] | tuple[Any, ...]) -> None:
        if not value:
            self.indicator("[", True, True, False)
            self.indicator("]", False, False, False)
            return
        self.increase_indent(False, self.mapping_context and not self.indention)
        for item in value:
            self.write_indent()
            self.indicator("-", True, False, True)
            self.node(item)
        self.indent = self.indents.pop()

    @staticmethod
    def simple_key(key: Any) -> bool:
        if isinstance(key, Mapping | list | tuple):
            return not key
        text, _ = _scalar_event(key)
        return not _Analysis(text).multiline and len(text.encode("utf-8", "replace")) <= 128

    def scalar(self, text: str, style: str) -> None:
        analysis = _Analysis(text)
        if self.simple_key_context and analysis.multiline:
            style = _DOUBLE
        if style == _PLAIN and (not analysis.block_plain or (not text and self.simple_key_context)):
            style = _SINGLE
        if style == _SINGLE and not analysis.single:
            style = _DOUBLE
        if style == _LITERAL and (not analysis.block or self.simple_key_context):
            style = _DOUBLE
        self.increase_indent(True, False)
        breaks = not self.simple_key_context
        if style == _PLAIN:
            self.plain(text, breaks)
        elif style == _SINGLE:
            self.single_quoted(text, breaks)
        elif style == _DOUBLE:
            self.double_quoted(text, breaks)
        else:
            self.literal(text)
        self.indent = self.indents.pop()

    def plain(self, text: str, allow_breaks: bool) -> None:
        if not self.whitespace:
            self.put(" ")
        spaces = breaks = False
        for i, ch in enumerate(text):
            if ch == " ":
                nxt = text[i + 1] if i + 1 < len(text) else ""
                if allow_breaks and not spaces and self.column > self.best_width and nxt != " ":
                    self.write_indent()
                else:
                    self.put(ch)
                spaces = True
            elif ch in _BREAKS:
                if not breaks and ch == "\n":
                    self.put_break()
                self.write_break(ch)
                self.indention = breaks = True
            else:
                if breaks:
                    self.write_indent()
                self.put(ch)
                self.indention = spaces = breaks = False
        self.whitespace = self.indention = False

    def single_quoted(self, text: str, allow_breaks: bool) -> None:
        self.indicator("'", True, False, False)
        spaces = breaks = False
        last = len(text) - 1
        for i, ch in enumerate(text):
            if ch == " ":
                if (
                    allow_breaks
                    and not spaces
                    and self.column > self.best_width
                    and 0 < i < last
                    and text[i + 1] != " "
                ):
                    self.write_indent()
                else:
                    self.put(ch)
                spaces = True
            elif ch in _BREAKS:
                if not breaks and ch == "\n":
                    self.put_break()
                self.write_break(ch)
                self.indention = breaks = True
            else:
                if breaks:
                    self.write_indent()
                self.put("''" if ch == "'" else ch)
                self.indention = spaces = breaks = False
        self.indicator("'", False, False, False)
        self.whitespace = self.indention = False

    def double_quoted(self, text: str, allow_breaks: bool) -> None:
        self.indicator('"', True, False, False)
        spaces = False
        last = len(text) - 1
        for i, ch in enumerate(text):
            if not _printable(ch) or ch == "\ufeff" or ch in _BREAKS or ch in '"\\':
                code = ord(ch)
                if ch in _ESCAPES:
                    self.put("\\" + _ESCAPES[ch])
                elif code <= 0xFF:
                    self.put(f"\\x{code:02X}")
                elif code <= 0xFFFF:
                    self.put(f"\\u{code:04X}")
                else:
                    self.put(f"\\U{code:08X}")
                spaces = False
            elif ch == " ":
                if allow_breaks and not spaces and self.column > self.best_width and 0 < i < last:
                    self.write_indent()
                    if text[i + 1] == " ":
                        self.put("\\")
                else:
                    self.put(ch)
                spaces = True
            else:
                self.put(ch)
                spaces = False
        self.indicator('"', False, False, False)
        self.whitespace = self.indention = False

    def literal(self, text: str) -> None:
        self.indicator("|", True, False, False)
        if text[0] == " " or text[0] in _BREAKS:
            self.indicator("2", False, False, False)
        if text[-1] not in _BREAKS:
            self.indicator("-", False, False, False)
        elif len(text) == 1 or text[-2] in _BREAKS:
            self.indicator("+", False, False, False)
        self.put_break()
        self.indention = self.whitespace = True
        breaks = True
        for ch in text:
            if ch in _BREAKS:
                self.write_break(ch)
                self.indention = breaks = True
            else:
                if breaks:
                    self.write_indent()
                self.put(ch)
                self.indention = breaks = False


def dump_yaml(value: Any, *, width: int | None = 80) -> str:
    """``value`` as ``bosh int`` prints it (go-yaml v2.4.0 ``yaml.Marshal``).

    ``width`` is where plain and quoted strings fold at a space (go-yaml's default 80);
    ``None`` never folds, as ``yaml.FutureLineWrap()`` would. ``None`` prints as ``null``.
    """
    emitter = _Emitter(best_width=2**31 - 1 if width is None else width)
    emitter.node(value)
    emitter.write_indent()
    return "".join(emitter.out)
