"""``((variables))``: where their values come from and how they are substituted, as in bosh-cli.

Rules taken from bosh-cli (``cloudfoundry/bosh-cli``):

- ``-v NAME=VALUE`` (``director/template/var_kv.go``): the value is parsed as YAML, so
  ``port=8080`` is the integer 8080, ``on=true`` a boolean and ``tags=[a, b]`` a list; when
  that YAML is a string the raw text is kept instead (newlines survive) with one pair of
  wrapping quotes removed (``name="val"`` and ``name='val'`` are ``val``).
- ``--var-file NAME=PATH`` (``var_file_arg.go``): the file's content, a string, never parsed.
- ``-l/--vars-file PATH`` (``vars_file_arg.go``): a YAML map of names to values.
- ``--vars-env PREFIX`` (``vars_env_arg.go``): every ``PREFIX_name`` environment variable,
  its value parsed as YAML (so ``8080`` is an integer and ``a\\nb`` is ``"a b"``).
- Precedence (``cmd/opts/var_flags.go`` ``AsVariables``): ``--vars-env`` < ``-l`` <
  ``--var-file`` < ``-v``; within one flag, later occurrences win.
- A name with dots (``-v a.b=1``) is nested: it sets key ``b`` of variable ``a``
  (``static_vars.go`` ``processed``; bosh's result depends on Go map order when ``a`` is also
  set, jobsite merges the dotted names into ``a`` after the plain ones).

Substitution (``director/template/template.go``, ``Evaluate`` and ``interpolateRoot``):

- Every string is scanned for ``((name))``, map keys included. A string that is exactly one
  ``((name))`` becomes the value itself, with its type; inside a longer string only strings
  and integers may be spliced in, anything else is an error (``Invalid type 'float64' for
  value '2.5' and variable 'x'. Supported types ...``).
- ``((!name))`` is the same variable as ``((name))``: the CLI strips the ``!`` (it matters only
  to the director's config server).
- ``((a.b.c))`` reads variable ``a`` then the go-patch path ``/b/c`` inside it (integers are
  indexes, ``name=x`` selects list items); when that fails the integers are retried as map
  keys; a missing key is an error (``Finding variable 'a.b': Expected to find a map key ...``)
  whereas a missing ``a`` leaves the text as it is.
- The manifest's own ``variables:`` definitions take part: each typed definition is looked
  up first (in order), a definition whose ``options`` use a variable that has no value is
  itself treated as not found, and every definition whose variable *was* found is removed
  from ``variables:`` in the result, so the director does not generate it again.
- With ``--var-errs`` every variable left without a value, in the whole document, is listed
  in one error: ``Expected to find variables: a, b`` (bosh puts one name per line).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from jobsite.config._ops import (
    IndexToken,
    KeyToken,
    MatchingIndexToken,
    PatchError,
    Pointer,
    PointerError,
    patch_find,
    patch_remove,
)
from jobsite.config._yaml import (
    describe_kind,
    fresh_copy,
    go_format_float,
    go_type_name,
    go_value_text,
    parse_yaml,
    read_text,
    read_yaml,
)
from jobsite.errors import ConfigError, ConfigErrors, InterpolationError, format_path

__all__ = ["Variables", "substitute", "variables_from_cli"]

# template.go: `\(\((!?[-/\.\w\pL]+)\)\)`; Go's \w is ASCII, \pL any letter.
_NAME = r"(?:[-/.0-9A-Za-z_]|[^\W\d_])+"
_VARIABLE = re.compile(r"\(\((!?" + _NAME + r")\)\)")


class Variables(Mapping[str, Any]):
    """Variable name to value: immutable, and ``repr`` shows names only (values are secrets).

    Names containing dots are nested on construction (``{"a.b": 1}`` is ``{"a": {"b": 1}}``),
    as bosh's static variables are. Values handed out are copies.
    """

    __slots__ = ("_values",)
    _values: dict[str, Any]

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        nested: dict[str, Any] = {}
        items = list((values or {}).items())
        for name, value in items:
            if "." not in name:
                nested[name] = fresh_copy(value)
        for name, value in items:
            if "." in name:
                *parents, leaf = name.split(".")
                ref = nested
                for part in parents:
                    if not isinstance(ref.get(part), dict):
                        ref[part] = {}
                    ref = ref[part]
                ref[leaf] = fresh_copy(value)
        object.__setattr__(self, "_values", nested)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Variables is immutable")

    def __getitem__(self, name: str) -> Any:
        return fresh_copy(self._values[name])

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Variables({sorted(self._values)})"

    def lookup(self, name: str) -> Any:
        """The value of ``((name))``, dotted paths included (``a.b.0`` reads inside ``a``).

        Raises ``KeyError`` when the variable itself is not set, and
        :class:`InterpolationError` when it is set but the path inside it is not there.
        """
        head, *rest = name.split(".")
        if head not in self._values:
            raise KeyError(head)
        try:
            return fresh_copy(_inside(self._values[head], rest))
        except _Failure as failure:
            raise InterpolationError(f"Finding variable '{name}': {failure}") from None


class _Failure(Exception):
    """An interpolation error with bosh's wording, before it is given a place."""


def _inside(value: Any, parts: Sequence[str]) -> Any:
    """``varsLookup.Get``'s path into a found value, with its retry of indexes as keys."""
    if not parts:
        return value
    try:
        pointer = Pointer.parse("/" + "/".join(parts))
    except PointerError as exc:
        raise _Failure(str(exc)) from None
    try:
        return patch_find(value, pointer)
    except PatchError:
        keys = tuple(
            KeyToken(str(t.index)) if isinstance(t, IndexToken) else t for t in pointer.tokens
        )
        try:
            return patch_find(value, Pointer(keys))
        except PatchError as exc:
            raise _Failure(str(exc)) from None


# --- where values come from -------------------------------------------------------------------


def _yaml_value(text: str) -> Any:
    """A flag value parsed as YAML; raises ``ConfigError`` without a document name."""
    return parse_yaml(text, document="")


def _var_kv(arg: str) -> tuple[str, Any]:
    name, eq, raw = arg.partition("=")
    if not eq:
        raise ConfigError(f"Expected var '{arg}' to be in format 'name=value'", document="--var")
    if not name:
        raise ConfigError(f"Expected var '{arg}' to specify non-empty name", document="--var")
    if not raw:
        raise ConfigError(f"Expected var '{arg}' to specify non-empty value", document="--var")
    try:
        value = _yaml_value(raw)
    except ConfigError as exc:
        raise ConfigError(f"Deserializing variables '{arg}': {exc}", document="--var") from None
    if isinstance(value, str):
        quoted = len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'"
        return name, raw[1:-1] if quoted else raw
    return name, value


def _var_file(arg: str) -> tuple[str, str]:
    name, eq, path = arg.partition("=")
    if not eq:
        raise ConfigError(
            f"Expected var '{arg}' to be in format 'name=path'", document="--var-file"
        )
    if not name:
        raise ConfigError(f"Expected var '{arg}' to specify non-empty name", document="--var-file")
    if not path:
        raise ConfigError(f"Expected var '{arg}' to specify non-empty path", document="--var-file")
    return name, read_text(os.path.expanduser(path), document=f"--var-file {arg}")


def _go_string(value: Any) -> str:
    """A scalar decoded into a Go ``string`` (as vars-file keys and definition names are)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_format_float(value)
    return str(value)


def _vars_file(path: Path) -> dict[str, Any]:
    data = read_yaml(path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"Expected a map of variable names to values but found {describe_kind(data)}",
            document=str(path),
        )
    return {_go_string(k): v for k, v in data.items()}


def _vars_env(prefix: str, environ: Mapping[str, str]) -> dict[str, Any]:
    if not prefix:
        raise ConfigError(
            "Expected environment variable prefix to be non-empty", document="--vars-env"
        )
    found: dict[str, Any] = {}
    for key, raw in environ.items():
        if not key.startswith(prefix + "_"):
            continue
        try:
            found[key[len(prefix) + 1 :]] = _yaml_value(raw)
        except ConfigError as exc:
            raise ConfigError(
                f"Deserializing YAML from environment variable '{key}': {exc}",
                document="--vars-env",
            ) from None
    return found


def variables_from_cli(
    *,
    var: Sequence[str] = (),
    vars_files: Sequence[Path] = (),
    vars_env: Sequence[str] = (),
    var_files: Sequence[str] = (),
    environ: Mapping[str, str],
) -> Variables:
    """The variables bosh's ``-v``, ``-l``, ``--vars-env`` and ``--var-file`` flags give.

    Every malformed flag is reported, all at once, one line each.
    """
    merged: dict[str, Any] = {}
    errors: list[ConfigError] = []

    def take(read: Callable[..., Mapping[str, Any]], *args: Any) -> None:
        try:
            merged.update(read(*args))
        except ConfigErrors as exc:
            errors.extend(exc.errors)
        except ConfigError as exc:
            errors.append(exc)

    for prefix in vars_env:
        take(_vars_env, prefix, environ)
    for path in vars_files:
        take(_vars_file, Path(path))
    for arg in var_files:
        take(lambda a: dict([_var_file(a)]), arg)
    for arg in var:
        take(lambda a: dict([_var_kv(a)]), arg)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ConfigErrors(errors)
    return Variables(merged)


# --- substitution -----------------------------------------------------------------------------


@attrs.frozen
class _Definition:
    """An entry of the manifest's ``variables:`` section, as bosh unmarshals it."""

    name: str
    type: str
    options: Any


def _definitions(document: Any, document_name: str) -> tuple[_Definition, ...]:
    if not isinstance(document, dict) or document.get("variables") is None:
        return ()
    section = document["variables"]
    if not isinstance(section, list):
        raise InterpolationError(
            f"Expected a list of variable definitions but found {describe_kind(section)}",
            document=document_name,
            path="variables",
        )
    found: list[_Definition] = []
    for index, item in enumerate(section):
        if item is None:
            item = {}
        if not isinstance(item, dict):
            raise InterpolationError(
                f"Expected a variable definition (a map) but found {describe_kind(item)}",
                document=document_name,
                path=format_path(["variables", index]),
            )
        for field in ("name", "type"):
            if isinstance(item.get(field), dict | list):
                raise InterpolationError(
                    f"Expected a string but found {describe_kind(item[field])}",
                    document=document_name,
                    path=format_path(["variables", index, field]),
                )
        found.append(
            _Definition(
                _go_string(item.get("name")), _go_string(item.get("type")), item.get("options")
            )
        )
    return tuple(found)


class _Tracker:
    """bosh's ``varsTracker``: looks variables up and remembers which were missing."""

    def __init__(
        self,
        variables: Variables,
        definitions: tuple[_Definition, ...],
        visited: frozenset[str] = frozenset(),
    ) -> None:
        self.variables = variables
        self.definitions = definitions
        self.visited = visited
        self.missing: set[str] = set()

    def get(self, name: str) -> tuple[bool, Any]:
        if name in self.visited:
            raise _Failure("Detected recursion")
        scoped = _Tracker(self.variables, self.definitions, self.visited | {name})
        definition = next((d for d in self.definitions if d.name == name), None)
        if definition is not None and definition.options is not None:
            try:
                _walk(definition.options, scoped, [], _raise)
            except _Failure as failure:
                raise _Failure(
                    f"Interpolating variable '{name}' definition options: {failure}"
                ) from None
        if scoped.missing:
            return False, None
        if name not in self.variables:
            self.missing.add(name)
            return False, None
        return True, self.variables[name]

    def lookup(self, name: str) -> tuple[bool, Any]:
        head, *rest = name.split(".")
        found, value = self.get(head)
        if not found:
            return False, None
        return True, _inside(value, rest)


def _raise(path: list[Any], message: str) -> None:
    raise _Failure(message)


_Report = Callable[[list[Any], str], None]


def _walk(node: Any, tracker: _Tracker, path: list[Any], report: _Report) -> Any:
    """``interpolator.Interpolate`` on a copy: values first, then keys, as bosh does."""
    if isinstance(node, dict):
        result: dict[Any, Any] = {}
        for key, value in node.items():
            here = [*path, key if isinstance(key, str) else go_value_text(key)]
            new_value = _walk(value, tracker, here, report)
            new_key = _walk(key, tracker, here, report)
            try:
                hash(new_key)
            except TypeError:
                report(
                    here,
                    f"Cannot use {describe_kind(new_key)} as a map key (from '{key}')",
                )
                new_key = key
            result[new_key] = new_value
        return result
    if isinstance(node, list):
        return [_walk(item, tracker, [*path, i], report) for i, item in enumerate(node)]
    if isinstance(node, str):
        return _splice(node, tracker, path, report)
    return node


def _splice(text: str, tracker: _Tracker, path: list[Any], report: _Report) -> Any:
    current = text
    for match in _VARIABLE.finditer(text):
        name = match.group(1).removeprefix("!")
        try:
            found, value = tracker.lookup(name)
        except _Failure as failure:
            report(path, f"Finding variable '{name}': {failure}")
            return text
        if not found:
            continue
        if _VARIABLE.fullmatch(current):
            return fresh_copy(value)
        if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
            spliced = str(value)
            current = current.replace(f"(({name}))", spliced).replace(f"((!{name}))", spliced)
        else:
            report(
                path,
                f"Invalid type '{go_type_name(value)}' for value '{go_value_text(value)}' and "
                f"variable '{name}'. Supported types for interpolation within a string are "
                "integers and strings.",
            )
            return text
    return current


def substitute(
    document: Any, variables: Variables, *, expect_all: bool = False, document_name: str = ""
) -> Any:
    """Replace every ``((variable))`` in (a copy of) ``document``, as bosh-cli does.

    Variables without a value stay as ``((name))`` text, unless ``expect_all``: then one
    :class:`InterpolationError` lists them all. Other problems (a value that cannot be spliced
    into a string, a missing key inside a found variable) are reported together, each at its
    place in the document.
    """
    definitions = _definitions(document, document_name)
    tracker = _Tracker(variables, definitions)

    def fail(failure: _Failure) -> InterpolationError:
        return InterpolationError(
            f"Getting all variables from variable definitions sections: {failure}",
            document=document_name,
            path="variables",
        )

    for definition in definitions:
        if definition.type:
            try:
                tracker.get(definition.name)
            except _Failure as failure:
                raise fail(failure) from None
    errors: list[ConfigError] = []

    def report(path: list[Any], message: str) -> None:
        errors.append(InterpolationError(message, document=document_name, path=format_path(path)))

    result = _walk(document, tracker, [], report)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ConfigErrors(errors)
    for definition in definitions:
        try:
            found, _ = tracker.get(definition.name)
        except _Failure as failure:
            raise fail(failure) from None
        if found:
            where = Pointer((KeyToken("variables"), MatchingIndexToken("name", definition.name)))
            try:
                result = patch_remove(result, where)
            except PatchError as exc:
                raise InterpolationError(str(exc), document=document_name) from None
    if expect_all and tracker.missing:
        names = ", ".join(sorted(tracker.missing))
        raise InterpolationError(f"Expected to find variables: {names}", document=document_name)
    return result
