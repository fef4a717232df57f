"""Shared fixtures: a temporary archive, lake and small universe on the simulated market."""

import os
import warnings
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]

# Small simulated names (a few hundred contracts each) keep end-to-end tests fast.
SMALL_UNIVERSE = ["AAXJ", "BDRY", "CORN"]


@pytest.fixture
def sim_env(tmp_path, monkeypatch) -> dict[str, str]:
    """Environment for the local profile with every path under ``tmp_path``."""
    universe = tmp_path / "universe.txt"
    universe.write_text("\n".join(SMALL_UNIVERSE) + "\n")
    env = {
        "AEGIS_CONFIG": str(PROJECT / "configs/local.yaml"),
        "AEGIS_ARCHIVE_ROOT": str(tmp_path / "archive"),
        "AEGIS_LAKE_ROOT": str(tmp_path / "lake"),
        "AEGIS_UNIVERSE_FILE": str(universe),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def fifo(tmp_path) -> Path:
    """A named pipe: opening it for reading waits for a writer that never comes."""
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


@pytest.fixture(autouse=True)
def _quiet_known_warnings():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is currently in beta.*")
        warnings.filterwarnings("ignore", message=".*is currently in preview.*")
        yield
