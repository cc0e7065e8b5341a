"""Readers for the common instruction formats, streaming one file at a time into ``Example`` s.

* Alpaca: ``instruction``, optional ``input``, ``output`` (Taori et al., 2023); KULLM's files add
  ``instances: [{input, output}]`` (Self-Instruct's user-oriented layout): one example per instance;
* ShareGPT: ``conversations: [{from: human|gpt|system, value}]``;
* OpenAI messages: ``messages: [{role, content}]``;
* prompt/response: ``prompt`` with ``response``, ``completion``, ``output`` or ``chosen``.

Files are JSONL, a JSON list, or Parquet (read in record batches: flat memory). A record that
cannot become an example (bad JSON, unknown layout, no final assistant turn) is yielded as a
``BadRecord`` with a reason, never dropped silently and never fatal.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dataflow.instruct.example import Example, example_id
from schemas.instruct import ASSISTANT, ROLES, SYSTEM, USER

FORMATS = ("alpaca", "sharegpt", "messages", "prompt_response")
UNREADABLE_RECORD = "unreadable_record"  # not JSON, or not an object
UNKNOWN_FORMAT = "unknown_format"  # no layout this module knows
MALFORMED_TURNS = "malformed_turns"  # turns that are not role/content strings or end without an assistant turn

_SHAREGPT_ROLES = {"human": USER, "user": USER, "gpt": ASSISTANT, "assistant": ASSISTANT, "system": SYSTEM}
_RESPONSE_KEYS = ("response", "completion", "output", "chosen")
PARQUET_BATCH = 1024  # rows per Parquet record batch


@dataclass
class BadRecord:
    id: str
    source: str
    source_uri: str
    reason: str
    error: str
    excerpt: str


def detect_format(record: dict) -> str:
    if "conversations" in record:
        return "sharegpt"
    if "messages" in record:
        return "messages"
    if "instruction" in record and ("output" in record or "instances" in record):
        return "alpaca"
    if "prompt" in record and any(k in record for k in _RESPONSE_KEYS):
        return "prompt_response"
    return ""


class _Malformed(ValueError):
    pass


def _text(value) -> str:
    if not isinstance(value, str):
        raise _Malformed(f"expected a string, got {type(value).__name__}")
    return value


def _alpaca_turns(record: dict) -> list[tuple[str, list[dict]]]:
    """(locator suffix, turns) per example: one, or one per KULLM/Self-Instruct instance."""
    instruction = _text(record["instruction"])
    pairs = [("", record.get("input") or "", record.get("output"))]
    if "instances" in record:
        if not isinstance(record["instances"], list):
            raise _Malformed("instances is not a list")
        pairs = [(f"/{i}", inst.get("input") or "", inst.get("output")) for i, inst in enumerate(record["instances"])]
    out = []
    for suffix, inp, output in pairs:
        prompt = instruction if not _text(inp).strip() else f"{instruction}\n\n{inp}"
        out.append((suffix, [{"role": USER, "content": prompt}, {"role": ASSISTANT, "content": _text(output)}]))
    return out


def _chat_turns(items, role_key: str, content_key: str, roles: dict[str, str]) -> list[dict]:
    if not isinstance(items, list) or not items:
        raise _Malformed("the conversation is not a non-empty list")
    turns = []
    for item in items:
        if not isinstance(item, dict) or item.get(role_key) not in roles:
            raise _Malformed(f"turn without a known {role_key!r}: {str(item)[:80]}")
        turns.append({"role": roles[item[role_key]], "content": _text(item.get(content_key))})
    return turns


def record_examples(record: dict, fmt: str) -> list[tuple[str, list[dict]]]:
    """(locator suffix, turns) of one record in format ``fmt``; raises ``_Malformed``."""
    if fmt == "alpaca":
        return _alpaca_turns(record)
    if fmt == "sharegpt":
        return [("", _chat_turns(record["conversations"], "from", "value", _SHAREGPT_ROLES))]
    if fmt == "messages":
        return [("", _chat_turns(record["messages"], "role", "content", {r: r for r in ROLES}))]
    if fmt == "prompt_response":
        key = next(k for k in _RESPONSE_KEYS if k in record)
        return [
            (
                "",
                [
                    {"role": USER, "content": _text(record["prompt"])},
                    {"role": ASSISTANT, "content": _text(record[key])},
                ],
            )
        ]
    raise _Malformed(f"unknown format {fmt!r}")


def _records(path: Path) -> Iterator[tuple[str, object]]:
    """(locator, parsed record or the exception) for every record of a JSONL, JSON or Parquet file."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        n = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=PARQUET_BATCH):
            for rec in batch.to_pylist():
                yield f"row{n}", rec
                n += 1
        return
    with path.open("rb") as f:
        head = f.read(1).lstrip()
    if path.suffix == ".json" or head == b"[":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as err:
            yield "file", err
            return
        for i, rec in enumerate(data if isinstance(data, list) else [data]):
            yield f"item{i}", rec
        return
    with path.open("rb") as f:
        for n, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                yield f"line{n}", json.loads(raw)
            except (ValueError, UnicodeDecodeError) as err:
                yield f"line{n}", err


def read_file(path: str | Path, source: str = "", fmt: str = "") -> Iterator[Example | BadRecord]:
    """Every example (or bad record) of one file, in file order."""
    path = Path(path)
    source = source or path.name.split(".")[0]
    uri = path.resolve().as_uri()
    for locator, rec in _records(path):
        rid = example_id(source, locator)
        if isinstance(rec, Exception) or not isinstance(rec, dict):
            yield BadRecord(rid, source, uri, UNREADABLE_RECORD, f"{type(rec).__name__}: {rec}"[:500], str(rec)[:300])
            continue
        kind = fmt or detect_format(rec)
        if kind not in FORMATS:
            yield BadRecord(rid, source, uri, UNKNOWN_FORMAT, f"keys {sorted(rec)[:10]}", json.dumps(rec)[:300])
            continue
        try:
            items = record_examples(rec, kind)
            for _suffix, turns in items:
                if turns[-1]["role"] != ASSISTANT:
                    raise _Malformed("the conversation does not end with an assistant turn")
        except (_Malformed, KeyError, AttributeError, TypeError) as err:
            excerpt = json.dumps(rec, ensure_ascii=False)[:300]
            yield BadRecord(rid, source, uri, MALFORMED_TURNS, f"{type(err).__name__}: {err}"[:500], excerpt)
            continue
        for suffix, turns in items:
            yield Example(example_id(source, locator + suffix), source, uri, kind, turns)
