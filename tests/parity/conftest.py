"""Pristine Python and Rust archives, built once; tests that break one work on a copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from .archive_builder import PYTHON, RUST, build_archive, copy_archive


@pytest.fixture(scope="session")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("archives")
    return build_archive(base / "python", PYTHON), build_archive(base / "rust", RUST)


@pytest.fixture
def python_root(pristine: tuple[Path, Path]) -> Path:
    """The good Python archive (read-only: copy it before breaking it)."""
    return pristine[0]


@pytest.fixture
def rust_root(pristine: tuple[Path, Path]) -> Path:
    return pristine[1]


@pytest.fixture
def broken_rust(pristine: tuple[Path, Path], tmp_path: Path) -> Path:
    """A private copy of the good Rust archive for a test to break."""
    return copy_archive(pristine[1], tmp_path / "rust")


@pytest.fixture
def broken_python(pristine: tuple[Path, Path], tmp_path: Path) -> Path:
    return copy_archive(pristine[0], tmp_path / "python")
