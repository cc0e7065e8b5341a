"""Typed recipe configs: one YAML file per recipe (training/recipes/), strict, documented field by field.

A recipe has one section per stage (``growth``, ``cpt``, ``sft``, ``kto``, ``eval``). A stage's ``args`` go unchanged
to transformers' ``TrainingArguments`` (CPT) or trl's ``SFTConfig`` / ``KTOConfig``, which validate their own
fields, so the recipe uses exactly the library's argument names (transformers 5.24, trl 1.16). Everything else
is a dataclass field here; unknown keys are an error.

    recipe = load_recipe("training/recipes/tiny-cpu.yaml", overrides=["cpt.args.max_steps=3"])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# The pipeline config's generic checker: unknown keys and wrong types are errors naming the dotted key.
# dataflow.config imports only yaml and the standard library (no pipeline code), so training may use it.
from dataflow.config import ConfigError, from_dict, parse_sets, read_yaml, with_overrides  # noqa: F401 (ConfigError: re-exported, recipes raise it)


@dataclass
class ModelSpec:
    path: str | None = None  # HF checkpoint directory the stage starts from; no default: a recipe names its model
    init: dict | None = None  # LlamaConfig fields for a fresh random model instead of `path` (tiny-cpu, tests)
    tokenizer: str | None = None  # tokenizer dir; None = `path`; "tiny-bpe" = train a tiny offline BPE on the data
    tokenizer_vocab: int = 512  # vocabulary of the "tiny-bpe" tokenizer
    dtype: str = "bfloat16"  # weights dtype: bf16 on MI250/H100; float32 on CPU
    attn_implementation: str = "sdpa"  # "flash_attention_2" where installed (CUDA, ROCm CK build); sdpa runs everywhere


@dataclass
class DataSpec:
    snapshot: str | None = None  # tag, snapshot id or "run:<id>" to pin; None = the table's current snapshot
    data_root: str = "data"  # where the snapshot catalog and warehouse live (the pipeline's data_root)
    # Iceberg table and namespace; None = the stage's own: corpus.documents (CPT), instruct.sft (SFT),
    # instruct.kto (KTO), the tables schemas/corpus.py and schemas/instruct.py define
    table: str | None = None
    namespace: str | None = None
    text_column: str = "text"  # column holding the document text (CPT)
    files: list[str] | None = None  # local Parquet/JSONL files instead of a snapshot (SFT/KTO sets kept outside tables)
    seq_len: int = 4096  # CPT packed row length; Llama-3 takes 8192, 4096 keeps activation memory in check


@dataclass
class GrowthSpec:
    depth_every: int | None = 5  # LlamaPro: one zero-output copy after every 5 blocks (80 -> 96 layers); None = off
    freeze_original: bool = False  # LlamaPro's "train only the new blocks"; the recipe trains everything
    hidden_size: int | None = 9216  # MSG target widths (None = keep): 9216 = 72 heads * 128
    intermediate_size: int | None = 30720
    num_attention_heads: int | None = 72  # 8 KV groups of 9 query heads
    num_key_value_heads: int | None = 8
    mask_start: int = 0  # step at which the first masks start to open
    mask_ramp: int = 1000  # steps for one component's masks to go from 0 to 1
    mask_stagger: int = 0  # extra delay per layer (progressive per-layer opening)


@dataclass
class StageSpec:
    model: ModelSpec
    data: DataSpec
    args: dict = field(default_factory=dict)  # TrainingArguments / SFTConfig / KTOConfig fields, the library's names
    # Sequences per optimizer step over all ranks. Set, it fixes gradient_accumulation_steps = global_batch /
    # (per_device_train_batch_size x world size) at launch, so a stage trains at the recipe's batch whatever the
    # number of processes (it refuses a world size that does not divide it); None = args as written
    global_batch: int | None = None
    # KTO only: directory of the reference log-prob cache, shared across runs. The reference is identified by its
    # checkpoint's content (config, index, weight checksums: training.checkpoint.checkpoint_fingerprint), never a name
    ref_cache_dir: str | None = None
    loss_chunk_size: int | None = None  # CPT only: fused cross-entropy in chunks of C tokens, no full logits; None = HF


@dataclass
class EvalSpec:
    kmmlu_dir: str | None = None  # directory with dev/ and test/ CSVs in KMMLU's format
    # KorMedMCQA as HF sean0042/KorMedMCQA lays it out (<exam type>/{dev,test}-*.parquet, every exam type), or
    # CSV / JSONL files with "dev" / "test" in their names
    kormedmcqa_dir: str | None = None
    shots: int = 5  # few-shot examples per question, from the dev split of the same subject
    method: str = "loglik"  # "loglik" (answer-letter log-likelihood) or "generate" (greedy, then extract the letter)
    max_questions: int | None = None  # per subject, for quick checks
    # a subject with fewer dev rows than `shots` is an error (a silently 0-shot subject skews the average); True
    # scores it with what there is and marks it in the table
    allow_fewer_shots: bool = False
    # "auto": accelerate places the model's layers over every visible GPU (then CPU), for models larger than one
    # device (102B in bf16 = 204 GB); None = one device
    device_map: str | None = None


@dataclass
class Recipe:
    name: str
    notes: str = ""  # hardware notes (ROCm, RCCL, flash-attention) for the people running it
    growth: GrowthSpec | None = None
    cpt: StageSpec | None = None
    sft: StageSpec | None = None
    kto: StageSpec | None = None
    eval: EvalSpec | None = None


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> Recipe:
    """Load a recipe YAML; `overrides` are "a.b.c=value" strings (value parsed as YAML).

    Raises ``ConfigError`` (a ValueError) naming the dotted key for an unknown key or a wrongly typed value.
    """
    data = read_yaml(path, "recipe")
    return from_dict(Recipe, with_overrides(data, parse_sets(overrides, "override")))
