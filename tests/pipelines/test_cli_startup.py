"""`aegis --help` starts without the heavy libraries; each command's help line is the one it registers;
start-up runs without the cycle collector's re-scans and in-process callers get the collector back."""

import gc
import json
import subprocess
import sys
import tomllib

from aegis_pipelines.cli import COMMANDS, build_parser, command_lifetime, main, startup_phase
from tests.conftest import PROJECT

HEAVY = ("dagster", "polars", "pyarrow", "scipy", "httpx", "deltalake")


def test_help_lines_match_what_each_command_registers():
    full = build_parser()  # every module imported and registered
    sub = next(a for a in full._actions if a.dest == "command")
    registered = {a.dest: a.help for a in sub._choices_actions}
    assert registered == {name: help_line for name, (_, help_line) in COMMANDS.items()}


def test_help_imports_no_heavy_library():
    code = (
        "import contextlib, io, json, sys\n"
        "from aegis_pipelines.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.suppress(SystemExit):\n"
        "    main(['--help'])\n"
        "print(json.dumps({'out': out.getvalue(), 'mods': sorted(sys.modules)}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    found = json.loads(proc.stdout)
    assert all(name in found["out"] for name in COMMANDS)
    loaded = {m.split(".")[0] for m in found["mods"]}
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_a_command_still_gets_its_full_arguments():
    args = build_parser(["eod", "--date", "2026-11-20"]).parse_args(["eod", "--date", "2026-11-20"])
    assert args.date == "2026-11-20" and callable(args.func)


def test_start_up_phases_pause_then_freeze_and_the_command_hands_everything_back():
    assert gc.isenabled() and gc.get_freeze_count() == 0
    with command_lifetime():
        with startup_phase():
            assert not gc.isenabled()
            kept = [object() for _ in range(10)]
        assert gc.isenabled()  # the command's own work is collected as usual
        assert gc.get_freeze_count() >= len(kept)
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_an_in_process_command_leaves_the_collector_as_it_found_it(monkeypatch, tmp_path):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    assert main(["eod", "--date", "2026-11-26"]) == 2  # refused after its start-up: not a session
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_the_aegis_executable_and_python_m_exit_through_entry():
    scripts = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["aegis"] == "aegis_pipelines.cli:entry"
    proc = subprocess.run(
        [sys.executable, "-m", "aegis_pipelines.cli", "eod", "--date", "2026-13-01"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "invalid session date" in proc.stderr
