"""docs/deploy.md as data: its environment and its commands, so that tests follow the guide word
for word and fail when the guide and the product part ways."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
VENV_BIN = Path(sys.executable).parent


def sh_block(heading: str) -> list[str]:
    """The non-empty lines of the first sh block under `## heading`."""
    section = DEPLOY_DOC.read_text().split(f"## {heading}\n", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def environment() -> dict[str, str]:
    """The production environment the guide lists."""
    return dict(line.split("=", 1) for line in sh_block("The environment"))


def command(line: str) -> list[str]:
    """A `.venv/bin/...` line of the guide, run with this interpreter's virtualenv."""
    argv = shlex.split(line)
    assert argv[0].startswith(".venv/bin/"), line
    return [str(VENV_BIN / argv[0].removeprefix(".venv/bin/")), *argv[1:]]
