"""numba caches are dropped when a compiled source of the package changes, kept otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

import tradewind._jit_cache as jit_cache


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "pkg"
    (root / "sim" / "__pycache__").mkdir(parents=True)
    (root / "sim" / "kernel.py").write_text("import numba\n")
    (root / "sim" / "rules.py").write_text("from numba import njit\n")
    (root / "plain.py").write_text("x = 1\n")
    monkeypatch.setattr(jit_cache, "_ROOT", root)
    monkeypatch.setattr(jit_cache, "_STAMP", root / "__pycache__" / "jit-sources.sha256")
    return root


def _caches(root: Path) -> list[Path]:
    cache = root / "sim" / "__pycache__"
    files = [cache / "kernel.run-1.py311.nbi", cache / "kernel.run-1.py311.1.nbc"]
    for f in files:
        f.write_bytes(b"x")
    return files


def test_a_changed_callee_drops_every_cache(package: Path) -> None:
    jit_cache.refresh_stale_kernel_caches()
    files = _caches(package)
    assert not jit_cache.refresh_stale_kernel_caches()  # nothing changed: caches kept
    assert all(f.exists() for f in files)

    (package / "sim" / "rules.py").write_text("from numba import njit\n# new rule\n")
    assert jit_cache.refresh_stale_kernel_caches()
    assert not any(f.exists() for f in files)


def test_modules_without_numba_do_not_invalidate(package: Path) -> None:
    jit_cache.refresh_stale_kernel_caches()
    files = _caches(package)
    (package / "plain.py").write_text("x = 2\n")
    assert not jit_cache.refresh_stale_kernel_caches()
    assert all(f.exists() for f in files)
