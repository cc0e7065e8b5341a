"""Typed config of ``dataflow instruct``: one dataclass per section, loaded strictly like the pipeline's.

Defaults follow the anchors the issue names: AlpaGasus kept Alpaca examples the judge scored
>= 4.5 of 5 (9k of 52k); data-juicer's ``llm_quality_score_filter`` scores 1-5; KTO's paper
(Ethayarajh et al., 2024, sec. 4) recommends lambda_D * n_D / (lambda_U * n_U) in [1, 4/3] with the
recipe's lambda_D = 1.375, lambda_U = 1. No default names a dataset, a model or an endpoint: a
config does. ``configs/instruct.yaml`` is the documented example.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dataflow.config import ConfigError, DedupConfig, LangIdConfig, SnapshotConfig, from_dict, read_yaml, with_overrides
from schemas.instruct import INSTRUCT_NAMESPACE


@dataclass
class InputSpec:
    path: str = ""  # a JSONL, JSON (a list of records) or Parquet file
    source: str = ""  # dataset name written to every row's `source`; '' = the file's stem
    # '' = detect from the first record's keys (instruction/output: alpaca; conversations: sharegpt;
    # messages: messages; prompt/response or prompt/completion: prompt_response)
    format: str = ""


@dataclass
class RulesConfig:
    min_response_chars: int = 1  # shorter (after stripping) is empty_response; "C" answers a multiple-choice task
    max_response_chars: int = 16_000  # ~4k tokens of Korean at ~4 chars/token: longer than the SFT context
    max_prompt_chars: int = 16_000  # same bound for the prompt side
    # a response ending mid-sentence without terminal punctuation AND longer than this is truncated_response
    # (short answers such as "Paris" legitimately end without a full stop)
    truncation_min_chars: int = 200
    # Gopher's duplicate-line and top-n-gram fractions (Rae et al., 2021, table A1): more than 30 % duplicated
    # lines, or the most common word 3-gram covering over 18 % of the characters, is repetition
    max_dup_line_fraction: float = 0.3
    max_top_3gram_fraction: float = 0.18
    language_mismatch: bool = True  # response language differs from the prompt's (translation tasks excepted)
    # below this lid.176 score on either side the language is too uncertain to call a mismatch
    min_language_score: float = 0.5
    refusals: bool = True  # "As an AI language model", "죄송하지만 ... 할 수 없습니다" and the like
    dedup_prompts: bool = True  # exact and MinHash near-duplicate prompts (the project's dedup code)


@dataclass
class JudgeConfig:
    backend: str = "openai"  # openai: any chat-completions endpoint; transformers: a local model by path; none
    base_url: str = ""  # e.g. http://127.0.0.1:8000/v1 for vLLM; '' = $OPENAI_BASE_URL
    model: str = ""  # judge model name the endpoint serves, or the local model's directory
    api_key_env: str = "OPENAI_API_KEY"  # the key is read from this variable (never from the config file)
    # requests in flight: against a 50 ms server ~28x single-stream at 32, 37-56x at 64 (BENCHMARKS.md); a
    # local vLLM batches them, a hosted API may cap them (rate_limit_per_s)
    concurrency: int = 32
    rate_limit_per_s: float = 0.0  # requests started per second, 0 = unlimited (hosted APIs publish one)
    timeout_s: float = 60.0  # one request, connect to last byte
    max_retries: int = 4  # transport retries (429, 5xx, timeouts, dropped connections): the openai client's,
    #                       exponential backoff 0.5 s .. 8 s with 25 % jitter, Retry-After honoured up to 120 s
    parse_retries: int = 2  # extra requests when the verdict is unparseable, then judge_unparseable
    temperature: float = 0.0  # greedy: the same example gets the same verdict
    max_tokens: int = 384  # a verdict is ~80 tokens of JSON plus a one-sentence rationale
    rubric: str = "quality-v1"  # rubric id; its version is part of the cache key (dataflow/instruct/rubric.py)
    cache_path: str = ""  # SQLite verdict cache; '' = <data_root>/instruct/verdict_cache.db


@dataclass
class SelectConfig:
    sft_min_overall: float = 4.5  # AlpaGasus's threshold: 9k of 52k Alpaca kept, a better model 5.7x faster
    kto_desirable_min: float = 4.0  # overall >= this is desirable for KTO
    kto_undesirable_max: float = 2.5  # overall <= this is undesirable; between the two is left out (ambiguous)
    kto_lambda_d: float = 1.375  # the recipe's desirable weight (KTO's lambda_D)
    kto_lambda_u: float = 1.0  # the recipe's undesirable weight (KTO's lambda_U)


@dataclass
class ReviewConfig:
    sample_size: int = 200  # examples exported for human review, stratified by outcome band and language
    seed: int = 0  # the sample is reproducible


@dataclass
class InstructSnapshotConfig(SnapshotConfig):
    """The corpus catalog settings with the instruct defaults (a YAML ``snapshot:`` section that sets only
    ``tag`` must not fall back to the corpus namespace)."""

    namespace: str = INSTRUCT_NAMESPACE  # namespace 'instruct' of the same catalog as the corpus
    # overwrite: each run's sft/kto is a whole dataset version (examples, verdicts, reviews always append)
    mode: str = "overwrite"


@dataclass
class InstructConfig:
    inputs: list[InputSpec] = field(default_factory=list)  # required: the datasets to clean
    data_root: str = "data"  # catalog and warehouse (the same catalog as the corpus)
    run_id: str = ""  # '' = derived from the config hash and the inputs' content hashes
    langid: LangIdConfig = field(default_factory=LangIdConfig)
    rules: RulesConfig = field(default_factory=RulesConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    select: SelectConfig = field(default_factory=SelectConfig)
    review: ReviewConfig = field(default_factory=ReviewConfig)
    snapshot: InstructSnapshotConfig = field(default_factory=InstructSnapshotConfig)

    def hash(self) -> str:
        """sha256 of what changes the output (not paths, run id, concurrency or rate)."""
        data = dataclasses.asdict(self)
        for k in ("inputs", "data_root", "run_id", "snapshot", "review"):
            data.pop(k)
        for k in ("base_url", "api_key_env", "concurrency", "rate_limit_per_s", "timeout_s", "cache_path"):
            data["judge"].pop(k)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


BACKENDS = ("openai", "transformers", "none")


def validate(cfg: InstructConfig) -> InstructConfig:
    """Refuse a config that cannot run, before anything is read (one line naming the key)."""
    if not cfg.inputs:
        raise ConfigError("instruct.inputs is empty: name at least one dataset file")
    for i, spec in enumerate(cfg.inputs):
        if not spec.path:
            raise ConfigError(f"inputs[{i}].path is empty")
    if cfg.judge.backend not in BACKENDS:
        raise ConfigError(f"judge.backend must be one of {', '.join(BACKENDS)}, not {cfg.judge.backend!r}")
    if cfg.judge.backend != "none" and not cfg.judge.model:
        raise ConfigError("judge.model is empty: name the judge model (or its directory for transformers)")
    if cfg.judge.concurrency < 1:
        raise ConfigError("judge.concurrency must be >= 1")
    s = cfg.select
    if not s.kto_undesirable_max < s.kto_desirable_min:
        raise ConfigError("select.kto_undesirable_max must be below select.kto_desirable_min")
    return cfg


def load_instruct_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> InstructConfig:
    """Load a YAML config (defaults when ``path`` is None), then dotted overrides such as ``judge.concurrency``."""
    return from_dict(InstructConfig, with_overrides(read_yaml(path), overrides))
