"""A run that no ``aegis`` command started: a Dagster job executed in this process on the instance of
``DAGSTER_HOME``, sleeping in its only step (``python -m tests.fakes.foreign_run JOB SECONDS``).

``recording_job`` has the code location's executor (which records its worker on the run as it
starts), as ``dagster asset materialize`` of the code location would; ``plain_job`` Dagster's own, so
that nothing but Dagster's RUN_START event says which process runs it (a script, another location).
"""

from __future__ import annotations

import sys
import time

import dagster as dg

from aegis_pipelines.instance.workers import recording_in_process_executor


@dg.op(config_schema={"seconds": float})
def sleep_a_while(context) -> None:  # no annotation: it would be a string here (Dagster refuses)
    context.log.info(f"sleeping {context.op_config['seconds']:g}s")
    time.sleep(context.op_config["seconds"])


@dg.job(executor_def=dg.in_process_executor)
def plain_job() -> None:
    sleep_a_while()


@dg.job(executor_def=recording_in_process_executor)
def recording_job() -> None:
    sleep_a_while()


def main(argv: list[str]) -> int:
    job = {"plain_job": plain_job, "recording_job": recording_job}[argv[0]]
    with dg.DagsterInstance.get() as instance:
        result = dg.execute_job(
            dg.reconstructable(job),
            instance=instance,
            run_config={"ops": {"sleep_a_while": {"config": {"seconds": float(argv[1])}}}},
        )
        return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
