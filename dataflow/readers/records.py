"""Stream the records of one input file as datatrove ``Document``s, accounting for every one.

``InputReader(input, config)`` is iterated once. It detects the container from the content
(``dataflow.readers.sniff``), then yields one ``Document`` per record:

* **WARC / WARC.gz** (read with warcio): ``response``, ``resource`` and ``conversion`` records are
  documents; ``warcinfo``, ``request``, ``metadata`` and ``revisit`` records describe or repeat other
  records and are not. A response with a non-2xx HTTP status drops as ``http_status``, one whose
  Content-Type is media, style or script drops as ``unsupported_content_type``; every other payload
  travels raw to the extract stage, which sniffs it (HTML, text, PDF, HWP, ...).
* **JSONL (optionally gzipped) and Parquet** of already-extracted text: one document per line/row with
  its text set (format ``text``); Parquet is read batch by batch.
* **Anything else** is one record: plain text is decoded here (format ``text``); HTML, PDF, HWP, HWPX
  and patent files travel raw. A ``.gz`` of any of these is decompressed first (gzip magic, not name).

Bad input never raises out of the iterator; it becomes a document already rejected at stage ``read``:
``empty`` (zero bytes), ``too_large`` (over ``max_record_bytes``, checked before the bytes are read),
``bad_record`` (a JSONL line that is not a JSON object with a string text field), ``truncated_input``
(failed: a cut gzip or WARC; the records before the cut are yielded first), ``unsupported_format``
(failed: gzipped Parquet, which cannot be streamed), ``read_error`` (failed: anything else).
``reader.manifest`` then holds the file's row of the ``inputs`` table (minus run_id).

``InputReader(input, config, data=b"...")`` reads the same way from bytes in memory: that is how
``dataflow.extract_records`` reads one file exactly as a run does. Error messages are made safe for
the tables (hostile file names hold bytes that are not UTF-8) by ``safe_message``.

Ids are ``sha1(uri + '#' + locator)[:16]`` with the locator the WARC-Record-ID, the JSONL line number or
Parquet row number (or the record's own id field when present), '' for single-record files: stable
across runs and unique across files.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zlib
from collections.abc import Iterator
from typing import Any

from datatrove.data import Document

from dataflow.config import ReadConfig
from dataflow.document import Meta, reject
from dataflow.readers.decode import charset_from_content_type, decode_detail
from dataflow.readers.discover import InputFile
from dataflow.readers.sniff import SNIFF_BYTES, sniff_container, sniff_record
from schemas.corpus import INPUT_FAILED, INPUT_PARTIAL, INPUT_READ

STAGE = "read"
READ_CHUNK = 1 << 20  # 1 MiB reads: large enough to be I/O bound, small enough to keep memory flat
PARQUET_BATCH_ROWS = 1024  # rows per Arrow batch: a few MB of text, bounded memory on any file
WARC_DOCUMENT_TYPES = ("response", "resource", "conversion")
# Content-Type prefixes of payloads that are never text documents (crawls hold many of them)
NON_DOCUMENT_TYPES = (
    "image/",
    "audio/",
    "video/",
    "font/",
    "text/css",
    "text/javascript",
    "application/javascript",
    "application/x-javascript",
    "application/font",
    "application/x-font",
)
# errors that mean "the compressed or archived stream ends early"
_TRUNCATION_ERRORS = (EOFError, zlib.error)
# JSON's \uXXXX escapes can spell a lone surrogate ("\ud800"), which json.loads keeps but no UTF-8 writer
# accepts: one in a record's text once failed its whole file at the first size count
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def doc_id(uri: str, locator: str | int) -> str:
    """Stable 16-hex document id: sha1 of the file URI and the record's locator inside it."""
    return hashlib.sha1(f"{uri}#{locator}".encode()).hexdigest()[:16]


def open_source(source: Any) -> Any:
    """A binary file object over a path, or over bytes held in memory."""
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(source)
    return open(source, "rb")  # noqa: SIM115 (the caller closes it)


def safe_message(message: str) -> str:
    """One line of valid UTF-8: lone surrogates (undecodable file-name bytes) escaped, line breaks spaced."""
    return message.encode("utf-8", "backslashreplace").decode("utf-8").replace("\n", " ").replace("\r", " ")


def _valid_unicode(value: str) -> tuple[str, int]:
    """``value`` with each lone surrogate replaced by U+FFFD (as invalid UTF-8 bytes are decoded), and how many."""
    if value.isascii() or not _LONE_SURROGATE.search(value):
        return value, 0
    return _LONE_SURROGATE.subn("\ufffd", value)


def file_sha256(path: Any) -> str:
    digest = hashlib.sha256()
    with open_source(path) as f:
        while chunk := f.read(READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class _Gunzip(io.RawIOBase):
    """Streaming, multi-member gzip decompression that keeps what it decoded before a cut.

    ``gzip.GzipFile`` raises ``EOFError`` from inside a read and loses the bytes it had already
    decompressed for that read, and warcio on its own stops quietly at a cut. Here a cut (or
    corrupt data) ends the stream after the last good byte and is remembered in ``error``.
    """

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.error: BaseException | None = None
        self._zlib = zlib.decompressobj(wbits=31)
        self._fed = False  # has the current member's decompressor seen input?
        self._in = b""
        self._out = b""

    def readable(self) -> bool:
        return True

    def _fill(self) -> None:
        while not self._out and self.error is None:
            if not self._in:
                self._in = self.raw.read(READ_CHUNK)
                if not self._in:
                    if self._fed and not self._zlib.eof:
                        self.error = EOFError("compressed file ended before the end-of-stream marker was reached")
                    return
            if self._zlib.eof:  # the previous member ended; the next one starts in self._in
                self._zlib, self._fed = zlib.decompressobj(wbits=31), False
            try:
                self._out = self._zlib.decompress(self._in, READ_CHUNK)  # bounded output: no gzip bomb
            except zlib.error as err:
                self.error, self._in = err, b""
                return
            self._fed = True
            self._in = self._zlib.unused_data if self._zlib.eof else self._zlib.unconsumed_tail

    def readinto(self, buffer: Any) -> int:
        self._fill()
        n = min(len(buffer), len(self._out))
        buffer[:n] = self._out[:n]
        self._out = self._out[n:]
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()


class _Stream:
    """A buffered binary stream over a plain or gzipped file, with the gzip cut (if any) in ``error``."""

    def __init__(self, path: Any, gz: bool) -> None:
        # the file outlives this constructor: the reader closes it in a finally block
        raw = open_source(path)
        self._gunzip = _Gunzip(raw) if gz else None
        self._stream = io.BufferedReader(self._gunzip, READ_CHUNK) if self._gunzip else raw

    @property
    def error(self) -> BaseException | None:
        return self._gunzip.error if self._gunzip else None

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)

    def readline(self, size: int = -1) -> bytes:
        return self._stream.readline(size)

    def tell(self) -> int:
        return self._stream.tell()

    def close(self) -> None:
        self._stream.close()


def _gunzip_head(path: Any) -> bytes:
    """First decompressed bytes of a gzip file, whatever follows (a cut file still sniffs)."""
    with open_source(path) as f:
        compressed = f.read(64 * 1024)
    try:
        return zlib.decompressobj(wbits=31).decompress(compressed, SNIFF_BYTES)
    except zlib.error:
        return b""


def failed_manifest(f: InputFile, records: int, err: BaseException) -> dict[str, Any]:
    """Inputs-table row of a file whose reading raised past ``InputReader``'s own containment."""
    return dict(
        uri=f.uri,
        size_bytes=f.size,
        content_hash="",
        format="",
        status=INPUT_PARTIAL if records else INPUT_FAILED,
        error=safe_message(f"{type(err).__name__}: {err}"),
        records=records,
    )


class InputReader:
    """Iterate the documents of one input file; ``manifest`` describes the file afterwards."""

    def __init__(self, input: InputFile, config: ReadConfig | None = None, data: bytes | None = None) -> None:
        self.input = input
        self.config = config or ReadConfig()
        self.source: Any = data if data is not None else input.path  # what is opened: a path or the bytes
        self.manifest: dict[str, Any] = dict(
            uri=input.uri,
            size_bytes=input.size,
            content_hash="",
            format="",
            status=INPUT_READ,
            error=None,
            records=0,
        )

    # -- document helpers ---------------------------------------------------------------------

    def _doc(self, locator: str | int, raw_size: int = 0, url: str | None = None) -> Document:
        meta: dict[str, Any] = {Meta.SOURCE_URI: self.input.uri, Meta.RAW_SIZE: raw_size}
        if url:
            meta[Meta.URL] = url
        self.manifest["records"] += 1
        return Document(text="", id=doc_id(self.input.uri, locator), metadata=meta)

    def _rejected(self, locator: str | int, reason: str, raw_size: int = 0, url: str | None = None) -> Document:
        doc = self._doc(locator, raw_size, url)
        reject(doc, STAGE, reason)
        return doc

    def _failed(self, locator: str | int, reason: str, error: BaseException | str, status: str = "") -> Document:
        message = safe_message(error if isinstance(error, str) else f"{type(error).__name__}: {error}")
        doc = self._doc(locator)
        reject(doc, STAGE, reason, error=message)
        self.manifest["error"] = self.manifest["error"] or message
        self.manifest["status"] = status or (INPUT_PARTIAL if self.manifest["records"] > 1 else INPUT_FAILED)
        return doc

    def _text_doc(self, locator: str | int, text: str, raw_size: int, url: str | None, kind: Any) -> Document:
        doc = self._doc(locator, raw_size, url)
        doc.metadata[Meta.FORMAT] = "text"
        doc.metadata[Meta.SOURCE_KIND] = kind if isinstance(kind, str) and kind else self.config.default_source_kind
        if not text.strip():
            reject(doc, STAGE, "empty")
        else:
            doc.text = text
        return doc

    def _decoded_doc(self, locator: str | int, content: bytes, hints: dict, url: str | None) -> Document:
        """A plain-text record decoded here; NUL bytes removed and mixed-encoding spans repaired are kept
        in the document's extractor metadata (documents.metadata), as the text extractor does."""
        d = decode_detail(content, hints, scan_meta=False)
        doc = self._text_doc(locator, d.text, len(content), url, None)
        if repairs := d.repairs():
            doc.metadata[Meta.EXTRACT_META] = {"encoding": d.encoding, **repairs}
        return doc

    # -- iteration ------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Document]:
        try:
            yield from self._read()
        except Exception as err:  # a reader bug or an unreadable file fails this file, never the run
            yield self._failed("!read_error", "read_error", err)
        finally:
            try:
                self.manifest["content_hash"] = file_sha256(self.source)
            except OSError as err:
                message = safe_message(f"{type(err).__name__}: {err}")
                self.manifest.update(status=INPUT_FAILED, error=self.manifest["error"] or message)

    def _read(self) -> Iterator[Document]:
        path, size = self.source, self.input.size
        if size == 0:
            self.manifest["format"] = "empty"
            yield self._rejected("", "empty")
            return
        with open_source(path) as f:
            head = f.read(SNIFF_BYTES)
        container = sniff_container(head, self.input.uri)
        gz = container == "gzip"
        if gz:
            container = sniff_container(_gunzip_head(path), self.input.uri)
            container = "record" if container == "gzip" else container
        if container == "warc":
            self.manifest["format"] = "warc.gz" if gz else "warc"
            yield from self._read_warc(gz)
        elif container == "jsonl":
            self.manifest["format"] = "jsonl.gz" if gz else "jsonl"
            yield from self._read_jsonl(gz)
        elif container == "parquet":
            self.manifest["format"] = "parquet"
            if gz:
                yield self._failed("", "unsupported_format", "gzipped Parquet cannot be streamed; store it plain")
            else:
                yield from self._read_parquet()
        else:
            yield from self._read_single(gz)

    def _open(self, gz: bool) -> _Stream:
        return _Stream(self.source, gz)

    def _read_single(self, gz: bool) -> Iterator[Document]:
        limit = self.config.max_record_bytes
        if not gz and self.input.size > limit:
            self.manifest["format"] = sniff_record(_head(self.source), self.input.uri, {})
            yield self._rejected("", "too_large", raw_size=self.input.size)
            return
        stream = self._open(gz)
        try:
            content = stream.read(limit + 1)  # never more than the cap in memory
            extra = len(content) - limit
            while extra > 0 and (chunk := stream.read(READ_CHUNK)):
                extra += len(chunk)  # count the rest of an oversized member without keeping it
        finally:
            stream.close()
        fmt = sniff_record(content[: limit if extra > 0 else None], self.input.uri, {})
        self.manifest["format"] = f"{fmt}.gz" if gz else fmt
        if stream.error is not None:
            yield self._failed("", "truncated_input", stream.error)
        elif extra > 0:
            yield self._rejected("", "too_large", raw_size=limit + extra)
        elif fmt == "empty":
            yield self._rejected("", "empty", raw_size=len(content))
        elif fmt == "text":
            yield self._decoded_doc("", content, {}, None)
        else:
            doc = self._doc("", len(content))
            doc.metadata.update({Meta.RAW: content, Meta.RAW_HINTS: {}, Meta.FORMAT: fmt})
            yield doc

    # -- WARC ------------------------------------------------------------------------------------

    def _read_warc(self, gz: bool) -> Iterator[Document]:
        from warcio.archiveiterator import ArchiveIterator

        limit = self.config.max_record_bytes
        # decompress here (not in warcio) so a cut member is reported instead of ending quietly
        stream = self._open(gz)
        cut: BaseException | str | None = None
        failure: BaseException | None = None
        try:
            for ordinal, record in enumerate(ArchiveIterator(stream)):
                if record.rec_type not in WARC_DOCUMENT_TYPES:
                    continue
                headers = record.rec_headers
                locator = headers.get_header("WARC-Record-ID") or f"@{ordinal}"
                url = headers.get_header("WARC-Target-URI")
                length = int(headers.get_header("Content-Length") or 0)
                http = record.http_headers if record.rec_type == "response" else None
                content_type = (http.get_header("Content-Type") if http else None) or headers.get_header(
                    "Content-Type", ""
                )
                status = http.get_statuscode() if http else ""
                if status and not str(status).startswith("2"):
                    yield self._rejected(locator, "http_status", raw_size=length, url=url)
                    continue
                if content_type.lower().lstrip().startswith(NON_DOCUMENT_TYPES):
                    yield self._rejected(locator, "unsupported_content_type", raw_size=length, url=url)
                    continue
                if length > limit:  # decided from the header; warcio skips the unread block
                    yield self._rejected(locator, "too_large", raw_size=length, url=url)
                    continue
                payload = record.content_stream().read(limit + 1)
                if record.raw_stream.limit > 0 and len(payload) <= limit:
                    # the block ends before its Content-Length: this record belongs to the failed remainder
                    cut = f"WARC record {locator} ends {record.raw_stream.limit} bytes early"
                    break
                if len(payload) > limit:  # a compressed HTTP body inflated past the cap
                    yield self._rejected(locator, "too_large", raw_size=len(payload), url=url)
                    continue
                hints = {"content_type": content_type, "charset": charset_from_content_type(content_type)}
                if record.rec_type == "conversion":
                    yield self._decoded_doc(locator, payload, hints, url)
                    continue
                doc = self._doc(locator, len(payload), url)
                doc.metadata[Meta.RAW] = payload
                doc.metadata[Meta.RAW_HINTS] = hints
                yield doc
        except Exception as err:  # warcio on a cut or corrupt block: headers it cannot parse, ...
            failure = err
        finally:
            stream.close()
        # the decompressor's own error names a gzip cut best; a short block names a plain-WARC cut
        cut = stream.error or cut
        if cut is not None:
            yield self._failed("!truncated", "truncated_input", cut)
        elif failure is not None:  # warcio's own message names its internals (a record without a target
            # URI, a header it cannot parse): say where in the file it stopped
            where = f"malformed WARC after {self.manifest['records']} record(s)"
            yield self._failed("!read_error", "read_error", f"{where}: {type(failure).__name__}: {failure}")

    # -- JSONL -----------------------------------------------------------------------------------

    def _read_jsonl(self, gz: bool) -> Iterator[Document]:
        limit = self.config.max_record_bytes
        stream = self._open(gz)
        bad: list[str] = []
        try:
            lineno = 0
            while line := stream.readline(limit + 1):
                lineno += 1
                size = len(line)
                if not line.endswith(b"\n"):
                    if size > limit:  # an oversized line: count the rest of it without keeping it
                        rest = b""
                        while not rest.endswith(b"\n") and (rest := stream.readline(READ_CHUNK)):
                            size += len(rest)
                        yield self._rejected(lineno, "too_large", raw_size=size)
                        continue
                    if stream.read(1) or stream.error is not None:
                        break  # the last line of a cut stream: part of the failed remainder
                if not line.strip():
                    continue  # blank lines are not records
                yield self._jsonl_doc(lineno, line, bad)
        finally:
            stream.close()
        if bad:
            self.manifest["error"] = f"{len(bad)} bad line(s); first: {bad[0]}"
        if stream.error is not None:
            yield self._failed("!truncated", "truncated_input", stream.error)

    def _jsonl_doc(self, lineno: int, line: bytes, bad: list[str]) -> Document:
        cfg = self.config
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError(f"a JSON {type(obj).__name__}, not an object")
            text = obj.get(cfg.text_field)
            if not isinstance(text, str):
                raise ValueError(f"field {cfg.text_field!r} missing or not a string")
        except ValueError as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            bad.append(f"line {lineno}: {err}")
            return self._rejected(lineno, "bad_record", raw_size=len(line))
        own_id = obj.get(cfg.id_field)
        locator = _valid_unicode(str(own_id))[0] if own_id not in (None, "") else lineno
        url = obj.get(cfg.url_field)
        url = _valid_unicode(url)[0] if isinstance(url, str) else None
        kind = obj.get("source_kind")
        text, replaced = _valid_unicode(text)
        doc = self._text_doc(locator, text, len(line), url, _valid_unicode(kind)[0] if isinstance(kind, str) else None)
        if replaced:  # recorded as the decoder records its repairs (documents.metadata)
            doc.metadata[Meta.EXTRACT_META] = {"lone_surrogates_replaced": replaced}
        return doc

    # -- Parquet ---------------------------------------------------------------------------------

    def _read_parquet(self) -> Iterator[Document]:
        import pyarrow.parquet as pq

        cfg = self.config
        source = io.BytesIO(self.source) if isinstance(self.source, bytes) else self.source
        with pq.ParquetFile(source) as pf:
            names = set(pf.schema_arrow.names)
            if cfg.text_field not in names:
                yield self._failed("", "read_error", f"no column {cfg.text_field!r} (columns: {sorted(names)})")
                return
            wanted = [c for c in (cfg.text_field, cfg.id_field, cfg.url_field, "source_kind") if c in names]
            row = 0
            for batch in pf.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=list(dict.fromkeys(wanted))):
                for rec in batch.to_pylist():
                    text = rec.get(cfg.text_field)
                    own_id = rec.get(cfg.id_field)
                    locator = str(own_id) if own_id not in (None, "") else row
                    url = rec.get(cfg.url_field)
                    url = url if isinstance(url, str) else None
                    row += 1
                    if text is not None and not isinstance(text, str):
                        yield self._rejected(locator, "bad_record", url=url)
                        continue
                    size = len(text.encode("utf-8")) if text else 0
                    if size > cfg.max_record_bytes:
                        yield self._rejected(locator, "too_large", raw_size=size, url=url)
                        continue
                    yield self._text_doc(locator, text or "", size, url, rec.get("source_kind"))


def _head(path: Any) -> bytes:
    with open_source(path) as f:
        return f.read(SNIFF_BYTES)
