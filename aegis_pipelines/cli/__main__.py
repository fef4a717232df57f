"""``python -m aegis_pipelines.cli``: the ``aegis`` command."""

import sys

from aegis_pipelines.cli import main

sys.exit(main())
