"""The one cattrs converter that turns YAML documents into jobsite's frozen config models.

Why our own hooks instead of cattrs' defaults: cattrs happily turns ``"false"`` into ``True``
and ``3`` into ``"3"``; BOSH rejects both, and a deploy planned from a silently coerced value is
worse than an error. So scalars are strict, lists and maps are checked before they are walked,
and every failure is collected (``detailed_validation``) and translated into a
:class:`~jobsite.errors.ConfigError` with the path a user reads
(``instance_groups[2].instances``) instead of a Python exception.

Unknown keys are *warnings*, not errors: BOSH accepts them, and manifests in the wild carry
keys for other tools. A warning with a did-you-mean still catches the typo
(``instance_groups[0].vm_typ``). To know both the unknown keys and the structured value, a
document goes through a converter that forbids extra keys first; when extra keys are its only
complaint, a lenient converter structures it again (documents are small, the second pass is
cheap and only happens when there is something to warn about).
"""

from __future__ import annotations

import difflib
import re
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, Literal, TypeVar, cast, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import (
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn

from jobsite.errors import ConfigError, format_path

__all__ = [
    "ConfigWarning",
    "Invalid",
    "Structured",
    "describe_value",
    "structure_document",
    "unresolved_message",
]

T = TypeVar("T")

_VARIABLE = re.compile(r"\(\((!?[-/.\w\[\]]+)\)\)")

PathParts = tuple[str | int, ...]


@attrs.frozen(kw_only=True)
class ConfigWarning:
    """Something accepted but probably not meant: an unknown key, a deprecated form.

    Printed to standard error by commands; never stops anything, as BOSH would not.
    """

    message: str
    document: str = ""
    path: str = ""
    hint: str = ""

    def __str__(self) -> str:
        where = ": ".join(p for p in (self.document, self.path) if p)
        text = f"{where}: {self.message}" if where else self.message
        return f"{text} ({self.hint})" if self.hint else text


class Invalid(ValueError):
    """A value of the wrong shape; ``str()`` is the user-facing message (no path: the
    converter adds it)."""


@attrs.frozen(kw_only=True)
class Structured(Generic[T]):
    """A document structured into a model: the value (None when there were errors), every
    error and every warning found in it."""

    value: T | None
    errors: tuple[ConfigError, ...] = ()
    warnings: tuple[ConfigWarning, ...] = ()


def describe_value(value: object) -> str:
    """How a YAML value reads in an error: ``'three' (a string)``, ``true (a boolean)``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{'true' if value else 'false'} (a boolean)"
    if isinstance(value, int):
        return f"{value} (an integer)"
    if isinstance(value, float):
        return f"{value} (a number)"
    if isinstance(value, str):
        return f"{value!r} (a string)"
    if isinstance(value, Mapping):
        return "a map"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def unresolved_message(value: object) -> str | None:
    """The message for a value still holding ``((name))``, or None when it holds none."""
    if isinstance(value, str):
        found = _VARIABLE.search(value)
        if found:
            return (
                f"{found.group(0)} is an unresolved variable (give it a value with -v, -l, "
                "--var-file or --vars-env)"
            )
    return None


def _unresolved(value: object) -> None:
    """A typed field holding ``((name))`` means a variable was not given: say that, not
    "expected an integer"."""
    message = unresolved_message(value)
    if message is not None:
        raise Invalid(message)


def _strict_str(value: Any, _: Any) -> str:
    if isinstance(value, str):
        return value
    raise Invalid(f"expected a string, got {describe_value(value)}")


def _strict_int(value: Any, _: Any) -> int:
    if type(value) is int:
        return value
    _unresolved(value)
    raise Invalid(f"expected an integer, got {describe_value(value)}")


def _strict_float(value: Any, _: Any) -> float:
    if type(value) in (int, float):
        return float(value)
    _unresolved(value)
    raise Invalid(f"expected a number, got {describe_value(value)}")


def _strict_bool(value: Any, _: Any) -> bool:
    if type(value) is bool:
        return value
    _unresolved(value)
    raise Invalid(f"expected true or false, got {describe_value(value)}")


def _any(value: Any, _: Any) -> Any:
    return value


def _mapping(value: Any, _: Any) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    _unresolved(value)
    raise Invalid(f"expected a map, got {describe_value(value)}")


def _is_variadic_tuple(tp: Any) -> bool:
    args = get_args(tp)
    return get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis


def _tuple_factory(tp: Any, converter: cattrs.Converter) -> Callable[[Any, Any], tuple[Any, ...]]:
    item_type = get_args(tp)[0]
    hook = converter.get_structure_hook(item_type)

    def structure(value: Any, _: Any) -> tuple[Any, ...]:
        if not isinstance(value, list | tuple):
            _unresolved(value)
            raise Invalid(f"expected a list, got {describe_value(value)}")
        items: list[Any] = []
        errors: list[Exception] = []
        for index, item in enumerate(value):
            try:
                items.append(hook(item, item_type))
            except Exception as exc:
                exc.__notes__ = [
                    *getattr(exc, "__notes__", []),
                    IterableValidationNote(f"Structuring {tp} @ index {index}", index, item_type),
                ]
                errors.append(exc)
        if errors:
            raise IterableValidationError(f"While structuring {tp!r}", errors, tp)
        return tuple(items)

    return structure


def _literal_factory(tp: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    allowed = get_args(tp)

    def structure(value: Any, _: Any) -> Any:
        if value in allowed and type(value) in {type(a) for a in allowed}:
            return value
        _unresolved(value)
        choices = ", ".join(str(a) for a in allowed)
        raise Invalid(f"must be one of {choices}; got {describe_value(value)}")

    return structure


def _attrs_factory(forbid: bool) -> Callable[[Any, cattrs.Converter], Callable[[Any, Any], Any]]:
    def factory(cl: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
        inner = make_dict_structure_fn(cl, converter, _cattrs_forbid_extra_keys=forbid)

        def structure(value: Any, _: Any) -> Any:
            if not isinstance(value, Mapping):
                _unresolved(value)
                raise Invalid(f"expected a map, got {describe_value(value)}")
            return inner(value, cl)

        return structure

    return factory


def _is_mapping(tp: Any) -> bool:
    origin: Any = get_origin(tp)
    return origin is Mapping or origin is dict or origin is typing.Mapping


def _is_literal(tp: Any) -> bool:
    origin: Any = get_origin(tp)
    return origin is Literal


def _make_converter(*, forbid_extra_keys: bool) -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=True, forbid_extra_keys=forbid_extra_keys)
    conv.register_structure_hook(str, _strict_str)
    conv.register_structure_hook(int, _strict_int)
    conv.register_structure_hook(float, _strict_float)
    conv.register_structure_hook(bool, _strict_bool)
    conv.register_structure_hook(Any, _any)
    conv.register_structure_hook_func(_is_mapping, _mapping)
    conv.register_structure_hook_factory(_is_variadic_tuple, _tuple_factory)
    conv.register_structure_hook_factory(_is_literal, cast("Any", _literal_factory))
    conv.register_structure_hook_factory(attrs.has, _attrs_factory(forbid_extra_keys))
    for cls, hook in _VALUE_HOOKS.items():
        conv.register_structure_hook(cls, hook)
    return conv


_VALUE_HOOKS: dict[type[Any], Callable[[Any, Any], Any]] = {}


def value_hook(cls: type[T]) -> Callable[[Callable[[Any], T]], Callable[[Any], T]]:
    """Register how a small value type (``WatchTime``, ``MaxInFlight``) is read from YAML.

    Must be used before the first document is structured (at import of the model modules).
    """

    def decorate(parse: Callable[[Any], T]) -> Callable[[Any], T]:
        def hook(value: Any, _: Any) -> T:
            _unresolved(value)
            return parse(value)

        _VALUE_HOOKS[cls] = hook
        return parse

    return decorate


_converters: dict[bool, cattrs.Converter] = {}


def _converter(forbid_extra_keys: bool) -> cattrs.Converter:
    conv = _converters.get(forbid_extra_keys)
    if conv is None:
        conv = _converters[forbid_extra_keys] = _make_converter(forbid_extra_keys=forbid_extra_keys)
    return conv


def _leaves(exc: BaseException, path: PathParts) -> Iterator[tuple[PathParts, BaseException]]:
    """Walk cattrs' nested exception groups down to each failure and the path to it."""
    if isinstance(exc, ClassValidationError):
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            yield from _leaves(sub, (*path, note.name))
        for sub in without:
            yield from _leaves(sub, path)
    elif isinstance(exc, IterableValidationError):
        with_notes_i, without = exc.group_exceptions()
        for sub, inote in with_notes_i:
            yield from _leaves(sub, (*path, inote.index))
        for sub in without:
            yield from _leaves(sub, path)
    else:
        yield path, exc


def _field_names(cl: type[Any]) -> list[str]:
    return [f.alias or f.name for f in attrs.fields(cl)]


def _translate(
    exc: BaseException, document: str, root: PathParts
) -> tuple[list[ConfigError], list[ConfigWarning]]:
    errors: list[ConfigError] = []
    warnings: list[ConfigWarning] = []
    for path, leaf in _leaves(exc, root):
        where = format_path(path)
        if isinstance(leaf, ForbiddenExtraKeysError):
            known = _field_names(leaf.cl)
            for key in sorted(leaf.extra_fields):
                close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
                hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known)}"
                warnings.append(
                    ConfigWarning(
                        message=f"unknown key {key!r} is ignored",
                        document=document,
                        path=where,
                        hint=hint,
                    )
                )
        elif isinstance(leaf, Invalid):
            errors.append(ConfigError(str(leaf), document=document, path=where))
        elif isinstance(leaf, KeyError):
            errors.append(ConfigError("is required", document=document, path=where))
        else:  # a hook we did not write failed: still one line, still located
            errors.append(
                ConfigError(
                    f"invalid value ({type(leaf).__name__}: {leaf})", document=document, path=where
                )
            )
    return errors, warnings


def structure_document(
    data: Any, cl: type[T], *, document: str, root: PathParts = ()
) -> Structured[T]:
    """Structure ``data`` into ``cl``, collecting every error and unknown-key warning.

    :param document: the document's name as the user gave it, for messages.
    :param root: the path of ``data`` inside the document, when it is not the whole of it.
    """
    try:
        return Structured(value=_converter(True).structure(data, cl))
    except Exception as exc:
        errors, warnings = _translate(exc, document, root)
    if errors:
        return Structured(value=None, errors=tuple(errors), warnings=tuple(warnings))
    try:
        value = _converter(False).structure(data, cl)
    except Exception as exc:  # pragma: no cover - the strict pass found no errors
        errors, _ = _translate(exc, document, root)
        return Structured(value=None, errors=tuple(errors), warnings=tuple(warnings))
    return Structured(value=value, warnings=tuple(warnings))
