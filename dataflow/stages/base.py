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
from itertools import repeat
from time import perf_counter
from typing import Any

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from dataflow.document import doc_size, is_live, reject
from dataflow.ledger import Ledger
from schemas import FAILED


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
        text = doc.text
        if before is None:
            before = doc_size(doc)
        try:
            reason = self.apply(doc)
        except Exception as err:  # one bad document must never stop the run
            reject(doc, self.name, FAILED, error=f"{type(err).__name__}: {err}")
            self.stat_update("failed")
        else:
            counters = self.stats.stats  # what stat_update(label) adds 1 to, without its two calls per label
            if reason is not None:
                reject(doc, self.name, reason)
                counters["dropped"].update(1)
                counters["dropped_" + reason].update(1)
            else:
                counters["forwarded"].update(1)
        # most stages leave the text object as it was: its size is known (one UTF-8 encode per document saved);
        # an empty text's size is the raw record's, which an extractor changes, so it is measured again
        after = before if doc.text is text and text else doc_size(doc)
        self.ledger.record(self.index, self.name, doc, before, after)
        return doc

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> Iterator[Document]:
        yield from self.run_sized(data or (), repeat(None))

    def run_sized(
        self, data: Iterable[Document], sizes: Iterator[tuple[int, int] | None], timed: bool = True
    ) -> Iterator[Document]:
        """``run`` with the live documents' sizes (``process``'s ``before``, in order; None: measured there)
        given. Counted as ``stat_update("total")`` counts, and with ``timed`` timed per document as
        ``track_time()`` times (without: the caller times a whole batch), with datatrove's counter and
        timer looked up once instead of per document."""
        total = None  # created at the first live document, as stat_update would: no empty counter otherwise
        timer = self.stats.time_stats
        for doc in data:
            if not is_live(doc):
                yield doc
                continue
            if total is None:
                total = self.stats["total"]
            total.update(1)
            if timed:
                start = perf_counter()  # what TimingStats.__enter__/__exit__ measure
                doc = self.process(doc, next(sizes))
                timer.update(perf_counter() - start)
            else:
                doc = self.process(doc, next(sizes))
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
