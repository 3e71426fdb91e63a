"""The code passes the linter configured in pyproject.toml (ruff, from the test extra)."""

import subprocess
import sys

from qdkg.paths import ROOT


def test_ruff_finds_nothing():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "service", "tests", "bench"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
