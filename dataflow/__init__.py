"""dataflow: a Korean-first corpus pipeline from raw documents to versioned Iceberg snapshots.

The small public API for notebooks and other tools:

    import dataflow
    result = dataflow.extract(open("page.html", "rb").read(), "page.html")   # text, format, metadata or reason
    snap = dataflow.read_snapshot("release-2026-11", data_root="data")       # a committed dataset version
    run = dataflow.run_pipeline(dataflow.load_config("configs/default.yaml"))

``dataflow.extract`` is the extraction package, callable as the function ``dataflow.extract.extract``
that the pipeline's extract stage also calls.
"""

from dataflow import extract
from dataflow.config import load_config
from dataflow.run import run_pipeline
from dataflow.snapshots import list_snapshots, read_snapshot

__all__ = ["extract", "list_snapshots", "load_config", "read_snapshot", "run_pipeline"]
