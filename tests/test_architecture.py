"""The layering is a contract: pipelines -> assets -> core, the domain never imports dagster, the
archive's domain (ldas) and operations (ops) stay apart in every layer, and the base imports no domain."""

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

PROJECT = Path(__file__).parents[1]


def test_import_contracts_hold():
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    proc = subprocess.run([exe], capture_output=True, text=True, cwd=PROJECT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    declared = tomllib.loads((PROJECT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    kept = re.search(r"Contracts: (\d+) kept, 0 broken", proc.stdout)
    assert kept and int(kept.group(1)) == len(declared) >= 6, proc.stdout
