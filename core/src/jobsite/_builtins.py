"""jobsite's own plugins: what :func:`jobsite.plugins.load_plugins` registers first.

Built-in behaviour is written as plugins, exactly as a third party writes one, and loaded
before the entry points, so a third party can add to it and a name clash is reported like any
other. Each entry is ``(plugin name, module)``; the modules are imported when plugins load.
"""

from __future__ import annotations

import importlib

__all__ = ["BUILTINS", "builtin_plugins"]

BUILTINS: tuple[tuple[str, str], ...] = (
    ("builtin-stores", "jobsite._builtin_stores"),
    ("builtin-foreman", "jobsite._builtin_foreman"),
)


def builtin_plugins() -> list[tuple[str, object]]:
    """The built-in plugins as ``(name, module object)`` pairs for ``load_plugins``."""
    return [(name, importlib.import_module(module)) for name, module in BUILTINS]
