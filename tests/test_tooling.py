"""The repository's own gates: lint, format and the type check of the domain package."""

import shutil
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]


def tool(name: str) -> str:
    return shutil.which(name) or str(Path(sys.executable).with_name(name))


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=PROJECT, capture_output=True, text=True, timeout=300)


def test_ruff_lint_and_format_are_clean():
    lint = run(tool("ruff"), "check", ".")
    assert lint.returncode == 0, lint.stdout[-3000:]
    fmt = run(tool("ruff"), "format", "--check", ".")
    assert fmt.returncode == 0, fmt.stdout[-3000:]


def test_domain_package_type_checks():
    result = run(tool("mypy"), "aegis_core")
    assert result.returncode == 0, result.stdout[-3000:]
