"""Text extraction: ``extract`` (public as ``dataflow.extract``), ``extract_records`` and the format table.

``extract(content, uri)`` is what a run does with a file of those bytes: the same reader
(``dataflow.readers.records.InputReader``: size cap, gzip unwrapped, truncation, the same decoder),
then the same ``extract_record`` the pipeline's extract stage calls on each record. A file that holds
several records (WARC, JSONL, Parquet, or a gzip of one) is not one text: ``extract`` says so with
reason ``container`` (metadata: the container and its record count), and ``extract_records`` yields
every record's result, with its document id and address, exactly as the run's rows would have them.
Each record format has one extractor function with the signature
``(content: bytes, uri: str | None, hints: dict, config: ExtractConfig) -> Extraction``,
named in ``EXTRACTORS`` by module path and imported on first use (PDF, HWP and patent
extraction pull in heavy libraries only when such a record turns up).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from dataflow.config import ExtractConfig, ReadConfig
from dataflow.extractors.result import Extraction

# record format (as returned by dataflow.readers.sniff.sniff_record) -> "module:function"
EXTRACTORS: dict[str, str] = {
    "html": "dataflow.extractors.html:extract_html",
    "text": "dataflow.extractors.text:extract_text",
    "pdf": "dataflow.extractors.pdf:extract_pdf",
    "patent_xml": "dataflow.extractors.patent:extract_patent_xml",
    "patent_aps": "dataflow.extractors.patent:extract_patent_aps",
    "hwp": "dataflow.extractors.hwp:extract_hwp",
    "hwpx": "dataflow.extractors.hwp:extract_hwpx",
}


def _extractor(fmt: str) -> Callable[..., Extraction]:
    module, func = EXTRACTORS[fmt].split(":")
    return getattr(importlib.import_module(module), func)


CONTAINER = "container"  # reason of extract() for a file of several records (use extract_records)
CONTAINERS = ("warc", "warc.gz", "jsonl", "jsonl.gz", "parquet")  # reader formats that hold several records
MEMORY_URI = "memory:"  # the source URI of bytes given without one (document ids hash it)


@dataclass(frozen=True)
class RecordExtraction:
    """One record of a file: its document id and address (as the run's rows have them) and its result."""

    id: str
    url: str | None
    extraction: Extraction


def _reader(content: bytes | os.PathLike, uri: str | None, read: ReadConfig | None):
    """The run's reader over bytes in memory, or over a file (read with the same caps, never whole)."""
    from pathlib import Path, PurePath

    from dataflow.readers.discover import InputFile
    from dataflow.readers.records import InputReader

    if isinstance(content, os.PathLike):
        f = InputFile.of(Path(content))
        return InputReader(InputFile(path=f.path, uri=uri or f.uri, size=f.size), read)
    name = uri or MEMORY_URI
    return InputReader(InputFile(path=PurePath(name), uri=name, size=len(content)), read, data=content)  # type: ignore[arg-type]


def _record_result(doc, hints: dict[str, Any] | None, config: ExtractConfig) -> Extraction:
    """What the run's extract stage makes of one document the reader yielded."""
    from dataflow.document import Meta, is_live

    meta = doc.metadata
    if not is_live(doc):  # refused by the reader: empty, too_large, truncated_input, bad_record, ...
        return Extraction(
            None, meta.get(Meta.FORMAT) or "", "", reason=meta.get(Meta.REASON), error=meta.get(Meta.ERROR)
        )
    if doc.text:
        kind = meta.get(Meta.SOURCE_KIND) or "text"
        return Extraction(doc.text, "text", kind, dict(meta.get(Meta.EXTRACT_META) or {}))
    raw_hints = hints if hints is not None else meta.get(Meta.RAW_HINTS) or {}
    return extract_record(
        meta.get(Meta.RAW) or b"", meta.get(Meta.URL) or meta.get(Meta.SOURCE_URI), hints=raw_hints, config=config
    )


def extract_records(
    content: bytes | os.PathLike,
    uri: str | None = None,
    *,
    config: ExtractConfig | None = None,
    read: ReadConfig | None = None,
) -> Iterator[RecordExtraction]:
    """Every record of a file's bytes, read and extracted as a run would (one result for a one-record file).

    Args:
        content: the file's bytes (a page, a PDF, a WARC, a JSONL file, a gzip of any of these, ...), or
            its path (read as a run reads it: a file over the cap is never loaded).
        uri: the file's URI; document ids hash it, so pass the run's (``file:///...``) to compare ids.
        config: extraction settings; read: reader settings (``max_record_bytes``, JSONL/Parquet fields).
    """
    from dataflow.document import Meta

    config = config or ExtractConfig()
    for doc in _reader(content, uri, read):
        url = doc.metadata.get(Meta.URL)
        yield RecordExtraction(doc.id, url, _record_result(doc, None, config))


def extract(
    content: bytes | os.PathLike,
    uri: str | None = None,
    *,
    hints: dict[str, Any] | None = None,
    config: ExtractConfig | None = None,
    read: ReadConfig | None = None,
) -> Extraction:
    """Extract the main text of one file's bytes, as a run would: reader first, then the record's extractor.

    Args:
        content: the file's raw bytes (an HTML page, a PDF, an HWP file, a gzip of one, ...), or its
            path (then read as a run reads it: a file over the cap is never loaded).
        uri: where it came from; its extension is only a tie-breaker, the format is detected
            from the content.
        hints: decoding hints from a container (``charset``, ``content_type`` from HTTP or WARC
            headers), for bytes that are one record.
        config: extraction settings; the documented defaults when None.
        read: reader settings, ``max_record_bytes`` above all (the run's ``read`` section).

    Returns:
        An ``Extraction``: the text, format, source kind and metadata; or ``text=None`` with the
        named ``reason`` (``empty``, ``too_large``, ``truncated_input``, ``unsupported_format``,
        ``no_main_text``, ...); or reason ``container`` for a WARC/JSONL/Parquet file, with
        ``metadata["container"]`` and ``metadata["records"]`` (``extract_records`` gives each
        record). It never raises for bad input.
    """
    from dataflow.document import Meta
    from schemas import FAILED

    config = config or ExtractConfig()
    reader = _reader(content, uri, read)
    docs = iter(reader)
    first = next(docs, None)
    if reader.manifest["format"] in CONTAINERS:
        records = (first is not None) + sum(1 for _ in docs)
        if records == 1 and first is not None and first.metadata.get(Meta.OUTCOME) == FAILED:
            return _record_result(first, hints, config)  # a container that failed as a whole: its reason
        return Extraction(
            None,
            reader.manifest["format"],
            "",
            {"container": reader.manifest["format"], "records": records, "use": "dataflow.extract_records"},
            reason=CONTAINER,
        )
    if first is None:  # a reader always yields one document for a one-record file
        return Extraction(None, reader.manifest["format"], "", reason="empty")
    for _ in docs:  # the manifest's hash is filled in when the reader's iteration ends
        pass
    if hints and first.text and isinstance(content, bytes) and not reader.manifest["format"].endswith(".gz"):
        # plain text the reader decoded without the caller's charset: decode it again with them
        return extract_record(content, uri, hints=hints, config=config)
    return _record_result(first, hints, config)


def extract_record(
    content: bytes,
    uri: str | None = None,
    *,
    hints: dict[str, Any] | None = None,
    config: ExtractConfig | None = None,
) -> Extraction:
    """Extract the main text of one record (what the pipeline's extract stage calls).

    Args:
        content: the record's raw bytes (an HTML page, a PDF file, an HWP file, ...).
        uri: where it came from; its extension is only a tie-breaker, the format is detected
            from the content.
        hints: decoding hints from the container (``charset``, ``content_type`` from HTTP or
            WARC headers).
        config: extraction settings; the documented defaults when None.

    Returns:
        An ``Extraction`` with the text, the detected format and source kind and metadata, or
        with ``text=None`` and the named ``reason`` (``empty``, ``too_large``,
        ``unsupported_format``, ``no_main_text``, ...). It never raises for bad input.
    """
    from dataflow.readers.sniff import sniff_record

    config = config or ExtractConfig()
    hints = hints or {}
    fmt = sniff_record(content, uri, hints)
    if fmt == "empty":
        return Extraction(None, fmt, "", reason="empty")
    if fmt not in EXTRACTORS:
        return Extraction(None, fmt, "", reason="unsupported_format")
    if fmt not in config.formats:
        return Extraction(None, fmt, "", reason="format_disabled")
    try:
        return _extractor(fmt)(content, uri, hints, config)
    except Exception as err:  # an extractor bug must fail one record, not the run
        return Extraction(None, fmt, "", reason="failed", error=f"{type(err).__name__}: {err}")


__all__ = ["CONTAINER", "EXTRACTORS", "Extraction", "RecordExtraction", "extract", "extract_record", "extract_records"]
