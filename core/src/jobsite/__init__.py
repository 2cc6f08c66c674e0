"""jobsite: a plugin-based, async re-imagining of the BOSH director's deploy pipeline."""

from __future__ import annotations

__all__: list[str] = []
