"""PySpark's Python worker daemon, with the pipeline's modules and models loaded before it forks workers.

PySpark starts one daemon per executor (``pyspark.daemon``) that forks a Python worker per task slot;
each worker then imports the pipeline and loads fastText's LID model, Kiwi, spaCy and numba on its first
task. With ``local[2]`` that is paid twice (bench/bench_engines.py: phase 1 took 45 % more CPU with 2
workers than with 1). Set as ``spark.python.daemon.module`` (``engines.spark.spark_session`` does it on
``local[N]``), this module loads them once in the daemon, from the run's config in the environment
variable ``DATAFLOW_SPARK_PRELOAD`` (``spark.executorEnv``), then runs PySpark's own daemon: the
forked workers inherit them copy-on-write, as the local engine's forked workers do.

A failed preload is only a lost speed-up: it is reported on stderr and the workers load what they
need themselves. The daemon's stdout carries its port to the JVM, so nothing may print there.
"""

from __future__ import annotations

import gc
import json
import os
import sys

PRELOAD_ENV = "DATAFLOW_SPARK_PRELOAD"


def _preload(raw: str) -> None:
    from dataflow.config import PipelineConfig, from_dict
    from dataflow.engines.local import preload
    from dataflow.pipeline import ShardRunner

    preload(ShardRunner(from_dict(PipelineConfig, json.loads(raw))))


def main() -> None:
    raw = os.environ.get(PRELOAD_ENV)
    if raw:
        stdout = os.dup(1)
        os.dup2(2, 1)  # any output of the libraries goes to stderr, never into the port the JVM reads
        try:
            _preload(raw)
        except Exception as err:  # only a speed-up; the workers load what they need themselves
            print(f"dataflow: Spark worker preload skipped: {type(err).__name__}: {err}", file=sys.stderr)
        finally:
            sys.stdout.flush()
            os.dup2(stdout, 1)
            os.close(stdout)
    from pyspark import daemon

    gc.freeze()  # the preloaded objects out of the forked workers' collections (engines.local.run_local)
    daemon.manager()


if __name__ == "__main__":
    main()
