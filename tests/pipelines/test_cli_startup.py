"""`aegis --help` starts without the heavy libraries; each command's help line is the one it registers."""

import json
import subprocess
import sys

from aegis_pipelines.cli import COMMANDS, build_parser

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
