"""The stage contract: one per-document step, after datatrove's ``PipelineStep``.

A stage maps a stream of documents to a stream of documents. Its subclass writes only
``apply(doc)``: change the document in place and return ``None`` to keep it, or return a
stable snake_case reason to drop it. Everything else lives here, once:

* documents already dropped or failed upstream pass through untouched, so one stream carries
  kept documents and rejects to the end, where the engine splits them (rejects are data);
* an exception in ``apply`` fails that one document with its error (outcome ``failed``,
  reason ``failed``), never the run;
* every document is counted in the run's ``Ledger`` under (stage, source kind, language,
  outcome, reason) with documents, bytes and characters in and out, and in datatrove's own
  ``stats`` as ``dropped_<reason>`` so datatrove's executor logs show the same numbers.

Document fields used across stages live in ``doc.metadata`` under the names in
``dataflow.document.Meta``; the counts go into ``dataflow.ledger.Ledger``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from time import perf_counter
from typing import Any

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.stats import MetricStats

from dataflow.document import doc_size, is_live, reject
from dataflow.ledger import Ledger
from schemas import FAILED

_KEPT_LABELS, _FAILED_LABELS = ("forwarded",), ("failed",)  # datatrove counters of a kept / failed document


def add_ones(stat: MetricStats, k: int) -> None:
    """``stat.update(1)`` k times, in one step where that gives the same fields: with its mean exactly 1
    (or nothing counted yet) Welford's update by 1 leaves the mean at 1 and adds 0 to the variance, and
    an int total adds k exactly; otherwise the k updates themselves."""
    if isinstance(stat.total, int) and (stat.mean == 1 or (stat.n == 0 and stat.mean == 0)):
        stat.total += k
        stat.n += k
        stat.mean = 1.0 if stat.mean == 0 else stat.mean  # the first update's 0 + (1 - 0) / 1
        stat.min, stat.max = min(stat.min, 1), max(stat.max, 1)
    else:
        for _ in range(k):
            stat.update(1)


class Stage(PipelineStep):
    """Base of every per-document step. Subclasses set ``name`` and implement ``apply``.

    ``index`` (position in the pipeline) and ``ledger`` are set by ``bind`` when the pipeline is
    built; a stage used on its own (tests, notebooks) counts into its own fresh ledger.
    """

    name = "stage"
    type = "🧩 - STAGE"

    def __init__(self) -> None:
        super().__init__()
        self.index = 0
        self.ledger = Ledger()

    def bind(self, index: int, ledger: Ledger) -> Stage:
        self.index, self.ledger = index, ledger
        return self

    def apply(self, doc: Document) -> str | None:
        """Change ``doc`` in place; return None to keep it or a snake_case reason to drop it."""
        raise NotImplementedError

    def process(self, doc: Document, before: tuple[int, int] | None = None) -> Document:
        """Run ``apply`` on one live document with failure capture and accounting; ``before`` is its
        ``doc_size`` where the caller has measured it already (a batch scorer that encoded the text)."""
        counters = self.stats.stats  # what stat_update(label) adds 1 to, without its two calls per label
        for label in self._settle(doc, before):
            counters[label].update(1)
        return doc

    def process_batch(self, live: list[Document], sizes: list[tuple[int, int] | None]) -> None:
        """``process`` each of a batch's live documents in order (``sizes``: their ``before``), counted as
        ``run`` counts them; the caller times the batch. Each counter ("total", "forwarded", "dropped",
        ...) gets one ``add_ones`` a batch instead of one update a document, and is created where ``run``
        would first count it (the order of datatrove's stats keys)."""
        if not live:
            return
        add_ones(self.stats["total"], len(live))
        tally: dict[str, int] = {}
        for doc, before in zip(live, sizes, strict=True):
            for label in self._settle(doc, before):
                if label in tally:
                    tally[label] += 1
                else:
                    self.stats[label]  # noqa: B018 - the counter exists from here, as with stat_update
                    tally[label] = 1
        for label, k in tally.items():
            add_ones(self.stats[label], k)

    def _settle(self, doc: Document, before: tuple[int, int] | None) -> tuple[str, ...]:
        """``apply``, failure capture, reject and the ledger for one live document; returns the datatrove
        counters it adds 1 to (the caller counts them): "forwarded", "failed", or "dropped" and
        "dropped_<reason>"."""
        text = doc.text
        if before is None:
            before = doc_size(doc)
        try:
            reason = self.apply(doc)
        except Exception as err:  # one bad document must never stop the run
            reject(doc, self.name, FAILED, error=f"{type(err).__name__}: {err}")
            labels: tuple[str, ...] = _FAILED_LABELS
        else:
            if reason is None:
                labels = _KEPT_LABELS
            else:
                reject(doc, self.name, reason)
                labels = ("dropped", f"dropped_{reason}")
        # most stages leave the text object as it was: its size is known (one UTF-8 encode per document saved);
        # an empty text's size is the raw record's, which an extractor changes, so it is measured again
        after = before if doc.text is text and text else doc_size(doc)
        self.ledger.record(self.index, self.name, doc, before, after)
        return labels

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> Iterator[Document]:
        """Each live document ``process``ed, counted as ``stat_update("total")`` counts and timed as
        ``track_time()`` times, with datatrove's counter and timer looked up once instead of per document."""
        total = None  # created at the first live document, as stat_update would: no empty counter otherwise
        timer = self.stats.time_stats
        for doc in data or ():
            if not is_live(doc):
                yield doc
                continue
            if total is None:
                total = self.stats["total"]
            total.update(1)
            start = perf_counter()  # what TimingStats.__enter__/__exit__ measure
            doc = self.process(doc)
            timer.update(perf_counter() - start)
            yield doc


class FilterStage(Stage):
    """Adapter for a stock datatrove filter (Gopher, C4, FineWeb, ...) under the stage contract.

    datatrove filters return ``True``, ``False`` or ``(False, reason)``; a bare ``False`` becomes
    ``default_reason``.
    """

    def __init__(self, name: str, datatrove_filter: Any, default_reason: str | None = None) -> None:
        self.name = name  # before the base __init__, which names datatrove's stats after it
        super().__init__()
        self.filter = datatrove_filter
        self.default_reason = default_reason or name

    def apply(self, doc: Document) -> str | None:
        result = self.filter.filter(doc)
        keep, reason = result if isinstance(result, tuple) else (result, None)
        return None if keep else (reason or self.default_reason)


def run_stages(stages: list[Stage], docs: Iterable[Document]) -> Iterator[Document]:
    """Chain stages over a stream of documents (what every engine does per partition)."""
    stream: Iterable[Document] = docs
    for stage in stages:
        stream = stage.run(stream)
    return iter(stream)
