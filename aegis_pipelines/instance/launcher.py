"""The production run launcher: Docker, forwarding every variable the settings read.

``DockerRunLauncher`` passes a run container only the variables named in its ``env_vars`` config. A
second list there would drift from the settings (a threshold set in ``.env`` silently ignored by the
runs), so this launcher adds ``settings_variables()`` itself: each one set in the daemon's environment
(compose fills it from ``.env``) reaches every run container with the daemon's value. The instance
config lists only what the instance itself needs (the storage variables).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from dagster_docker import DockerRunLauncher

from aegis_core.settings import settings_variables


def forwarded_variables(configured: Sequence[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """``configured`` (the instance's ``env_vars``), then each settings variable set in ``environ``."""
    environ = os.environ if environ is None else environ
    names = {entry.partition("=")[0] for entry in configured}
    extra = [name for name in settings_variables() if name in environ and name not in names]
    return [*configured, *extra]


class AegisDockerRunLauncher(DockerRunLauncher):
    """``DockerRunLauncher`` whose ``env_vars`` also carry the settings variables of the environment."""

    def __init__(self, inst_data=None, env_vars=None, **config):
        super().__init__(inst_data=inst_data, env_vars=forwarded_variables(env_vars or []), **config)
