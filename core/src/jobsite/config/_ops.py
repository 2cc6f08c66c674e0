"""go-patch ops files (``-o``), as bosh-cli applies them (``cppforlife/go-patch`` v0.2.0).

The pointer syntax, the operations and every error text follow go-patch's ``patch`` package:
``pointer.go`` (tokens, ``?`` optionality that carries to the right, ``:prev``/``:next``/
``:before``/``:after`` modifiers, ``~0 ~1 ~2 ~3 ~7`` escapes for ``~ / ? = :``),
``replace_op.go``, ``remove_op.go``, ``find_op.go``, ``test_op.go``, ``array_index.go``,
``array_insertion.go`` (negative indexes count from the end; ``0:prev`` is the last item) and
``errs.go``. bosh-cli reads each ops file as a list of ``{type, path, value}`` (unknown keys,
such as the ``name:`` some ops files carry, are ignored) and names a failing operation by its
index in its file; jobsite says ``ops.yml: [3]: <go-patch's message>``.

Applying never mutates its input: the document is copied once, then edited in place exactly
as go-patch edits its own copy.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import attrs

from jobsite.config._yaml import describe_kind, fresh_copy, go_format_float, go_type_name
from jobsite.config._yaml import read_yaml as _read_yaml
from jobsite.errors import ConfigError, ConfigErrors, InterpolationError, format_path

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

__all__ = [
    "AfterLastIndexToken",
    "IndexToken",
    "KeyToken",
    "MatchingIndexToken",
    "Op",
    "PatchError",
    "Pointer",
    "PointerError",
    "apply_ops",
    "find_path",
    "parse_ops",
    "patch_find",
    "patch_remove",
    "patch_replace",
    "read_ops_file",
]

Modifier: TypeAlias = Literal["prev", "next", "before", "after"]
_MODIFIERS: tuple[Modifier, ...] = ("prev", "next", "before", "after")
_GO_MODIFIER = {m: f"patch.{m.capitalize()}Modifier" for m in _MODIFIERS}


class PointerError(ValueError):
    """A path that go-patch cannot parse; ``str()`` is go-patch's message."""


class PatchError(Exception):
    """An operation that does not fit the document; ``str()`` is go-patch's message.

    ``missing_at`` is set for go-patch's ``OpMissingMapKeyErr`` and ``OpMissingIndexErr``:
    the path that was not there (a ``test`` with ``absent: true`` wants exactly that).
    """

    def __init__(self, message: str, *, missing_at: Pointer | None = None) -> None:
        super().__init__(message)
        self.missing_at = missing_at


# --- pointers ---------------------------------------------------------------------------------


@attrs.frozen
class KeyToken:
    """``/key``: a map key; ``optional`` once any token so far ended in ``?``."""

    key: str
    optional: bool = False


@attrs.frozen
class IndexToken:
    """``/2``, ``/-1``, ``/0:next``: an array index, counted from the end when negative."""

    index: int
    modifiers: tuple[Modifier, ...] = ()


@attrs.frozen
class AfterLastIndexToken:
    """``/-`` as the last token: the position after the last item (append)."""


@attrs.frozen
class MatchingIndexToken:
    """``/name=web``: the one array item that is a map whose ``key`` is the string ``value``."""

    key: str
    value: str
    optional: bool = False
    modifiers: tuple[Modifier, ...] = ()


Token: TypeAlias = KeyToken | IndexToken | AfterLastIndexToken | MatchingIndexToken

_DECODE = re.compile(r"~[01237]")
_DECODED = {"~0": "~", "~1": "/", "~2": "?", "~3": "=", "~7": ":"}
_ENCODE = str.maketrans({"~": "~0", "/": "~1", "?": "~2", "=": "~3", ":": "~7"})
_ATOI = re.compile(r"[-+]?[0-9]+")


def _decode(text: str) -> str:
    return _DECODE.sub(lambda m: _DECODED[m.group()], text)


@attrs.frozen
class Pointer:
    """A parsed go-patch path; ``str()`` gives it back in go-patch's canonical spelling."""

    tokens: tuple[Token, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Pointer:
        """``NewPointerFromString``; raises :class:`PointerError` with go-patch's message."""
        if not text:
            return cls()
        if not text.startswith("/"):
            raise PointerError("Expected to start with '/'")
        pieces = text.split("/")[1:]
        tokens: list[Token] = []
        optional = False
        for i, piece in enumerate(pieces):
            tok, *mods = piece.split(":")
            modifiers: list[Modifier] = []
            for mod in mods:
                if mod not in _MODIFIERS:
                    raise PointerError(
                        "Expected to find one of the following modifiers: 'prev', 'next', "
                        f"'before', or 'after' but found '{mods[0]}'"
                    )
                modifiers.append(mod)
            if i == len(pieces) - 1 and tok == "-":
                if modifiers:
                    raise PointerError(
                        "Expected not to find any modifiers with after last index token"
                    )
                tokens.append(AfterLastIndexToken())
                continue
            if _ATOI.fullmatch(tok) and -(2**63) <= int(tok) < 2**63:
                tokens.append(IndexToken(int(tok), tuple(modifiers)))
                continue
            if tok.endswith("?"):
                optional = True
                tok = tok[:-1]
            key, eq, value = tok.partition("=")
            if eq:
                tokens.append(
                    MatchingIndexToken(_decode(key), _decode(value), optional, tuple(modifiers))
                )
                continue
            if modifiers:
                raise PointerError("Expected not to find any modifiers with key token")
            tokens.append(KeyToken(_decode(tok), optional))
        return cls(tuple(tokens))

    def __str__(self) -> str:
        parts = [""]
        optional_shown = False
        for token in self.tokens:
            mods = "".join(":" + m for m in getattr(token, "modifiers", ()))
            if isinstance(token, IndexToken):
                parts.append(f"{token.index}{mods}")
            elif isinstance(token, AfterLastIndexToken):
                parts.append("-")
            else:
                mark = ""
                if token.optional and not optional_shown:
                    mark, optional_shown = "?", True
                if isinstance(token, MatchingIndexToken):
                    key, value = token.key.translate(_ENCODE), token.value.translate(_ENCODE)
                    parts.append(f"{key}={value}{mark}{mods}")
                else:
                    parts.append(token.key.translate(_ENCODE) + mark)
        return "/".join(parts)

    def prefix(self, count: int) -> Pointer:
        """The first ``count`` tokens: the path up to where something failed."""
        return Pointer(self.tokens[:count])


# --- errors, as errs.go words them ------------------------------------------------------------


def _mismatch(kind: str, path: Pointer, obj: Any) -> PatchError:
    return PatchError(f"Expected to find {kind} at path '{path}' but found '{go_type_name(obj)}'")


def _missing_key(key: str, path: Pointer, obj: dict[Any, Any]) -> PatchError:
    keys = sorted(k for k in obj if isinstance(k, str))
    found = "found map keys: '" + "', '".join(keys) + "'" if obj else "found no other map keys"
    return PatchError(
        f"Expected to find a map key '{key}' for path '{path}' ({found})", missing_at=path
    )


def _missing_index(index: int, array: list[Any], path: Pointer) -> PatchError:
    return PatchError(
        f"Expected to find array index '{index}' but found array of length '{len(array)}' "
        f"for path '{path}'",
        missing_at=path,
    )


def _matching(token: MatchingIndexToken, array: list[Any]) -> list[int]:
    """Items that are maps whose ``key`` is the *string* ``value`` (Go compares interfaces)."""
    return [
        i
        for i, item in enumerate(array)
        if isinstance(item, dict)
        and isinstance(item.get(token.key), str)
        and item[token.key] == token.value
    ]


def _not_one(path: Pointer, count: int) -> PatchError:
    return PatchError(
        f"Expected to find exactly one matching array item for path '{path}' but found {count}"
    )


def _array_index(index: int, modifiers: Sequence[Modifier], array: list[Any], path: Pointer) -> int:
    """``ArrayIndex.Concrete``: apply ``:prev``/``:next``, then resolve negative indexes."""
    result = index
    for modifier in modifiers:
        if modifier == "prev":
            result -= 1
        elif modifier == "next":
            result += 1
        else:
            raise PatchError(
                "Expected to find one of the following modifiers: 'prev', 'next', but found "
                f"modifier '{_GO_MODIFIER[modifier]}'"
            )
    if result >= len(array) or -result - 1 >= len(array):
        raise _missing_index(result, array, path)
    return result + len(array) if result < 0 else result


def _insert_or_set(
    index: int, modifiers: Sequence[Modifier], array: list[Any], path: Pointer, value: Any
) -> list[Any]:
    """``ArrayInsertion``: ``:before``/``:after`` insert, otherwise the item is replaced."""
    plain: list[Modifier] = []
    before = after = False
    for modifier in modifiers:
        if before or after:
            which = "before" if before else "after"
            raise PatchError(
                f"Expected to not find any modifiers after '{which}' modifier, but found "
                f"modifier '{_GO_MODIFIER[modifier]}'"
            )
        if modifier == "before":
            before = True
        elif modifier == "after":
            after = True
        else:
            plain.append(modifier)
    number = _array_index(index, plain, array, path)
    if after and number != len(array):
        number += 1
    if before or after:
        return [*array[:number], value, *array[number:]]
    array[number] = value
    return array


# --- operations, on a document go-patch may edit in place -------------------------------------


def _clone(value: Any) -> Any:
    """go-patch clones a replace value through YAML: a fresh copy, integral floats as ints."""
    if isinstance(value, float) and not isinstance(value, bool):
        text = go_format_float(value)
        return int(text) if re.fullmatch(r"-?[0-9]+", text) else value
    if isinstance(value, dict):
        return {_clone(k): _clone(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clone(v) for v in value]
    return value


def patch_replace(doc: Any, path: Pointer, value: Any) -> Any:
    """``ReplaceOp.Apply``: returns the new root; ``doc`` itself may be edited."""
    value = _clone(value)
    tokens = path.tokens
    if not tokens:
        return value
    root = [doc]
    obj = doc
    update = _setter(root, 0)
    for i, token in enumerate(tokens):
        last = i == len(tokens) - 1
        here = path.prefix(i + 1)
        if isinstance(token, IndexToken):
            if not isinstance(obj, list):
                raise _mismatch("an array", here, obj)
            if last:
                update(_insert_or_set(token.index, token.modifiers, obj, here, value))
            else:
                idx = _array_index(token.index, token.modifiers, obj, here)
                update = _setter(obj, idx)
                obj = obj[idx]
        elif isinstance(token, AfterLastIndexToken):
            if not isinstance(obj, list):
                raise _mismatch("an array", here, obj)
            if not last:
                raise PatchError(f"Expected after last index token to be last in path '{path}'")
            update([*obj, value])
        elif isinstance(token, MatchingIndexToken):
            if not isinstance(obj, list):
                raise _mismatch("an array", here, obj)
            idxs = _matching(token, obj)
            if token.optional and not idxs:
                if last:
                    update([*obj, value])
                else:
                    item = {token.key: token.value}
                    update([*obj, item])
                    obj = item  # go-patch keeps ``update``: a matched item is a map
                continue
            if len(idxs) != 1:
                raise _not_one(here, len(idxs))
            if last:
                update(_insert_or_set(idxs[0], token.modifiers, obj, here, value))
            else:
                obj = obj[_array_index(idxs[0], token.modifiers, obj, here)]
        else:
            if not isinstance(obj, dict):
                raise _mismatch("a map", here, obj)
            found = token.key in obj
            if not found and not token.optional:
                raise _missing_key(token.key, here, obj)
            if last:
                obj[token.key] = value
                continue
            update = _setter(obj, token.key)
            if not found:
                following = tokens[i + 1]
                if isinstance(following, AfterLastIndexToken | MatchingIndexToken):
                    obj[token.key] = []
                elif isinstance(following, KeyToken):
                    obj[token.key] = {}
                else:
                    raise PatchError(
                        "Expected to find key, matching index or after last index token at "
                        f"path '{path.prefix(i + 2)}'"
                    )
            obj = obj[token.key]
    return root[0]


def _setter(container: Any, where: Any) -> Callable[[Any], None]:
    def update(new: Any) -> None:
        container[where] = new

    return update


def patch_remove(doc: Any, path: Pointer) -> Any:
    """``RemoveOp.Apply``: returns the new root; ``doc`` itself may be edited."""
    tokens = path.tokens
    if not tokens:
        raise PatchError("Cannot remove entire document")
    root = [doc]
    obj = doc
    update = _setter(root, 0)
    for i, token in enumerate(tokens):
        last = i == len(tokens) - 1
        here = path.prefix(i + 1)
        if isinstance(token, IndexToken | MatchingIndexToken):
            if not isinstance(obj, list):
                raise _mismatch("an array", here, obj)
            if isinstance(token, MatchingIndexToken):
                idxs = _matching(token, obj)
                if token.optional and not idxs:
                    return root[0]
                if len(idxs) != 1:
                    raise _not_one(here, len(idxs))
                idx = _array_index(idxs[0], token.modifiers, obj, here)
            else:
                idx = _array_index(token.index, token.modifiers, obj, here)
                if not last:
                    update = _setter(obj, idx)
            if last:
                update([*obj[:idx], *obj[idx + 1 :]])
            else:
                obj = obj[idx]
        elif isinstance(token, KeyToken):
            if not isinstance(obj, dict):
                raise _mismatch("a map", here, obj)
            if token.key not in obj:
                if token.optional:
                    return root[0]
                raise _missing_key(token.key, here, obj)
            if last:
                del obj[token.key]
            else:
                update = _setter(obj, token.key)
                obj = obj[token.key]
        else:
            raise PatchError(
                f"Expected to not find token 'patch.AfterLastIndexToken' at path '{here}'"
            )
    return root[0]


def patch_find(doc: Any, path: Pointer) -> Any:
    """``FindOp.Apply``: the value at ``path`` (never edits ``doc``)."""
    tokens = path.tokens
    obj = doc
    for i, token in enumerate(tokens):
        last = i == len(tokens) - 1
        here = path.prefix(i + 1)
        if isinstance(token, IndexToken):
            if not isinstance(obj, list):
                raise _mismatch("an array", here, obj)
            obj = obj[_array_index(token.index, token.modifiers, obj, here)]
        elif isinstance(token, AfterLastIndexToken):
            raise PatchError(
                f"Expected not to find after last index token in path '{path}' "
                "(not supported in find operations)"
            )
        elif isinstance(token, MatchingIndexToken):
            if not isinstance(obj, list):
                raise _mismatch("an array", here, obj)
            idxs = _matching(token, obj)
            if token.optional and not idxs:
                obj = {token.key: token.value}
            elif len(idxs) != 1:
                raise _not_one(here, len(idxs))
            else:
                obj = obj[_array_index(idxs[0], token.modifiers, obj, here)]
        else:
            if not isinstance(obj, dict):
                raise _mismatch("a map", here, obj)
            if token.key in obj:
                obj = obj[token.key]
            elif not token.optional:
                raise _missing_key(token.key, here, obj)
            elif last:
                return None
            elif isinstance(tokens[i + 1], MatchingIndexToken):
                obj = []
            elif isinstance(tokens[i + 1], KeyToken):
                obj = {}
            else:
                raise PatchError(
                    f"Expected to find key or matching index token at path '{path.prefix(i + 2)}'"
                )
        if last:
            return obj
    return doc


def _go_equal(a: Any, b: Any) -> bool:
    """``reflect.DeepEqual`` on decoded YAML: 1, 1.0 and true are three different values."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_go_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_go_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def _test(doc: Any, op: Op) -> None:
    """``TestOp.Apply``: the value at ``path`` equals ``value``, or (``absent``) is not there."""
    if op.absent:
        try:
            patch_find(doc, op.path)
        except PatchError as exc:
            if exc.missing_at is not None and str(exc.missing_at) == str(op.path):
                return
            raise
        raise PatchError(f"Expected to not find '{op.path}'")
    if not _go_equal(patch_find(doc, op.path), op.value):
        raise PatchError("Found value does not match expected value")


# --- ops files --------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Op:
    """One go-patch operation and where it came from (``document``, position ``index``)."""

    type: Literal["replace", "remove", "test"]
    path: Pointer
    value: Any = None
    absent: bool = False
    document: str = ""
    index: int = 0

    def apply(self, doc: Any) -> Any:
        """Apply to ``doc`` in place where go-patch would; returns the new root."""
        if self.type == "replace":
            return patch_replace(doc, self.path, self.value)
        if self.type == "remove":
            return patch_remove(doc, self.path)
        _test(doc, self)
        return doc


class _Bad(Exception):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _text(op: dict[Any, Any], field: str) -> str | None:
    """A field as go-yaml decodes a scalar into a Go ``*string`` (``None`` when absent/null)."""
    value = op.get(field)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_format_float(value)
    raise _Bad(f"Expected a string but found {describe_kind(value)}", field)


def _parse_op(item: Any, index: int, document: str) -> Op:
    if not isinstance(item, dict):
        raise _Bad(
            f"Expected an operation (a map with type, path and value) but found "
            f"{describe_kind(item)}"
        )
    kind = _text(item, "type") or ""
    path = _text(item, "path")
    value = item.get("value")
    absent = item.get("absent") is True
    if kind not in ("replace", "remove", "test"):
        raise _Bad(
            f"Unknown operation type '{kind}' (expected 'replace', 'remove' or 'test')", "type"
        )
    if path is None:
        raise _Bad("Missing path", "path")
    if kind == "replace" and value is None:
        raise _Bad("Missing value", "value")
    if kind == "remove" and value is not None:
        raise _Bad("Cannot specify value", "value")
    if kind == "test" and value is None and not absent:
        raise _Bad("Missing value or absent", "value")
    try:
        pointer = Pointer.parse(path)
    except PointerError as exc:
        raise _Bad(f"Invalid path: {exc}", "path") from None
    return Op(
        type=kind,  # type: ignore[arg-type]
        path=pointer,
        value=value,
        absent=absent,
        document=document,
        index=index,
    )


def parse_ops(ops: Any, *, document: str) -> tuple[Op, ...]:
    """Operations from a parsed ops file: a YAML list of ``{type, path, value}``.

    Every malformed operation is reported (``ops.yml: [3].path: Missing path``), all at once.
    """
    if ops is None:
        return ()
    if not isinstance(ops, list):
        raise ConfigError(
            f"Expected a list of operations but found {describe_kind(ops)}", document=document
        )
    parsed: list[Op] = []
    errors: list[ConfigError] = []
    for index, item in enumerate(ops):
        try:
            parsed.append(_parse_op(item, index, document))
        except _Bad as bad:
            where = format_path([index] if bad.field is None else [index, bad.field])
            errors.append(ConfigError(bad.message, document=document, path=where))
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ConfigErrors(errors)
    return tuple(parsed)


def read_ops_file(path: Path | str) -> tuple[Op, ...]:
    """Read and parse an ops file; its errors name the file as given."""
    name = str(path)
    return parse_ops(_read_yaml(path, document=name), document=name)


def apply_ops(document: Any, ops: Sequence[Op]) -> Any:
    """Apply ``ops`` in order to a copy of ``document`` and return it (bosh's ``Ops.Apply``).

    The first failing operation stops everything, as in bosh, with an
    :class:`InterpolationError` such as ``ops.yml: [1]: Expected to find a map key 'x' for
    path '/a/x' (found map keys: 'b', 'c')``.
    """
    doc = fresh_copy(document)
    for op in ops:
        try:
            doc = op.apply(doc)
        except PatchError as exc:
            raise InterpolationError(str(exc), document=op.document, path=f"[{op.index}]") from None
    return doc


def find_path(document: Any, path: str, *, document_name: str = "") -> Any:
    """The value at go-patch ``path`` (``bosh int --path``); a copy, never shared."""
    try:
        pointer = Pointer.parse(path)
    except PointerError as exc:
        raise InterpolationError(f"Invalid path '{path}': {exc}", document=document_name) from None
    try:
        return fresh_copy(patch_find(document, pointer))
    except PatchError as exc:
        raise InterpolationError(str(exc), document=document_name) from None
