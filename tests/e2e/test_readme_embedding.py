"""The README's embedding example runs as written (in a subprocess, against a prepared home)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import pytest
import yaml

if TYPE_CHECKING:
    from conftest import Site

pytestmark = pytest.mark.anyio

README = Path(__file__).resolve().parents[2] / "README.md"


def example() -> str:
    text = README.read_text()
    section = text[text.index("## Embedding jobsite") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


async def test_the_readme_embedding_example_deploys(site: Site) -> None:
    home = site.tmp_path
    await site.director.__aexit__(None, None, None)  # the example opens the same store
    (home / "manifest.yml").write_text(yaml.safe_dump(site.manifest()))
    env = {**os.environ, "JOBSITE_HOME": str(home)}
    with anyio.fail_after(60):
        done = await anyio.run_process(
            [sys.executable, "-c", example()], cwd=home, env=env, check=False
        )
    stdout, stderr = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 0, stderr
    assert "Plan for shop" in stdout
    assert stdout.rstrip().endswith("done []")
