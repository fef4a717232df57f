"""Loaded only by the writer process of the SIGKILL drill (the run puts this folder on its children's
``PYTHONPATH``): the chain files are written there, so that is where the kill is armed."""

import os

if os.environ.get("AEGIS_DRILL_KILL_AFTER_FILES"):
    from tests.drills.harness import arm_kill_after_files

    arm_kill_after_files(int(os.environ["AEGIS_DRILL_KILL_AFTER_FILES"]))
