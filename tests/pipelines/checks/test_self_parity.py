"""Issue 24: parity refuses an archive compared with itself — the same path, a symbolic link to it, or
``AEGIS_PARITY_ROOT`` equal to the archive root — in `aegis parity`, `aegis parity readiness`, the
parity checks and ``ldas/parity_readiness``: one line, exit 2 / a failed check or run naming why."""

from __future__ import annotations

import pytest

from aegis_assets.ldas.checks import parity_check_names
from aegis_pipelines.cli import main as aegis

from .conftest import SESSION_KEY, evaluations, load_defs, run_job


def same_archive(archives, how: str):
    if how == "same path":
        return archives.python
    link = archives.python.parent / "archive-link"
    link.symlink_to(archives.python, target_is_directory=True)
    return link


def refused(argv, capsys) -> str:
    assert aegis(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, err
    assert "with itself" in err and "AEGIS_PARITY_ROOT must not be the archive root" in err
    return err


@pytest.mark.parametrize("how", ["same path", "symlink"])
def test_aegis_parity_refuses_one_archive_on_both_sides(archives, capsys, how):
    other = same_archive(archives, how)
    argv = ["--python-archive", str(archives.python), "--rust-archive", str(other)]
    err = refused(["parity", *argv, "--date", SESSION_KEY, "--types", "vix,options"], capsys)
    assert err.startswith("aegis parity: error: refusing to compare archive")
    err = refused(["parity", "readiness", *argv, "--date", SESSION_KEY], capsys)
    assert err.startswith("aegis parity readiness: error: refusing to compare archive")
    if how == "symlink":
        assert f"(both are {archives.python.resolve()})" in err


@pytest.mark.parametrize("how", ["same path", "symlink"])
def test_a_parity_root_equal_to_the_archive_root(archives, monkeypatch, capsys, instance, how):
    monkeypatch.setenv("AEGIS_PARITY_ROOT", str(same_archive(archives, how)))
    refused(["parity", "readiness", "--date", SESSION_KEY], capsys)  # both from the configuration

    defs = load_defs()
    checks = evaluations(run_job(defs, instance))
    parity = {k: e for k, e in checks.items() if k[1].startswith("parity_")}
    assert len(parity) == sum(
        len(parity_check_names(a)) for a in ("vix", "stocks", "options", "gex_summary", "iv_rank")
    )
    for evaluation in parity.values():  # every gate fails, saying why (they would all pass otherwise)
        assert not evaluation.passed
        assert "with itself" in (evaluation.description or "")

    result = defs.resolve_job_def("ldas_parity_readiness_job").execute_in_process(
        instance=instance, partition_key=SESSION_KEY, raise_on_error=False
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error
    assert failure.message.startswith(
        "dagster._core.definitions.events.Failure: ldas/parity_readiness: refusing to compare archive"
    )
    assert failure.message.count("\n") == 1  # one line
