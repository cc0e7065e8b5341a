"""Typed pipeline configuration: one dataclass per section, strict YAML loading.

Every field carries its reason; defaults follow the recipe and the published settings cited
beside them. Unknown keys are an error (with their dotted path), so a typo never silently
falls back to a default. There is no default for inputs or model paths: a config names them.
``configs/default.yaml`` is the documented default the demo runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A config file or dict that does not match the schema below."""


# vocabularies the config's own checks need (the floors above import them from here)
ENGINES = ("local", "spark", "beam")
SNAPSHOT_MODES = ("append", "overwrite")
DEDUP_SCOPES = ("run", "corpus")  # dedup.scope: within the run, or also against every published document
FOLLOW_INSIDE, FOLLOW_NEVER = "inside", "never"  # read.follow_symlinks (dataflow/readers/discover.py)
FOLLOW_SYMLINKS = (FOLLOW_INSIDE, FOLLOW_NEVER)
# run ids and tags name directories and Iceberg refs: no path separators, no leading dot, no spaces
NAME_RE = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"


@dataclass
class ReadConfig:
    inputs: list[str] = field(default_factory=list)  # files, directories (recursive) or globs; required
    max_record_bytes: int = 20_000_000  # trafilatura's own MAX_FILE_SIZE; larger records drop as too_large
    default_source_kind: str = "text"  # source kind of plain text / JSONL / Parquet records that name none
    text_field: str = "text"  # field holding the text in JSONL / Parquet inputs
    id_field: str = "id"  # optional field with the record's own id in JSONL / Parquet inputs
    url_field: str = "url"  # optional field with the record's address
    # skip input files whose content (sha256) a published run already read completely, so a touched or
    # re-copied file adds nothing (they get inputs rows with status 'unchanged'); false = `--full`, read all
    incremental: bool = True
    # links found in input directories and globs: "inside" follows those whose resolved target stays inside
    # the input roots (a link out, e.g. to /etc/passwd, is refused as outside_inputs); "never" follows none
    follow_symlinks: str = "inside"


# web page types (WCXB's seven; dataflow/extractors/page_type.py) and the extraction strategies one can be
# given (dataflow/extractors/html_types.py): named here, once, because HtmlConfig checks against them
PAGE_TYPES = ("article", "documentation", "forum", "product", "collection", "listing", "service")
HTML_STRATEGIES = ("precision", "trafilatura", "recall", "dom", "dom_links", "dom_or_precision")


@dataclass
class HtmlConfig:
    # trafilatura 2.3.1 with favor_precision scored the best F1 on the ScrapingHub benchmark (BENCHMARKS.md)
    favor_precision: bool = True
    favor_recall: bool = False
    include_tables: bool = True  # tables often hold the substance of Korean public pages
    include_comments: bool = False  # reader comments are mostly chatter
    # trafilatura's cache drops text seen before in the same process, which makes output depend on
    # document order and worker layout; dedup is done globally later instead
    deduplicate: bool = False
    # extracted text shorter than this is no_main_text: what trafilatura's fallback returns for a page
    # that is only navigation ("Home Login") is below it, and so is anything the quality filters would drop
    # anyway (Gopher wants >= 50 words; 50 characters is ~12 Korean words)
    min_chars: int = 50
    # skip trafilatura's fallback extractors on every run (the recall guard's too): with the defaults below
    # ScrapingHub 1.54x -> 1.68x trafilatura default at F1 0.967, but the Korean donga page 0.985 -> 0.764
    # (bench/bench_extraction.py, BENCHMARKS.md 2026-12-02 04:21 run); precision_fast takes the speed where the
    # guard can catch the loss
    fast: bool = False
    # trafilatura's metadata (author, date, sitename, ...) costs ~30% more CPU per page and does not change
    # the text; off, the title still comes from <title>
    with_metadata: bool = False
    # detect the page type (dataflow/extractors/page_type.py) and extract each type its own way
    # (html_types.py); off, every page gets trafilatura with favor_precision/favor_recall above. On, WCXB dev
    # subset word F1 0.656 -> 0.844 at 1.10x -> 1.84x trafilatura default's pages per CPU-second, ScrapingHub
    # 0.964 -> 0.967 at 0.94x -> 1.70x, snippet F1 0.906 -> 0.912 (BENCHMARKS.md, 2026-12-02 15:08 and 16:00 runs)
    page_types: bool = True
    # page type -> strategy (one of HTML_STRATEGIES; html_types.py), the best per detected type on the WCXB
    # dev subset (2026-12-02, "by detected type"): the DOM extractor keeping link blocks wins on listings (0.746
    # vs trafilatura's 0.479, plain DOM 0.651), collections (0.798 vs 0.643) and documentation (0.924 vs 0.904),
    # plain DOM on service pages (0.894, link blocks kept the same, vs 0.775) and forums (0.786 vs 0.745: it
    # keeps every post, where trafilatura drops some replies), trafilatura on products (0.735 vs DOM 0.662),
    # favor_precision on articles (0.910 vs 0.902)
    strategies: dict[str, str] = field(
        default_factory=lambda: {
            "article": "precision",
            "documentation": "dom_links",
            "forum": "dom",
            "product": "trafilatura",
            "collection": "dom_links",
            "listing": "dom_links",
            "service": "dom",
        }
    )
    # pages where nothing (JSON-LD, og:type, generator, URL shape, structure) names a type: on the WCXB dev
    # subset 41 of 408, mostly service and listing pages; dom_or_precision 0.862 on them, dom 0.832, dom_links
    # 0.851, the precision strategy 0.781 (2026-12-02)
    fallback_strategy: str = "dom_or_precision"
    # dom_or_precision: trafilatura favor_precision's text replaces the DOM text when it holds at least this
    # share of the DOM text's words, counted with repeats (a story whose leftover chrome trafilatura drops;
    # below it trafilatura has dropped content). Against dom as the fallback: WCXB 0.8305 -> 0.8336 (listings
    # 0.782 -> 0.806) at 1.94x -> 1.66x trafilatura default's pages per CPU-second (2026-12-02); snippet F1
    # 0.901 -> 0.911 when it came in
    dom_precision_share: float = 0.8
    # precision strategy: when favor_precision keeps less than this share of the DOM extractor's text it has
    # dropped content, and trafilatura's default run is taken instead (against 0: WCXB articles 0.939 ->
    # 0.954, service 0.807 -> 0.870, overall 0.813 -> 0.834 at 1.81x -> 1.66x trafilatura default, 2026-12-02);
    # 0 = never. The guard's second run takes 18 of 178 ScrapingHub articles
    recall_guard: float = 0.4
    # precision strategy: trafilatura reads only the main root (<main>/<article> or body) of the lexbor-pruned
    # tree, re-serialized without images, not the whole page: its XPath rules visit every element
    # (ScrapingHub pages 173 -> 21 KB). With precision_fast, ScrapingHub 0.96x -> 1.54x trafilatura default,
    # F1 0.966 -> 0.967; with both off / on (2026-12-02), WCXB articles 0.951 / 0.954, service 0.867 / 0.870,
    # overall 0.830 / 0.834 (the service pages it once cost are fixed in the pruner)
    precision_main_root: bool = True
    # precision strategy: its first trafilatura run skips the fallback extractors (readability, justext);
    # the recall guard's full default run catches the pages where that drops content (the donga page: 0.985,
    # against 0.764 with html.fast, which skips them in the guard's run too). With precision_main_root,
    # ScrapingHub 1.36x -> 1.54x, F1 0.969 -> 0.967 (2026-12-02)
    precision_fast: bool = True
    # trafilatura and recall strategies (products): the first run skips trafilatura's fallback extractors, and where
    # its text is under recall_guard x the pruned page's main text, the full run replaces it. WCXB dev subset, against
    # off (bench/bench_extraction.py, 2026-12-02 16:00 run): 0.843 -> 0.844 (products 0.727 -> 0.741, collections
    # 0.801 -> 0.794: one page), at the same speed (1.84x / 1.86x trafilatura default): trafilatura's fallbacks
    # replace its text on a few product pages, and there for the worse; fast without the guard 0.835 (products 0.702)
    trafilatura_fast: bool = True
    # product pages whose description is only in JSON-LD (script-rendered tabs) get it appended, and the
    # product's name (<h1>) put first where trafilatura left it out (WCXB product pages 0.680 -> 0.721, 2026-12-02)
    product_json_ld: bool = True
    # page type -> the DOM strategies drop non-heading blocks of fewer words: on forums these are user names,
    # vote counts and Reply/Quote buttons, on listings item counters, "Read more" and tag chips. None against
    # these (2026-12-02): WCXB forums 0.765 -> 0.773, listings 0.798 -> 0.806, collections 0.769 -> 0.774
    min_block_words: dict[str, int] = field(default_factory=lambda: {"forum": 4, "listing": 4})
    # a page whose text is shorter than min_chars (rendered by script, a video or app page with a caption) takes its
    # <meta name="description"> (or og:description) where that is longer: the site's own summary of the page, so
    # such pages are kept rather than no_main_text (html_strategy "description"). WCXB dev subset, against off:
    # 0.841 -> 0.844 (collections 0.776 -> 0.794), empty pages 4 -> 0, no page lower (2026-12-02 16:00 run)
    description_fallback: bool = True
    # pages whose elements nest deeper than this are markup_too_deep, checked by a scan before any parser
    # runs: lexbor's tree building is quadratic in depth (13 s at 100,000 nested <div>, minutes beyond) and
    # the tree walkers recurse. Blink stops nesting at 512 too; real pages stay far below it
    max_depth: int = 512

    def __post_init__(self) -> None:
        if self.max_depth < 1:
            raise ConfigError(f"extract.html.max_depth: must be at least 1, got {self.max_depth}")
        for kind, strategy in self.strategies.items():
            if kind not in PAGE_TYPES:
                known = ", ".join(PAGE_TYPES)
                raise ConfigError(f"extract.html.strategies: unknown page type {kind!r} (known: {known})")
            if strategy not in HTML_STRATEGIES:
                known = ", ".join(HTML_STRATEGIES)
                raise ConfigError(f"extract.html.strategies.{kind}: unknown strategy {strategy!r} (known: {known})")
        if self.fallback_strategy not in HTML_STRATEGIES:
            known = ", ".join(HTML_STRATEGIES)
            raise ConfigError(f"extract.html.fallback_strategy: unknown strategy {self.fallback_strategy!r} ({known})")


@dataclass
class PdfConfig:
    source_kind: str = "paper"  # papers and reports both come as PDF; set per input set
    # pages read per file; later pages are skipped (metadata pages_extracted). At ~40 pages/s per core
    # (bench/bench_pdf.py) 2,000 pages is under a minute, so one giant file cannot stall a worker
    max_pages: int = 2000
    tables: bool = True  # ruled tables found by PyMuPDF's find_tables come out as Markdown rows
    # "auto": a Korean line that wraps mid-word (no trailing space, full line) joins without a space, so
    # 확\n진자 -> 확진자; "space": always a space, as docling's ground truth does (see bench/bench_pdf.py)
    korean_line_join: str = "auto"


@dataclass
class PatentConfig:
    source_kind: str = "patent"
    # title/abstract/description/claims also as metadata fields (the metadata JSON then repeats the text)
    fields_in_metadata: bool = True


@dataclass
class HwpConfig:
    source_kind: str = "report"  # Korean public reports are mostly HWP/HWPX
    headers_footers: bool = True  # stored once per section (not per page), so kept once, after the body
    notes: bool = True  # footnotes and endnotes, appended after the body
    # inflated bytes per document (all sections / zip members): 10x read.max_record_bytes, since
    # Korean text deflates 3-10x; more is treated as a decompression bomb (zip_bomb)
    max_uncompressed_bytes: int = 200_000_000
    max_member_bytes: int = 100_000_000  # one HWPX zip member (a section's XML)
    pua_to_jamo: bool = True  # old Hangul stored as Hanyang private-use chars -> Unicode jamo (hypua2jamo)


@dataclass
class ExtractConfig:
    # record formats to extract; a record of another format drops as format_disabled
    formats: list[str] = field(
        default_factory=lambda: ["html", "text", "pdf", "patent_xml", "patent_aps", "hwp", "hwpx"]
    )
    html: HtmlConfig = field(default_factory=HtmlConfig)
    pdf: PdfConfig = field(default_factory=PdfConfig)
    patent: PatentConfig = field(default_factory=PatentConfig)
    hwp: HwpConfig = field(default_factory=HwpConfig)


@dataclass
class NormalizeConfig:
    form: str = "NFC"  # NFC keeps Hangul syllables composed (NFD would split them into jamo)
    fix_mojibake: bool = True  # ftfy repairs text decoded with the wrong codec
    max_blank_lines: int = 1  # runs of blank lines collapse to this many


@dataclass
class LangIdConfig:
    model_path: str = ""  # fastText lid.176 model file (required; `make setup` puts one in models/)
    languages: list[str] = field(default_factory=lambda: ["ko", "en"])  # kept languages
    min_score: float = 0.65  # FineWeb's language-score threshold for its kept languages
    # per-language thresholds over min_score; ko: FineWeb-2 configs/kor_Hang.yml language_score (set on GlotLID;
    # with lid.176 only 1 of 964 KorQuAD paragraphs, a song list, scores below it)
    min_scores: dict[str, float] = field(default_factory=lambda: {"ko": 0.842})
    # Korean-aware decision over lid.176 (dataflow/stages/langid.py): Hangul decides Korean, kana excludes it.
    # NSMC reviews 95.4% (lid.176 alone) -> 99.4%; BENCHMARKS.md "Language ID" (python -m quality_models.lid_eval)
    script_rules: bool = True
    # Hangul share of non-Han letters from which a text is Korean whatever lid.176 says; and under which
    # lid.176's "ko" is refused. Swept on parallel, NSMC and code-switched sets (BENCHMARKS.md): 0.4/0.2 keeps
    # parallel KO 20+ at 99.88%; a refusal bar of 0.3 gains 0.8 points on English with Korean phrases but
    # costs parallel KO 0.07 points (99.81%, at the target)
    hangul_min_share: float = 0.4
    ko_keep_min_share: float = 0.2
    kana_max_share: float = 0.1  # kana share of letters at or above which a text is never Korean
    # Latin letters per Hangul syllable for the same content: 402,738 / 174,699 on 4,440 aligned KO/EN lines
    latin_per_syllable: float = 2.3
    granularity: str = "document"  # or "line": each line decided, lines of languages not kept removed


@dataclass
class QualityConfig:
    english: bool = True  # Gopher, C4 and FineWeb rules on English documents
    # which English filters run, in this order (FineWeb's chain); a subset trades recall of junk for speed
    english_filters: list[str] = field(default_factory=lambda: ["gopher", "gopher_repetition", "c4", "fineweb"])
    korean: bool = True  # FineWeb-2 Korean thresholds on Korean documents
    # fast: Kiwi's word numbers estimated from a cheap split plus calibrated extra-token tables, checked on
    # intervals calibrated against Kiwi; Kiwi only where one straddles a threshold and no later rule fails for
    # sure (bench/bench_quality_ko.py: 99.72 % equal keep/drop decisions on 36k Korean test documents, Kiwi
    # asked for 1.7 % of the bytes, 2.85 MB/s per core = 14.8x kiwi mode). kiwi: Kiwi morphemes for every
    # document (FineWeb-2's setup, the reference; ~0.15-0.2 MB/s per core)
    korean_words: str = "fast"
    # source kinds the web-calibrated rules judge; papers, patents and reports pass untouched: their
    # formulas, numbers and tables fail Gopher's alphabetic-word ratio although they are the recipe's
    # most valuable text (their extractors already refuse empty or broken documents)
    source_kinds: list[str] = field(default_factory=lambda: ["web", "text"])


@dataclass
class QualityModelConfig:
    # model-based quality filter (dataflow/stages/quality_model.py); off by default: it needs a trained model
    # (`make setup` builds the default one into models/quality.bin, see docs/quality_model_card.md)
    enabled: bool = False
    model_path: str = ""  # fastText quality model from `python -m quality_models.train` (required when enabled)
    # P(high quality) under which a document drops as low_quality_score; 0.5 on the hand-labelled set: precision
    # and recall in docs/quality_model_card.md
    threshold: float = 0.5
    # > 0: keep about this top fraction instead, by the model card's score quantiles of its training texts
    # (the threshold at quantile 1 - fraction; an exact top-k of one run would need a global pass)
    keep_top_fraction: float = 0.0
    filter: bool = True  # False: score and record only, drop nothing
    max_chars: int = 20_000  # characters scored per document (the head of longer ones)


@dataclass
class BoilerplateConfig:
    enabled: bool = True  # line-level removal of Korean/English web chrome (bylines, copyright, share)


@dataclass
class PIIConfig:
    enabled: bool = True
    types: list[str] = field(
        default_factory=lambda: ["email", "phone", "rrn", "card", "ip"]
    )  # what to redact; each becomes a typed placeholder such as <EMAIL>
    # RRNs issued since October 2020 carry random trailing digits with no check digit; True keeps
    # false positives low (date + checksum), False also catches the new numbers (date only)
    rrn_require_checksum: bool = True
    ip_public_only: bool = True  # FineWeb/datatrove PIIFormatter: private/reserved addresses identify no one


@dataclass
class DedupConfig:
    # Values chosen by bench/bench_dedup.py (BENCHMARKS.md): planted copies of 947 KorQuAD and 628
    # English (news, JHE) documents, 10 edit kinds each, precision/recall per setting.
    exact: bool = True  # drop documents whose canonical text (NFKC, casefold, no punctuation) hashes equal
    near: bool = True  # MinHash LSH near-duplicate removal among the exact survivors
    # char: code points with spaces removed (spacing-insensitive, no tokenizer, one unit for every language).
    # Word 5-grams (FineWeb) catch only 39 % of light edits (Korean eojeol are long units). Kiwi morpheme
    # 3-grams do a little better on Korean (0.88 vs 0.83) but cost ~35x per document (165-214 vs
    # 5,800-9,200 docs/s) and are plain words for English (0.58)
    unit: str = "char"
    # 5: n=4 has 10x more expected false pairs on English news (background Jaccard), n=6-7 lose recall
    ngram: int = 5
    # 50 bands x 3 rows = 150 permutations: S-curve threshold (1/50)^(1/3) = 0.27, so copies down to Jaccard
    # 0.5 are candidates (P = 1 - (1 - 0.5^3)^50 = 0.9988), and `verify` removes the many false candidates
    # such a low threshold admits. BENCHMARKS.md "Verified near-dedup" (planted set, pair level): 50x3
    # verified >= 0.42 gives pair F1 1.000 (ko) / 1.000 (en), precision 1.000 / 1.000, one copy kept in 1.000 /
    # 0.995 of the planted groups; FineWeb's 14x8 (0.72, unverified) gave F1 0.757 / 0.799, one kept 0.04 / 0.06.
    # 40x3 has too few permutations for a sharp check (one kept 0.977 at t = 0.45, en precision 0.986 at 0.4)
    bands: int = 50
    rows: int = 3
    # signature agreement (the MinHash estimate of Jaccard, dedup/verify.py) a candidate pair needs before
    # it links two documents; 0 = no check (every pair sharing a band key links: only sane at thresholds
    # >= 0.5, e.g. 14x8). 0.42 on 150 permutations: the standard error of the estimate at J = 0.5 is
    # sqrt(0.25 / 150) = 0.041, so a copy at J = 0.5 passes with P = 0.98 (binomial, >= 63 of 150 equal); 0.40
    # lets template pages with different short bodies verify (en precision 0.998), 0.45 splits groups at J ~ 0.5
    # (one kept 0.980 / 0.990); permutation seeds 2 and 3 of this layout also meet every target
    verify: float = 0.42
    seed: int = 1  # seed of datasketch's permutations; changing it changes every band key
    # corpus: also dedup against every document already published (the catalog's dedup_index table), so a
    # re-crawled page or an unchanged record of a changed file is dropped naming the published copy
    # (DESIGN invariant 6); run: within the run only. Changing unit/ngram/bands/rows/seed invalidates the index
    # (rebuild with --full into a fresh data root). corpus works on every engine (Spark and Beam join the
    # index by key; tests/dataflow/test_nightly_engines.py, docs/nightly.md)
    scope: str = "corpus"

    @property
    def num_perm(self) -> int:
        """Signature length: bands x rows (no separate field that could disagree with them)."""
        return self.bands * self.rows

    @property
    def layout(self) -> str:
        """What band keys and signatures depend on, e.g. ``char/5/50x3/seed1``: the dedup index records it
        per row, and an index of another layout is refused (its keys would never match)."""
        return f"{self.unit}/{self.ngram}/{self.bands}x{self.rows}/seed{self.seed}"


@dataclass
class SnapshotConfig:
    catalog_uri: str = ""  # SQLAlchemy URL; '' = sqlite:///<data_root>/catalog.db
    warehouse: str = ""  # '' = file://<data_root>/warehouse
    catalog_name: str = "dataflow"
    namespace: str = "corpus"
    mode: str = "append"  # append: each run adds its documents; overwrite: the table holds only this run
    tag: str = ""  # optional tag put on the committed documents snapshot, e.g. "release-2026-11"


@dataclass
class SparkOptions:
    # '' = local[engine.workers] when run with plain `python`, or whatever spark-submit --master set
    master: str = ""
    driver_memory: str = "4g"  # JVM heap of a local[*] driver: Spark's default -Xmx1g is tight for models + Arrow
    shuffle_partitions: int = 4  # spark.sql.shuffle.partitions: 200 (Spark's default) is ~50x too many on 2 cores
    cc_max_rounds: int = 50  # large/small-star rounds before giving up: O(log² n) suffice, 3-6 in practice
    # a run of at most this many documents past phase 1 is planned on the driver (dedup.spark_cc.driver_plan: the
    # local union-find, the same plan) instead of by dozens of small Spark jobs; 100k documents x ~1.1 kB of keys
    # (spark_cc.driver_plan's arithmetic) ~ 110 MB of Arrow on the driver. 0 = always plan on the cluster
    driver_plan_max_docs: int = 100_000
    checkpoint_dir: str = ""  # reliable checkpoints for the dedup rounds on a cluster (hdfs://...); '' = local
    conf: dict[str, str] = field(default_factory=dict)  # any other spark.* setting, e.g. spark.executor.memory
    # tests only: the first attempt of shard 0 raises once its work is done, leaving a marker file in
    # this directory (shared by every executor), so a test sees Spark retry a task; '' = never
    fail_once_dir: str = ""


@dataclass
class BeamOptions:
    runner: str = "DirectRunner"  # DirectRunner, FlinkRunner, SparkRunner, DataflowRunner (docs/engines.md)
    # DirectRunner only: multi_processing runs engine.workers SDK processes (in_memory is one process)
    direct_running_mode: str = "multi_processing"
    # rounds of min-label propagation unrolled into the graph; clusters still split after them are
    # joined by union-find over their (few) label pairs in one worker (dataflow/dedup/beam_cc.py)
    cc_rounds: int = 4
    flags: list[str] = field(default_factory=list)  # passed to PipelineOptions as given, e.g. --flink_master=...


@dataclass
class EngineConfig:
    name: str = "local"  # local (embedded default), spark or beam
    workers: int = 2  # processes (local), local[N] cores (spark), direct_num_workers (beam DirectRunner)
    tasks: int = 0  # shards of the input list (file i -> shard i mod tasks); 0 = as many as workers
    spark: SparkOptions = field(default_factory=SparkOptions)
    beam: BeamOptions = field(default_factory=BeamOptions)


@dataclass
class PipelineConfig:
    data_root: str = "data"  # catalog, warehouse and run scratch live under here
    run_id: str = ""  # '' = derived from the config hash and the input manifest (reruns are idempotent)
    read: ReadConfig = field(default_factory=ReadConfig)
    extract: ExtractConfig = field(default_factory=ExtractConfig)
    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)
    langid: LangIdConfig = field(default_factory=LangIdConfig)
    boilerplate: BoilerplateConfig = field(default_factory=BoilerplateConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    quality_model: QualityModelConfig = field(default_factory=QualityModelConfig)
    pii: PIIConfig = field(default_factory=PIIConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    snapshot: SnapshotConfig = field(default_factory=SnapshotConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)

    def hash(self) -> str:
        """sha256 of everything that can change the output (not the engine, run id or paths)."""
        data = dataclasses.asdict(self)
        for k in ("engine", "run_id", "data_root", "snapshot"):
            data.pop(k)
        data["read"].pop("inputs")
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _check(value: Any, hint: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, path)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{path}: expected a list, got {value!r}")
        (item,) = typing.get_args(hint)
        return [_check(v, item, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping, got {value!r}")
        _, item = typing.get_args(hint)
        return {str(k): _check(v, item, f"{path}.{k}") for k, v in value.items()}
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if value is not None and len(options) == 1:  # X | None: X's own error names the key that is wrong
            return _check(value, options[0], path)
        for arg in typing.get_args(hint):
            try:
                return _check(value, arg, path)
            except ConfigError:
                continue
        raise ConfigError(f"{path}: {value!r} is not {hint}")
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is type(None):
        if value is not None:
            raise ConfigError(f"{path}: expected null")
        return None
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise ConfigError(f"{path}: expected {hint.__name__}, got {type(value).__name__} {value!r}")
    return value


def from_dict(cls: type, data: dict[str, Any] | None, path: str = "") -> Any:
    """Build dataclass ``cls`` from a dict, rejecting unknown keys and wrong types."""
    data = data or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path or 'config'}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        where = f" in {path}" if path else ""
        raise ConfigError(f"unknown key(s){where}: {', '.join(unknown)} (known: {', '.join(sorted(names))})")
    kwargs = {k: _check(v, hints[k], f"{path}.{k}" if path else k) for k, v in data.items()}
    return cls(**kwargs)


def _problems(cfg: PipelineConfig) -> list[str]:
    """Every out-of-range or unknown value, as 'key: what is wrong (fix)'."""
    import re

    out: list[str] = []

    def need(ok: bool, key: str, message: str) -> None:
        if not ok:
            out.append(f"{key}: {message}")

    def one_of(value: str, choices: tuple[str, ...], key: str) -> None:
        need(value in choices, key, f"{value!r} is not one of {', '.join(choices)}")

    e, r, s = cfg.engine, cfg.read, cfg.snapshot
    one_of(e.name, ENGINES, "engine.name")
    need(e.workers >= 1, "engine.workers", f"must be at least 1, got {e.workers}")
    need(e.tasks >= 0, "engine.tasks", f"must be 0 (one per worker) or more, got {e.tasks}")
    need(e.spark.shuffle_partitions >= 1, "engine.spark.shuffle_partitions", "must be at least 1")
    need(e.spark.cc_max_rounds >= 1, "engine.spark.cc_max_rounds", "must be at least 1")
    need(e.spark.driver_plan_max_docs >= 0, "engine.spark.driver_plan_max_docs", "must be 0 or more")
    need(e.beam.cc_rounds >= 1, "engine.beam.cc_rounds", "must be at least 1")
    one_of(
        e.beam.direct_running_mode,
        ("multi_processing", "in_memory", "multi_threading"),
        "engine.beam.direct_running_mode",
    )
    need(bool(cfg.data_root), "data_root", "must name a directory")
    need(
        not cfg.run_id or re.fullmatch(NAME_RE, cfg.run_id) is not None,
        "run_id",
        f"{cfg.run_id!r} must match {NAME_RE}",
    )
    need(r.max_record_bytes >= 1, "read.max_record_bytes", f"must be at least 1, got {r.max_record_bytes}")
    one_of(r.follow_symlinks, FOLLOW_SYMLINKS, "read.follow_symlinks")
    need(all(isinstance(i, str) and i for i in r.inputs), "read.inputs", "entries must be non-empty paths or globs")
    need(bool(r.text_field), "read.text_field", "must name a field")
    x = cfg.extract
    need(x.html.min_chars >= 0, "extract.html.min_chars", "must be 0 or more")
    need(x.pdf.max_pages >= 1, "extract.pdf.max_pages", "must be at least 1")
    one_of(x.pdf.korean_line_join, ("auto", "space"), "extract.pdf.korean_line_join")
    one_of(cfg.quality.korean_words, ("fast", "kiwi"), "quality.korean_words")
    need(x.hwp.max_uncompressed_bytes >= 1, "extract.hwp.max_uncompressed_bytes", "must be at least 1")
    need(x.hwp.max_member_bytes >= 1, "extract.hwp.max_member_bytes", "must be at least 1")
    need(cfg.normalize.max_blank_lines >= 0, "normalize.max_blank_lines", "must be 0 or more")
    lid = cfg.langid
    need(bool(lid.languages), "langid.languages", "must keep at least one language")
    need(0.0 <= lid.min_score <= 1.0, "langid.min_score", f"must be within 0..1, got {lid.min_score}")
    for lang, score in lid.min_scores.items():
        need(0.0 <= score <= 1.0, f"langid.min_scores.{lang}", f"must be within 0..1, got {score}")
    d = cfg.dedup
    need(d.ngram >= 1, "dedup.ngram", f"must be at least 1, got {d.ngram}")
    need(d.bands >= 1, "dedup.bands", f"must be at least 1, got {d.bands}")
    need(d.rows >= 1, "dedup.rows", f"must be at least 1, got {d.rows}")
    need(0.0 <= d.verify <= 1.0, "dedup.verify", f"must be within 0..1 (0 = off), got {d.verify}")
    curve = (1 / d.bands) ** (1 / d.rows)  # the LSH S-curve's threshold
    need(
        not d.near or d.verify > 0 or curve >= 0.5,
        "dedup.verify",
        f"0 (off) with {d.bands}x{d.rows} bands (S-curve threshold {curve:.2f}) would link unrelated documents; "
        "set dedup.verify (e.g. 0.42) or use bands/rows with a threshold >= 0.5 (e.g. 14x8)",
    )
    one_of(d.scope, DEDUP_SCOPES, "dedup.scope")
    need(d.scope == "run" or d.exact or d.near, "dedup.scope", "'corpus' needs dedup.exact or dedup.near")
    one_of(s.mode, SNAPSHOT_MODES, "snapshot.mode")
    need(
        bool(s.namespace) and re.fullmatch(NAME_RE, s.namespace) is not None,
        "snapshot.namespace",
        f"must match {NAME_RE}",
    )
    need(
        not s.tag or (re.fullmatch(NAME_RE, s.tag) is not None and s.tag != "main"),
        "snapshot.tag",
        f"{s.tag!r} must match {NAME_RE} and not be 'main' (the branch)",
    )
    return out


def validate(cfg: PipelineConfig) -> PipelineConfig:
    """Check every value's range and vocabulary before anything is read; return ``cfg``.

    Raises:
        ConfigError: one line naming each bad key, what is wrong and what is allowed.
    """
    problems = _problems(cfg)
    if problems:
        more = f" (and {len(problems) - 1} more: {'; '.join(problems[1:])})" if len(problems) > 1 else ""
        raise ConfigError(problems[0] + more)
    return cfg


def read_yaml(path: str | Path | None, what: str = "config file") -> dict[str, Any]:
    """The mapping in a YAML file ({} when ``path`` is None); a missing or invalid file is a ``ConfigError``."""
    if path is None:
        return {}
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"{what} not found: {path}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{what} {path} is not valid YAML: {err}") from None


def set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    """``tree["a"]["b"]["c"] = value`` for ``dotted="a.b.c"``, creating the sections on the way."""
    *parents, leaf = dotted.split(".")
    for p in parents:
        tree = tree.setdefault(p, {})
    tree[leaf] = value


def parse_sets(items: list[str] | None, flag: str = "--set") -> dict[str, Any]:
    """``KEY=VALUE`` strings (the CLIs' ``--set``) as dotted overrides, each value read as YAML."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"{flag} {item!r} is not KEY=VALUE")
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise ConfigError(f"{flag} {key}: {value!r} is not a YAML value") from None
    return out


def with_overrides(data: dict[str, Any], overrides: dict[str, Any] | None) -> dict[str, Any]:
    """``data`` with each dotted override (``{"engine.name": "spark"}``) set in place."""
    for dotted, value in (overrides or {}).items():
        set_dotted(data, dotted, value)
    return data


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> PipelineConfig:
    """Load a YAML config (or the defaults when ``path`` is None), then apply dotted overrides.

    ``overrides`` maps dotted keys to values, e.g. ``{"engine.name": "spark"}``.
    """
    return from_dict(PipelineConfig, with_overrides(read_yaml(path), overrides))
