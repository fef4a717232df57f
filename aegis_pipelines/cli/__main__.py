"""``python -m aegis_pipelines.cli``: the ``aegis`` command."""

from aegis_pipelines.cli import entry

entry()
