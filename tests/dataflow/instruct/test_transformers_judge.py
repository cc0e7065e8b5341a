"""The local transformers judge with a tiny Llama built from a config and an offline byte-level BPE."""

from __future__ import annotations

import asyncio

import pytest

from dataflow.instruct.config import JudgeConfig
from dataflow.instruct.example import Example
from dataflow.instruct.judge import JUDGE_UNPARSEABLE, Judge, TransformersBackend
from dataflow.instruct.rubric import get_rubric
from tests.dataflow.instruct.judge_server import verdict_json

pytestmark = pytest.mark.slow  # imports torch and transformers (~15 s on the shared box)

VERDICT = verdict_json(4.0, "ok")


@pytest.fixture(scope="module")
def tiny_judge_dir(tmp_path_factory):
    torch = pytest.importorskip("torch")
    from transformers import LlamaConfig, LlamaForCausalLM

    from training.tokenizer import build_byte_bpe

    tok = build_byte_bpe(
        [VERDICT, "채점 기준 accuracy grammar informativeness coherence", "user assistant system"], 400
    )
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    model = LlamaForCausalLM(cfg)  # random weights: the test is the loading and calling path, not judging
    d = tmp_path_factory.mktemp("tiny_judge")
    model.save_pretrained(d)
    tok.save_pretrained(d)
    return d


def _example() -> Example:
    turns = [{"role": "user", "content": "한국의 수도는?"}, {"role": "assistant", "content": "서울입니다."}]
    return Example("e1", "t", "file:///t", "alpaca", turns, language="ko")


def _judge(path, **kw):
    cfg = JudgeConfig(backend="transformers", model=str(path), **({"max_tokens": 80} | kw))
    return Judge(TransformersBackend(cfg), get_rubric("quality-v1"), cfg)


def test_tiny_model_is_loaded_by_path_and_generates(tiny_judge_dir):
    backend = TransformersBackend(JudgeConfig(backend="transformers", model=str(tiny_judge_dir), max_tokens=80))
    text = asyncio.run(backend.complete([{"role": "user", "content": ""}]))
    assert isinstance(text, str) and text  # real greedy generation from the saved weights


def test_unparseable_generations_are_retried_then_recorded(tiny_judge_dir):
    # two new tokens cannot hold a verdict: every attempt is unparseable
    out = asyncio.run(_judge(tiny_judge_dir, max_tokens=2, parse_retries=1).judge(_example()))
    assert out.verdict is None and out.reason == JUDGE_UNPARSEABLE and out.attempts == 2
