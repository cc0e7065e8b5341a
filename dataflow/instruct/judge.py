"""The LLM judge: backends, the strict verdict loop, and bounded concurrent judging.

Backends:

* ``OpenAIBackend``: any OpenAI-compatible chat-completions endpoint (vLLM, TGI, llama.cpp
  server, hosted APIs) through the official ``openai`` client. Transport failures (429, 408,
  409, 5xx, timeouts, dropped connections) are retried by the client itself, ``max_retries``
  times, with exponential backoff (0.5 s doubling to 8 s) and 25 % jitter, and ``Retry-After``
  (or ``retry-after-ms``) honoured up to 120 s: the library made for the job, not a copy of it.
  The key is read from the environment variable the config names; it is never logged, stored or
  put in an error message (the client's errors carry status and body only).
* ``TransformersBackend``: a small local judge given by directory (``AutoModelForCausalLM``),
  greedy generation, one example at a time in a worker thread.

``Judge.judge`` asks for one verdict: an unparseable reply is asked again ``parse_retries`` times
and then recorded as ``judge_unparseable``; a transport failure that survives the client's
retries is ``judge_unavailable``; a request the server refuses (400, 401, 404, ...) is
``judge_request_rejected``. Every example ends with a verdict or one of these reasons.

``judge_all`` runs ``concurrency`` workers over a bounded queue (memory does not grow with the
input) and an optional requests-per-second limit.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from dataflow.instruct.config import JudgeConfig
from dataflow.instruct.example import Example
from dataflow.instruct.rubric import Rubric, judge_messages
from dataflow.instruct.verdict import UnparseableVerdict, Verdict, parse_verdict

JUDGE_UNPARSEABLE = "judge_unparseable"
JUDGE_UNAVAILABLE = "judge_unavailable"
JUDGE_REQUEST_REJECTED = "judge_request_rejected"
JUDGE_ERROR = "judge_error"  # anything else the backend raised (e.g. a local model's generate failing)
FAILURE_REASONS = (JUDGE_UNPARSEABLE, JUDGE_UNAVAILABLE, JUDGE_REQUEST_REJECTED, JUDGE_ERROR)
MAX_ERROR_CHARS = 500

_requests: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("judge_requests", default=None)


class RequestRejected(RuntimeError):
    """The endpoint refused the request for good (4xx other than 408/409/429)."""


class BackendUnavailable(RuntimeError):
    """The endpoint could not answer after the transport retries."""


class Backend(Protocol):
    model: str

    async def complete(self, messages: list[dict[str, str]]) -> str | None: ...

    async def aclose(self) -> None: ...


@dataclass
class JudgeOutcome:
    verdict: Verdict | None
    reason: str | None  # one of FAILURE_REASONS when verdict is None
    error: str | None
    attempts: int  # HTTP requests (or generations) made, retries included


async def _count_request(_request: Any) -> None:
    counter = _requests.get()
    if counter is not None:
        counter[0] += 1


class OpenAIBackend:
    def __init__(self, cfg: JudgeConfig) -> None:
        import openai

        self._openai = openai
        self.model = cfg.model
        base_url = cfg.base_url or os.environ.get("OPENAI_BASE_URL") or None
        # a local vLLM/llama.cpp server takes any key; the client refuses to start without one
        api_key = os.environ.get(cfg.api_key_env) or "unused-local-endpoint"
        # the client's own transport (its connection limits and timeouts), plus a hook counting requests
        http_client = openai.DefaultAsyncHttpxClient(event_hooks={"request": [_count_request]})
        self.client = openai.AsyncOpenAI(
            base_url=base_url,
            api_key=api_key,
            timeout=cfg.timeout_s,
            max_retries=cfg.max_retries,
            http_client=http_client,
        )
        self.temperature, self.max_tokens = cfg.temperature, cfg.max_tokens

    async def complete(self, messages: list[dict[str, str]]) -> str | None:
        o = self._openai
        body = dict(model=self.model, messages=messages, temperature=self.temperature, max_tokens=self.max_tokens)
        try:
            # the client's low-level post (its documented route for any endpoint): the same retries,
            # backoff and Retry-After as chat.completions.create, without re-validating our own
            # request dict field by field, which bench/bench_judge.py measured at ~25 % of the client's
            # CPU per request (the client, not the server, limits verdicts/s on a 2-core machine)
            resp = await self.client.post("/chat/completions", body=body, cast_to=dict)
        except (o.APITimeoutError, o.APIConnectionError, o.RateLimitError, o.InternalServerError) as err:
            raise BackendUnavailable(_describe(err)) from None
        except o.APIStatusError as err:
            if err.status_code in (408, 409, 429) or err.status_code >= 500:
                raise BackendUnavailable(_describe(err)) from None
            raise RequestRejected(_describe(err)) from None
        except o.APIResponseValidationError as err:  # a 200 whose body is not a chat completion
            raise UnparseableVerdict(f"malformed completion: {err}") from None
        try:
            content = resp["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise UnparseableVerdict(f"not a chat completion: {str(resp)[:200]}") from None
        return content if isinstance(content, str) else None

    async def aclose(self) -> None:
        await self.client.close()


def _describe(err: Exception) -> str:
    status = getattr(err, "status_code", None)
    head = f"{type(err).__name__}" + (f" {status}" if status else "")
    return f"{head}: {str(err)[:MAX_ERROR_CHARS]}"


class TransformersBackend:
    """A small local judge: tokenizer and causal LM from ``cfg.model`` (a directory), greedy decoding."""

    def __init__(self, cfg: JudgeConfig) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model = cfg.model
        self.tokenizer = AutoTokenizer.from_pretrained(cfg.model, local_files_only=True)
        self.lm = AutoModelForCausalLM.from_pretrained(cfg.model, local_files_only=True).eval()
        self.max_tokens = cfg.max_tokens
        self._lock = asyncio.Lock()

    def _prompt(self, messages: list[dict[str, str]]) -> str:
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return "".join(f"{m['role']}:\n{m['content']}\n\n" for m in messages) + "assistant:\n"

    def _generate(self, messages: list[dict[str, str]]) -> str:
        import torch

        inputs = self.tokenizer(self._prompt(messages), return_tensors="pt")
        with torch.no_grad():
            out = self.lm.generate(
                **inputs,
                max_new_tokens=self.max_tokens,
                do_sample=False,
                pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
            )
        return self.tokenizer.decode(out[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)

    async def complete(self, messages: list[dict[str, str]]) -> str | None:
        async with self._lock:  # one generation at a time: the CPU is the limit, not the wait
            await _count_request(None)
            return await asyncio.to_thread(self._generate, messages)

    async def aclose(self) -> None:
        return None


def make_backend(cfg: JudgeConfig) -> Backend:
    if cfg.backend == "openai":
        return OpenAIBackend(cfg)
    if cfg.backend == "transformers":
        return TransformersBackend(cfg)
    raise ValueError(f"judge.backend {cfg.backend!r} has no backend")


class RateLimiter:
    """At most ``rate`` request starts per second, spaced evenly (0 = unlimited)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self.interval:
            return
        async with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)


class Judge:
    def __init__(self, backend: Backend, rubric: Rubric, cfg: JudgeConfig) -> None:
        self.backend, self.rubric = backend, rubric
        self.parse_retries = cfg.parse_retries
        self.limiter = RateLimiter(cfg.rate_limit_per_s)

    async def judge(self, example: Example) -> JudgeOutcome:
        counter = [0]
        _requests.set(counter)
        error = None
        for _ in range(1 + self.parse_retries):
            await self.limiter.wait()
            try:
                reply = await self.backend.complete(judge_messages(example, self.rubric))
                return JudgeOutcome(parse_verdict(reply), None, None, counter[0])
            except UnparseableVerdict as err:
                error = f"UnparseableVerdict: {err}"[:MAX_ERROR_CHARS]
            except BackendUnavailable as err:
                return JudgeOutcome(None, JUDGE_UNAVAILABLE, str(err), counter[0])
            except RequestRejected as err:
                return JudgeOutcome(None, JUDGE_REQUEST_REJECTED, str(err), counter[0])
            except Exception as err:  # contained: one example's failure never ends the run
                return JudgeOutcome(None, JUDGE_ERROR, _describe(err), counter[0])
        return JudgeOutcome(None, JUDGE_UNPARSEABLE, error, counter[0])


async def judge_all(
    items: Iterable[Any] | AsyncIterator[Any],
    judge: Callable[[Any], Awaitable[Any]],
    on_result: Callable[[Any, Any], None],
    concurrency: int,
) -> None:
    """Call ``judge(item)`` for every item with at most ``concurrency`` in flight; ``on_result(item,
    result)`` runs in the event loop as each finishes. The queue holds 2 x concurrency items, so
    memory stays flat however long the input is."""
    queue: asyncio.Queue = asyncio.Queue(maxsize=2 * concurrency)
    done = object()

    async def worker() -> None:
        while True:
            item = await queue.get()
            if item is done:
                return
            on_result(item, await judge(item))

    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    try:
        if hasattr(items, "__aiter__"):
            async for item in items:
                await queue.put(item)
        else:
            for item in items:
                await queue.put(item)
        for _ in workers:
            await queue.put(done)
        await asyncio.gather(*workers)
    finally:
        for w in workers:
            w.cancel()
