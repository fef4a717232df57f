"""Archives written by the independent test writer, and a local profile pointing the checks at them."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from aegis_core.archive.lake import SESSION_COLUMN, Lake
from aegis_core.archive.schemas import ARTEFACTS
from aegis_core.base.settings import load_settings
from aegis_core.ldas.quality import session_files
from aegis_pipelines.definitions import build_definitions
from tests.conftest import PROJECT
from tests.parity.archive_builder import PYTHON, RUST, SESSION, SYMBOLS, build_archive, copy_archive

SESSION_KEY = SESSION.isoformat()
PARTITION_TAG = "dagster/partition"
SLACK_ENV = ("SLACK_BOT_TOKEN", "AEGIS_SLACK_CHANNEL", "AEGIS_SLACK_BASE_URL", "AEGIS_WEBSERVER_URL")


@dataclass(frozen=True)
class Archives:
    python: Path  # the archive under test (AEGIS_ARCHIVE_ROOT); tests may break it
    rust: Path  # the reference archive (AEGIS_PARITY_ROOT); tests may break it
    config: Path


def mirror_to_lake(root: Path, lake_root: Path) -> Path:
    """The lake an archive's end-of-day files imply (the independent writer writes files only), so the
    lake_consistency checks start from an archive and a lake that agree."""
    lake = Lake(str(lake_root))
    for artefact in ("vix", "stocks", "options", "gex_summary", "iv_rank"):
        frame = pl.concat(
            [pl.read_parquet(p) for p in session_files(root, artefact, SESSION)], how="vertical_relaxed"
        ).with_columns(pl.lit(SESSION).alias(SESSION_COLUMN))
        lake.replace(ARTEFACTS[artefact], frame, sessions=[SESSION], metadata={"aegis.source": "real"})
    return lake_root


@pytest.fixture(scope="session")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("pristine")
    python = build_archive(base / "python", PYTHON)
    mirror_to_lake(python, base / "lake")
    return python, build_archive(base / "rust", RUST)


@pytest.fixture(scope="session")
def instance() -> dg.DagsterInstance:
    """One test instance for the folder (creating one costs seconds). Tests read their own run's
    results; the alert sensors start their cursors at the latest run, so earlier tests' runs are not
    seen by later tests' sensors."""
    with dg.instance_for_test() as shared:
        yield shared


def write_config(path: Path, **quality: object) -> Path:
    """The local profile, with a ``quality`` section when given."""
    text = (PROJECT / "configs/local.yaml").read_text()
    if quality:
        text += "quality:\n" + "".join(f"  {k}: {v}\n" for k, v in quality.items())
    path.write_text(text)
    return path


@pytest.fixture
def archives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pristine: tuple[Path, Path]) -> Archives:
    python = copy_archive(pristine[0], tmp_path / "archive")
    shutil.copytree(pristine[0].parent / "lake", tmp_path / "lake")
    rust = copy_archive(pristine[1], tmp_path / "rust")
    universe = tmp_path / "universe.txt"
    universe.write_text("\n".join(SYMBOLS) + "\n")
    config = write_config(tmp_path / "aegis.yaml")
    env = {
        "AEGIS_CONFIG": str(config),
        "AEGIS_ARCHIVE_ROOT": str(python),
        "AEGIS_LAKE_ROOT": str(tmp_path / "lake"),
        "AEGIS_UNIVERSE_FILE": str(universe),
        "AEGIS_PARITY_ROOT": str(rust),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in SLACK_ENV:
        monkeypatch.delenv(key, raising=False)
    return Archives(python, rust, config)


def load_defs() -> dg.Definitions:
    return build_definitions(load_settings())


def run_job(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    job: str = "ldas_checks_job",
    partition: str | None = SESSION_KEY,
    tags: dict[str, str] | None = None,
) -> dg.ExecuteInProcessResult:
    """A check-only job for one session: the partition is a run tag (see aegis_pipelines.ldas.quality)."""
    all_tags = {**({PARTITION_TAG: partition} if partition else {}), **(tags or {})}
    return defs.resolve_job_def(job).execute_in_process(
        instance=instance, tags=all_tags, raise_on_error=False
    )


def evaluations(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}


def offenders(evaluation: dg.AssetCheckEvaluation) -> list[str]:
    return evaluation.metadata["offenders"].value  # type: ignore[return-value]
