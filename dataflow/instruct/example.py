"""One instruction example: its turns, the prompt/completion strings training reads, and its hashes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property

from schemas.instruct import ASSISTANT, USER

EXCERPT_CHARS = 300  # characters of prompt and of completion kept in verdicts.excerpt


@dataclass
class Example:
    """``turns`` is never changed after construction: prompt, completion, user_text and content_hash are
    computed once per example (the rules, the rows and the cache key all read them)."""

    id: str
    source: str
    source_uri: str
    format: str
    turns: list[dict[str, str]]  # [{"role": ..., "content": ...}], ending with an assistant turn
    language: str = ""
    prompt_language: str = ""
    meta: dict = field(default_factory=dict)  # reader extras (e.g. the translation-task flag)

    @cached_property
    def prompt(self) -> str:
        """Everything before the final assistant turn (schemas/instruct.py documents the rendering)."""
        before = self.turns[:-1]
        if len(before) == 1 and before[0]["role"] == USER:
            return before[0]["content"]
        return "\n\n".join(f"{t['role']}: {t['content']}" for t in before)

    @cached_property
    def completion(self) -> str:
        return self.turns[-1]["content"] if self.turns and self.turns[-1]["role"] == ASSISTANT else ""

    @cached_property
    def user_text(self) -> str:
        """The user turns only: what dedup and language ID of the prompt look at."""
        return "\n".join(t["content"] for t in self.turns if t["role"] == USER)

    @cached_property
    def content_hash(self) -> str:
        """sha256 of the canonical JSON of the turns: equal conversations share cached verdicts."""
        canon = json.dumps([[t["role"], t["content"]] for t in self.turns], ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canon.encode("utf-8")).hexdigest()

    def excerpt(self) -> str:
        return f"{self.prompt[:EXCERPT_CHARS]}\n---\n{self.completion[:EXCERPT_CHARS]}"

    def row(self, run_id: str) -> dict:
        """The instruct.examples row."""
        return dict(
            id=self.id,
            source=self.source,
            source_uri=self.source_uri,
            format=self.format,
            turns=self.turns,
            prompt=self.prompt,
            completion=self.completion,
            language=self.language,
            prompt_language=self.prompt_language,
            content_hash=self.content_hash,
            run_id=run_id,
        )


def example_id(source: str, locator: str) -> str:
    """16 hex chars of sha1(source + '#' + locator): stable across runs and machines."""
    return hashlib.sha1(f"{source}#{locator}".encode()).hexdigest()[:16]
