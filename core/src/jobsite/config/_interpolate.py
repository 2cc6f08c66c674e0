"""``bosh int``: ops files, then variables, then ``--path``, in bosh-cli's order.

bosh-cli's ``cmd/interpolate.go`` hands the manifest to ``director/template/template.go``
``Evaluate``, which applies the ops files, substitutes variables (checking ``--var-errs``
against the *whole* document, before anything is selected) and only then runs ``--path`` as
a go-patch find (``PostVarSubstitutionOp``). The CLI prints a selected string raw rather than
as YAML, so a certificate comes out as its lines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobsite.config._ops import Op, Pointer, PointerError, apply_ops, find_path
from jobsite.config._vars import Variables, substitute
from jobsite.errors import InterpolationError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["interpolate"]


def interpolate(
    document: Any,
    *,
    ops: Sequence[Op] = (),
    variables: Variables | None = None,
    expect_all: bool = False,
    path: str | None = None,
    document_name: str = "",
) -> Any:
    """What ``bosh int`` computes for ``document`` (which is never modified).

    Raises :class:`~jobsite.errors.InterpolationError` (or ``ConfigErrors`` of them) naming
    ``document_name`` or the ops file and operation that failed.
    """
    if path is not None:
        try:
            Pointer.parse(path)  # bosh rejects a bad --path before reading anything
        except PointerError as exc:
            raise InterpolationError(
                f"Invalid path '{path}': {exc}", document=document_name
            ) from None
    result = apply_ops(document, ops)
    result = substitute(
        result,
        variables if variables is not None else Variables(),
        expect_all=expect_all,
        document_name=document_name,
    )
    if path is not None:
        result = find_path(result, path, document_name=document_name)
    return result
