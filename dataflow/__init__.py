"""dataflow: a Korean-first corpus pipeline from raw documents to versioned Iceberg snapshots.

The small public API for notebooks and other tools:

    import dataflow
    result = dataflow.extract(open("page.html", "rb").read(), "page.html")   # text, format, metadata or reason
    snap = dataflow.read_snapshot("release-2026-11", data_root="data")       # a committed dataset version
    run = dataflow.run_pipeline(dataflow.load_config("configs/default.yaml"))

Every name is imported on first use, so ``import dataflow.snapshots`` (what training does) loads
no pipeline code: no datatrove, extractors or engines.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> "module:attribute", imported on first access (PEP 562)
_EXPORTS = {
    "extract": "dataflow.extractors:extract",
    "list_snapshots": "dataflow.snapshots.read:list_snapshots",
    "load_config": "dataflow.config:load_config",
    "read_snapshot": "dataflow.snapshots.read:read_snapshot",
    "run_pipeline": "dataflow.run:run_pipeline",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'dataflow' has no attribute {name!r}")
    module, attribute = _EXPORTS[name].split(":")
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # later accesses skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
