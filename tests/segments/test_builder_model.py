"""The segment builder's model module, unit-tested with Node's test runner (node >= 20): the
JavaScript tests are in builder_model.test.mjs; this runs them so that `make test` does."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

TESTS = Path(__file__).with_name("builder_model.test.mjs")


def test_the_builder_model_passes_its_node_tests():
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: the builder's model tests need Node.js 20", pytrace=False)
    result = subprocess.run(
        [node, "--test", str(TESTS)], capture_output=True, text=True, timeout=120, check=False
    )
    print(result.stdout, result.stderr)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout and "# pass 0" not in result.stdout
