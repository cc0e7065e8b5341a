"""Everything a run checks before it reads an input or commits anything (DESIGN invariant 7).

``check_run_config(cfg)`` runs first: the config's own ranges and vocabularies
(``dataflow.config.validate``), the vocabularies that belong to the stages (extract formats, English
filters, PII types, shingle units, normalization forms: each defined once, in its stage, and
imported here), the required inputs and model, and a data root that can be a directory.
``check_tag(table, tag, run_id)`` runs once the run id is known and before the engine starts: a tag
already naming another run's snapshot would fail only after the documents were committed.
Every failure is a ``ConfigError`` of one line that names the key or path and the fix.
"""

from __future__ import annotations

from pathlib import Path

from dataflow.config import ConfigError, PipelineConfig, validate
from dataflow.readers.discover import input_covering
from dataflow.snapshots.commit import RUN_ID


def _unknown(values: list[str], known: tuple[str, ...], key: str) -> list[str]:
    bad = [v for v in values if v not in known]
    return [f"{key}: unknown {', '.join(map(repr, bad))} (known: {', '.join(known)})"] if bad else []


def check_run_config(cfg: PipelineConfig) -> PipelineConfig:
    """Refuse a config a run cannot finish correctly; return it unchanged."""
    from dataflow.dedup.minhash import UNITS
    from dataflow.extractors import EXTRACTORS
    from dataflow.stages.normalize import _FORMS
    from dataflow.stages.pii import PII_TYPES
    from dataflow.stages.quality import ENGLISH_FILTERS

    validate(cfg)
    problems = [
        *_unknown(cfg.extract.formats, tuple(EXTRACTORS), "extract.formats"),
        *_unknown(cfg.quality.english_filters, ENGLISH_FILTERS, "quality.english_filters"),
        *_unknown(cfg.pii.types, PII_TYPES, "pii.types"),
        *_unknown([cfg.dedup.unit], UNITS, "dedup.unit"),
        *_unknown([cfg.normalize.form], _FORMS, "normalize.form"),
    ]
    if not cfg.read.inputs:
        problems.append("read.inputs: no inputs; name files, directories or globs (or pass --input)")
    model = Path(cfg.langid.model_path) if cfg.langid.model_path else None
    if model is None:
        problems.append("langid.model_path: required (a fastText lid.176 file; `make setup` puts one in models/)")
    elif not model.is_file():
        problems.append(f"langid.model_path: {model} is not a file (`make setup` puts lid.176.ftz in models/)")
    if cfg.quality_model.enabled:  # the stage's own checks (model path, threshold, model card), as one line
        from dataflow.stages.quality_model import check_config

        try:
            check_config(cfg.quality_model)
        except (ValueError, FileNotFoundError, KeyError) as err:
            problems.append(str(err))
    root = Path(cfg.data_root)
    if root.exists() and not root.is_dir():
        problems.append(f"data_root: {root} is a file, not a directory; set data_root to a directory")
    covering = input_covering(cfg.read.inputs, root)
    if covering is not None:
        problems.append(
            f"data_root: {root} is inside input {covering!r}: the run would read its own catalog and warehouse; "
            "put data_root outside the inputs"
        )
    if problems:
        more = f" (and {len(problems) - 1} more: {'; '.join(problems[1:])})" if len(problems) > 1 else ""
        raise ConfigError(problems[0] + more)
    return cfg


def check_tag(table, tag: str, run_id: str) -> None:
    """Refuse ``snapshot.tag`` when it already names a snapshot that is not this run's.

    ``table`` is the documents table (pyiceberg ``Table``). Rerunning a tagged run passes: its tag
    already names its own snapshot."""
    if not tag:
        return
    ref = table.metadata.refs.get(tag)
    if ref is None:
        return
    snap = table.snapshot_by_id(ref.snapshot_id)
    owner = (snap.summary.additional_properties.get(RUN_ID) if snap and snap.summary else None) or "?"
    if owner != run_id:
        raise ConfigError(
            f"snapshot.tag: {tag!r} already names snapshot {ref.snapshot_id} (run {owner}); tags are release names: "
            f"choose a new tag, or move it after the run with `dataflow snapshots tag run:{run_id} {tag} --force`"
        )
