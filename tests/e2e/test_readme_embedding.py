"""The README's embedding example runs as written (in a subprocess, against a prepared home)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

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
    done = subprocess.run(
        [sys.executable, "-c", example()],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Plan for shop" in done.stdout
    assert done.stdout.rstrip().endswith("done []")
