"""The judge against a real loopback HTTP server speaking the chat-completions protocol."""

from __future__ import annotations

import asyncio
import json

import pytest

from dataflow.instruct.config import JudgeConfig
from dataflow.instruct.example import Example
from dataflow.instruct.judge import (
    JUDGE_REQUEST_REJECTED,
    JUDGE_UNAVAILABLE,
    JUDGE_UNPARSEABLE,
    Judge,
    OpenAIBackend,
    judge_all,
)
from dataflow.instruct.rubric import get_rubric
from tests.dataflow.instruct.judge_server import Action, JudgeServer, example_text, verdict_json


def _example(text: str = "질문", answer: str = "답변입니다.") -> Example:
    turns = [{"role": "user", "content": text}, {"role": "assistant", "content": answer}]
    return Example(id=text, source="t", source_uri="file:///t", format="alpaca", turns=turns, language="ko")


def _judge(server: JudgeServer, **kw) -> tuple[Judge, OpenAIBackend]:
    cfg = JudgeConfig(base_url=server.base_url, model="judge", **({"max_retries": 2, "timeout_s": 5.0} | kw))
    backend = OpenAIBackend(cfg)
    return Judge(backend, get_rubric("quality-v1"), cfg), backend


def _run(server: JudgeServer, examples: list[Example], **kw) -> dict:
    judge, backend = _judge(server, **kw)
    out = {}

    async def go():
        try:
            await judge_all(examples, judge.judge, lambda ex, o: out.__setitem__(ex.id, o), kw.get("concurrency", 4))
        finally:
            await backend.aclose()

    asyncio.run(go())
    return out


def test_scripted_verdicts_come_back_parsed():
    with JudgeServer(lambda body, n: Action(content=verdict_json(4.5, "좋은 답변"))) as srv:
        out = _run(srv, [_example(f"q{i}") for i in range(5)])
    assert {o.verdict.overall for o in out.values()} == {4.5}
    assert all(o.verdict.rationale == "좋은 답변" and o.attempts == 1 for o in out.values())
    body = srv.requests[0][1]
    assert body["model"] == "judge" and body["temperature"] == 0.0
    assert body["messages"][0]["role"] == "system" and "accuracy" in body["messages"][0]["content"]


def test_malformed_verdicts_are_retried_then_recorded():
    fixed = {"q-bad": 0}

    def behave(body, n):
        text = example_text(body)
        if "q-bad" in text:
            return Action(content='{"overall": 5}')  # missing keys: not a verdict
        if "q-once" in text and fixed.setdefault("once", 0) == 0:
            fixed["once"] = 1
            return Action(content="Sure! The answer deserves a 5.")
        if "q-fence" in text:
            return Action(content="```json\n" + verdict_json(3.0) + "\n```")
        return Action(content=verdict_json(2.0))

    with JudgeServer(behave) as srv:
        out = _run(srv, [_example("q-bad"), _example("q-once"), _example("q-fence")], parse_retries=2)
    assert out["q-bad"].verdict is None and out["q-bad"].reason == JUDGE_UNPARSEABLE
    assert out["q-bad"].attempts == 3 and "not a verdict" in out["q-bad"].error
    assert out["q-once"].verdict.overall == 2.0 and out["q-once"].attempts == 2
    assert out["q-fence"].verdict.overall == 3.0


def test_non_completion_body_is_unparseable_not_a_crash():
    with JudgeServer(lambda body, n: Action(raw_body='{"unexpected": true}')) as srv:
        out = _run(srv, [_example("q")], parse_retries=1)
    assert out["q"].verdict is None and out["q"].reason in (JUDGE_UNPARSEABLE,)


def test_429_with_retry_after_is_honoured():
    def behave(body, n):
        if n == 0:
            return Action(status=429, headers={"Retry-After": "1"})
        return Action(content=verdict_json(5.0))

    with JudgeServer(behave) as srv:
        out = _run(srv, [_example("q")])
    assert out["q"].verdict.overall == 5.0 and out["q"].attempts == 2
    (t0, _), (t1, _) = srv.requests
    # the client's own first backoff is at most 0.5 s; waiting a second is the server's Retry-After
    assert t1 - t0 >= 0.95


def test_500s_are_retried_and_a_dead_server_is_recorded():
    def behave(body, n):
        text = example_text(body)
        if "q-dead" in text:
            return Action(status=503)
        if "q-flaky" in text and sum("q-flaky" in json.dumps(b) for _, b in srv.requests) <= 2:
            return Action(status=500)
        return Action(content=verdict_json(4.0))

    with JudgeServer(behave) as srv:
        out = _run(srv, [_example("q-dead"), _example("q-flaky")], max_retries=2)
    assert out["q-flaky"].verdict.overall == 4.0 and out["q-flaky"].attempts == 3
    assert out["q-dead"].reason == JUDGE_UNAVAILABLE and out["q-dead"].attempts == 3  # 1 + max_retries
    assert "503" in out["q-dead"].error


def test_dropped_connections_are_retried():
    def behave(body, n):
        return Action(drop=True) if n < 2 else Action(content=verdict_json(3.5))

    with JudgeServer(behave) as srv:
        out = _run(srv, [_example("q")], max_retries=3)
    assert out["q"].verdict.overall == 3.5 and out["q"].attempts == 3


def test_slow_responses_time_out_and_are_recorded():
    def behave(body, n):
        return Action(content=verdict_json(4.0), delay_s=1.5 if "q-slow" in example_text(body) else 0.2)

    with JudgeServer(behave) as srv:
        out = _run(srv, [_example("q-slow"), _example("q-ok")], timeout_s=0.7, max_retries=1)
    assert out["q-ok"].verdict.overall == 4.0
    assert out["q-slow"].reason == JUDGE_UNAVAILABLE and "Timeout" in out["q-slow"].error


def test_a_refused_request_is_not_retried():
    with JudgeServer(lambda body, n: Action(status=401)) as srv:
        out = _run(srv, [_example("q")])
    assert out["q"].reason == JUDGE_REQUEST_REJECTED and out["q"].attempts == 1


def test_the_api_key_comes_from_the_environment_and_is_never_in_errors(monkeypatch):
    monkeypatch.setenv("JUDGE_TEST_KEY", "sk-secret-123")
    seen = []

    with JudgeServer(lambda body, n: Action(status=400)) as srv:
        orig = srv.httpd.RequestHandlerClass.do_POST

        def do_post(handler):
            seen.append(handler.headers.get("Authorization"))
            orig(handler)

        srv.httpd.RequestHandlerClass.do_POST = do_post
        out = _run(srv, [_example("q")], api_key_env="JUDGE_TEST_KEY")
    assert seen == ["Bearer sk-secret-123"]
    assert "sk-secret-123" not in (out["q"].error or "")


def test_rate_limit_spaces_requests(monkeypatch):
    # the limiter's schedule on a fake clock (wall-clock gaps at the server swing with the box's load):
    # 6 requests at once at 10/s start 0.1 s apart; the run's requests all pass through it
    import asyncio

    from dataflow.instruct import judge

    clock = {"now": 100.0}
    starts: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        starts.append(clock["now"] + seconds)

    monkeypatch.setattr(judge.time, "monotonic", lambda: clock["now"])
    monkeypatch.setattr(judge.asyncio, "sleep", fake_sleep)
    limiter = judge.RateLimiter(10.0)

    async def six() -> None:
        await asyncio.gather(*(limiter.wait() for _ in range(6)))

    asyncio.run(six())
    assert starts == pytest.approx([100.1, 100.2, 100.3, 100.4, 100.5])  # the first starts at once
    monkeypatch.undo()
    waits: list[int] = []
    original = judge.RateLimiter.wait

    async def counted(self) -> None:
        waits.append(1)
        await original(self)

    monkeypatch.setattr(judge.RateLimiter, "wait", counted)
    with JudgeServer(lambda body, n: Action(content=verdict_json(4.0))) as srv:
        _run(srv, [_example(f"q{i}") for i in range(6)], rate_limit_per_s=50.0, concurrency=6)
    assert len(waits) == len(srv.requests) == 6


@pytest.mark.parametrize("concurrency", [1, 4])
def test_concurrency_bounds_requests_in_flight(concurrency):
    import threading

    lock, state = threading.Lock(), {"now": 0, "max": 0}

    def behave(body, n):
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        import time

        time.sleep(0.05)  # the server's latency, so requests overlap
        with lock:
            state["now"] -= 1
        return Action(content=verdict_json(4.0))

    with JudgeServer(behave) as srv:
        out = _run(srv, [_example(f"q{i}") for i in range(12)], concurrency=concurrency)
    assert len(out) == 12 and state["max"] == concurrency
