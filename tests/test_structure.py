"""The layering the README describes, checked from the import graph, and training's light import.

Layers, lowest first; a module may import from its own layer or below, never above. ``schemas``
sits under all of them and imports nothing of ``dataflow``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# top-level name under dataflow/ -> layer (README "Layout": the same table)
LAYERS = {
    "config": 0,
    "document": 0,
    "ledger": 0,
    "locks": 0,
    "readers": 1,
    "extractors": 2,
    "stages": 3,
    "dedup": 3,
    "records": 3,
    "pipeline": 4,
    "snapshots": 5,
    "reports": 5,
    "engines": 6,
    "mixes": 6,
    "run": 7,
    "nightly": 7,
    "preflight": 7,
    "instruct": 7,
    "cli": 8,
    "__main__": 8,
    "__init__": 8,
}


def _imports(path: Path) -> set[str]:
    """Top-level ``dataflow`` parts a module imports, at module level or inside functions."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[0] == "dataflow" and len(parts) > 1 and parts[1] in LAYERS:
                names.add(parts[1])
    return names


def _part(path: Path) -> str:
    rel = path.relative_to(ROOT / "dataflow")
    return rel.parts[0].removesuffix(".py")


def test_every_dataflow_module_has_a_layer():
    parts = {_part(p) for p in (ROOT / "dataflow").rglob("*.py")}
    missing = sorted(parts - set(LAYERS))
    assert not missing, f"add {missing} to the layering (README 'Layout' and tests/test_structure.py)"


def test_no_module_imports_from_a_layer_above_it():
    violations = []
    for path in sorted((ROOT / "dataflow").rglob("*.py")):
        part = _part(path)
        for imported in _imports(path):
            if LAYERS[imported] > LAYERS[part]:
                violations.append(f"{path.relative_to(ROOT)} imports dataflow.{imported}")
    assert not violations, "\n".join(violations)


def test_schemas_import_nothing_of_dataflow_or_training():
    for path in (ROOT / "schemas").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "import dataflow" not in text and "from dataflow" not in text, path
        assert "from training" not in text, path


def test_reading_a_snapshot_loads_no_pipeline_code(tmp_path):
    """What training does: commit a tiny snapshot, read it back, and load none of the pipeline."""
    code = f"""
import sys
from dataflow.snapshots import commit_tables, read_snapshot
row = dict(id="a", text="t", source_kind="text", source_uri="u", url=None, language="ko", language_score=1.0,
           quality_signals={{}}, quality_score=None, pii_counts={{}}, dedup_cluster=None, n_bytes=1, n_chars=1,
           metadata="{{}}", run_id="r")
commit_tables({{"documents": [row]}}, "r", data_root={str(tmp_path)!r})
assert read_snapshot("run:r", data_root={str(tmp_path)!r}).to_arrow().num_rows == 1
heavy = ("datatrove", "trafilatura", "pymupdf", "fitz", "dataflow.run", "dataflow.pipeline", "dataflow.extractors")
print(sorted(m for m in heavy if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
