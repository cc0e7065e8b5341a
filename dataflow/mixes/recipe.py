"""A mix recipe: which snapshots, at which token shares, how big, and how to reach the shares.

A recipe is its own YAML file (``configs/mix-*.yaml``), loaded as strictly as the pipeline config
(unknown keys and wrong types are an error naming the key). It is checked before any document is
read, so a recipe that cannot be right fails in milliseconds with a one-line message.

Shares are token shares in the tokenizer the recipe names. ``languages`` gives each language's
share of the whole mix; inside a language, ``sources`` gives chosen source kinds a share of that
language's tokens, and the source kinds it does not name share what is left in their natural
proportion (all of them: they are sampled together as one cell, ``*``). So the recipe's
"papers, patents and reports at a set share of the Korean part" reads

    languages:
      ko: {share: 0.9, sources: {paper: 0.05, patent: 0.05, report: 0.05}}   # web + text: the other 85 %
      en: {share: 0.1}
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dataflow.config import ConfigError, SnapshotConfig, from_dict, read_yaml, with_overrides
from schemas.mixes import MIX_NAMESPACE, REST

DOWNSAMPLE, UPSAMPLE = "downsample", "upsample"
SHARE_TOLERANCE = 1e-6  # shares are decimals in YAML; they must sum to 1 within float rounding

# FineWeb-2's rehydration weights (github.com/huggingface/fineweb-2, "rehydration"): a kept document that
# stood for a near-duplicate cluster of at least N documents is repeated w times; clusters of 1,000+ are
# mostly spam and templated pages, so they fall back to 1.
FINEWEB2_REHYDRATION = {"1": 1.0, "2": 2.0, "3": 3.0, "5": 5.0, "100": 8.0, "1000": 1.0}


@dataclass
class LanguageShare:
    share: float  # share of the whole mix's tokens, 0..1; the languages' shares sum to 1
    # share of this language's tokens per source kind (paper, patent, report, web, text); kinds not named
    # share the rest (1 - sum) in their natural proportion; sum 1 leaves the unnamed kinds out
    sources: dict[str, float] = field(default_factory=dict)


@dataclass
class Rehydration:
    # off by default: it changes what the mix says about the corpus (duplicated content is weighted up)
    enabled: bool = False
    # cluster size lower bound -> weight (repeats per unit of sampling rate), FineWeb-2's table by default
    weights: dict[str, float] = field(default_factory=lambda: dict(FINEWEB2_REHYDRATION))

    def table(self) -> list[tuple[int, float]]:
        """The weights as (lower bound, weight), ascending."""
        return sorted((int(k), float(v)) for k, v in self.weights.items())


@dataclass
class MixRecipe:
    name: str  # the tag put on the mix snapshot: training pins `cpt.data.snapshot=<name>`
    tokenizer: str  # Hugging Face tokenizer directory (tokenizer.json or files AutoTokenizer reads), no download
    sources: list[str]  # corpus documents snapshots: tag, snapshot id, "run:<run id>" or "current"
    languages: dict[str, LanguageShare]  # language -> share (and shares by source kind inside it)
    data_root: str = "data"  # where the corpus catalog and warehouse live; the mix is written there too
    # tokens in the mix (the recipe's 194B); 0 = the largest mix the sources allow at the shares without repeats
    token_budget: int = 0
    # downsample: every document at most once (a budget the sources cannot fill at the shares is an error);
    # upsample: documents of a scarce cell repeat, at most max_repeats times each
    sampling: str = DOWNSAMPLE
    # 4: Muennighoff et al. 2023 ("Scaling Data-Constrained Language Models"): up to ~4 epochs of repeated data
    # train almost as well as unique data; returns fall off quickly after that
    max_repeats: int = 4
    seed: int = 0  # which documents are drawn and the row order; same recipe + seed + sources = same mix, row for row
    rehydration: Rehydration = field(default_factory=Rehydration)
    batch_docs: int = 1000  # documents tokenized per call: the batched Rust path needs hundreds to amortise a call
    # ~64 MB of text per shuffle bucket: one bucket is sorted in memory at a time, so memory stays flat
    shuffle_bucket_bytes: int = 64_000_000
    catalog: SnapshotConfig = field(default_factory=SnapshotConfig)  # where the source snapshots are (corpus)
    namespace: str = MIX_NAMESPACE  # catalog namespace the mix table is written to

    @property
    def cap(self) -> int:
        """Most rows one document may fill: 1 when down-sampling."""
        return self.max_repeats if self.sampling == UPSAMPLE else 1

    def cells(self) -> list[tuple[str, str, float]]:
        """(language, source kind or REST, share of the whole mix) for every cell with a share > 0."""
        out = []
        for lang, spec in sorted(self.languages.items()):
            named = sum(spec.sources.values())
            for kind, share in sorted(spec.sources.items()):
                if share > 0:
                    out.append((lang, kind, spec.share * share))
            if 1 - named > SHARE_TOLERANCE:
                out.append((lang, REST, spec.share * (1 - named)))
        return [c for c in out if c[2] > 0]

    def to_json(self) -> str:
        """The recipe as canonical JSON (sorted keys): what the mix summary records and its id hashes.

        Where things live (``catalog``: its URL may carry a password; ``data_root``) and ``batch_docs`` (a
        speed knob) are left out: they do not change the mix.
        """
        data = dataclasses.asdict(self)
        for key in ("catalog", "data_root", "batch_docs"):
            data.pop(key)
        return json.dumps(data, sort_keys=True, ensure_ascii=False)

    def fingerprint(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()


def validate(recipe: MixRecipe) -> MixRecipe:
    """Refuse a recipe that cannot be right, naming the key; returns it unchanged."""
    if not recipe.name:
        raise ConfigError("name: the mix needs a name (it becomes the snapshot's tag)")
    if not recipe.tokenizer:
        raise ConfigError("tokenizer: name a Hugging Face tokenizer directory (no download at run time)")
    if not recipe.sources:
        raise ConfigError("sources: name at least one corpus snapshot (tag, id, run:<id> or current)")
    if not recipe.languages:
        raise ConfigError("languages: give at least one language a share")
    if recipe.sampling not in (DOWNSAMPLE, UPSAMPLE):
        raise ConfigError(f"sampling: {recipe.sampling!r} is not {DOWNSAMPLE!r} or {UPSAMPLE!r}")
    for key in ("max_repeats", "batch_docs", "shuffle_bucket_bytes"):
        if getattr(recipe, key) < 1:
            raise ConfigError(f"{key}: must be at least 1, got {getattr(recipe, key)}")
    if recipe.sampling == UPSAMPLE and recipe.token_budget == 0:
        raise ConfigError(
            "token_budget: up-sampling needs a budget (0 = the largest mix without repeats: sampling: downsample)"
        )
    if recipe.token_budget < 0:
        raise ConfigError(f"token_budget: must be >= 0 (0 = as large as the sources allow), got {recipe.token_budget}")
    total = 0.0
    for lang, spec in recipe.languages.items():
        if not 0 <= spec.share <= 1:
            raise ConfigError(f"languages.{lang}.share: {spec.share} is not within 0..1")
        total += spec.share
        for kind, share in spec.sources.items():
            if kind == REST:
                raise ConfigError(f"languages.{lang}.sources: {REST!r} is the unnamed kinds' cell, not a source kind")
            if not 0 <= share <= 1:
                raise ConfigError(f"languages.{lang}.sources.{kind}: {share} is not within 0..1")
        named = sum(spec.sources.values())
        if named > 1 + SHARE_TOLERANCE:
            raise ConfigError(f"languages.{lang}.sources: shares sum to {named:g}, more than the language's whole")
    if abs(total - 1) > SHARE_TOLERANCE:
        raise ConfigError(f"languages: shares sum to {total:g}, not 1")
    for bound, weight in recipe.rehydration.weights.items():
        if not bound.isdigit() or int(bound) < 1:
            raise ConfigError(f"rehydration.weights: key {bound!r} is not a cluster size >= 1")
        if weight <= 0:
            raise ConfigError(f"rehydration.weights.{bound}: weight must be > 0, got {weight}")
    if recipe.rehydration.enabled and "1" not in recipe.rehydration.weights:
        raise ConfigError("rehydration.weights: needs a weight for cluster size 1 (documents without duplicates)")
    return recipe


def load_recipe(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> MixRecipe:
    """Load and check a recipe YAML; ``overrides`` maps dotted keys to values (``{"seed": 3}``)."""
    data = with_overrides(read_yaml(path, "mix recipe"), overrides)
    for key in ("name", "tokenizer", "sources", "languages"):
        if key not in data:
            raise ConfigError(f"{key}: required in a mix recipe")
    return validate(from_dict(MixRecipe, data))
