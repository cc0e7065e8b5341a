"""KMMLU / KorMedMCQA readers and the multiple-choice scorer: chance for a random model, 100% for a rigged one."""

from __future__ import annotations

import csv

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from training.eval.formats import Question, read_kmmlu, read_kmmlu_csv, read_kormedmcqa
from training.eval.mcq import EvalResult, build_prompt, evaluate, extract_letter
from training.tokenizer import build_byte_bpe

BALANCED = ["Law", "Criminal-Law", "korean-history", "Economics"]  # answer letters spread evenly in these


def tiny_model(vocab: int) -> LlamaForCausalLM:
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=vocab,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=4096,
    )
    return LlamaForCausalLM(cfg).eval()


class Rigged(LlamaForCausalLM):
    """A Llama whose logits favour the correct answer letter of the question at the end of its prompt."""

    def rig(self, tokenizer, questions: list[Question]):
        self.key = {q.question: "ABCDE"[q.answer] for q in questions}
        vocab = tokenizer.get_vocab()
        self.letter_tokens = {
            ch: [i for t, i in vocab.items() if tokenizer.convert_tokens_to_string([t]).strip() == ch] for ch in "ABCDE"
        }
        self.tok, self.current = tokenizer, None
        return self

    def forward(self, input_ids=None, **kwargs):
        out = super().forward(input_ids=input_ids, **kwargs)
        for row in range(input_ids.shape[0]):
            if input_ids.shape[1] > 1:  # a full prompt; generation steps with a KV cache see one token
                last = self.tok.decode(input_ids[row]).split("\n\n")[-1]
                self.current = self.key.get(last.split("\n")[0].replace("<s>", "").strip())
            if self.current:
                out.logits[row, :, self.letter_tokens[self.current]] += 50.0
        return out


def fake_kormed(path, exam_types=("doctor", "nurse", "pharm", "dentist"), n=3):
    fields = ["subject", "year", "period", "q_number", "question", *"ABCDE", "answer", "cot", "exam_type"]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for e in exam_types:
            for i in range(n):
                options = dict(zip("ABCDE", ["가", "나", "다", "라", "마"], strict=True))
                question = f"{e} 문제 {i}: 옳은 것은?"
                w.writerow(
                    {
                        "subject": e,
                        "year": 2023,
                        "period": 1,
                        "q_number": i,
                        "question": question,
                        **options,
                        "answer": (i % 5) + 1,
                        "cot": "",
                        "exam_type": e,
                    }
                )
    return path


def test_kmmlu_reader_handles_math_column_order(testdata, tmp_path):
    math, skipped = read_kmmlu_csv(testdata / "kmmlu" / "dev" / "math-dev.csv")
    assert len(math) == 5 and skipped == 0 and math[0].category == "Math"
    assert math[0].choices == ("17/3", "19/3", "21/5", "23/5") and math[0].answer == 1
    law, _ = read_kmmlu_csv(testdata / "kmmlu" / "dev" / "Law-dev.csv")
    assert law[0].answer == 1 and law[0].category == "Law"
    # A file whose header names the columns in the usual order while the values are swapped
    bad = tmp_path / "x-dev.csv"
    bad.write_text("question,answer,A,B,C,D,Category,Human Accuracy\nq?,3,a,b,c,d,0.25,Math\nbroken,9,a,b,c,d,Math,0\n")
    rows, skipped = read_kmmlu_csv(bad)
    assert rows[0].category == "Math" and rows[0].answer == 2 and skipped == 1  # answer 9 is out of range


def test_kormedmcqa_reader(tmp_path):
    data = read_kormedmcqa(fake_kormed(tmp_path / "test.csv"))
    assert sorted(data) == ["dentist", "doctor", "nurse", "pharm"]
    assert data["doctor"][2].answer == 2 and len(data["doctor"][0].choices) == 5


def test_extract_letter_and_averages():
    assert extract_letter(" B. 두 번째", 4) == 1 and extract_letter("정답은 (D)", 4) == 3
    assert extract_letter("3번", 4) == 2 and extract_letter("Because", 4) is None
    assert extract_letter("CC", 4) == 2 and extract_letter("E", 4) is None  # only 4 options
    result = EvalResult({"a": (1, 1), "b": (0, 3)})
    assert result.micro == 0.25 and result.macro == 0.5


def test_random_model_scores_near_chance(testdata):
    dev = read_kmmlu(testdata / "kmmlu", "dev", BALANCED)
    test = read_kmmlu(testdata / "kmmlu", "test", BALANCED)
    texts = [build_prompt(q, []) for qs in dev.values() for q in qs]
    tok = build_byte_bpe(texts * 3, vocab_size=800)
    result = evaluate(tiny_model(len(tok)), tok, test, dev, shots=5, method="loglik", max_questions=25)
    assert sum(t for _, t in result.per_subject.values()) == 100
    assert 0.1 <= result.micro <= 0.45, result.table()


@pytest.mark.parametrize("method", ["loglik", "generate"])
def test_rigged_model_scores_100(testdata, tmp_path, method):
    dev = read_kmmlu(testdata / "kmmlu", "dev", ["korean-history", "math"])
    test = read_kmmlu(testdata / "kmmlu", "test", ["korean-history", "math"])
    test = {s: qs[:6] for s, qs in test.items()}
    kormed = read_kormedmcqa(fake_kormed(tmp_path / "kormed.csv"))
    tok = build_byte_bpe([build_prompt(q, []) for qs in dev.values() for q in qs], vocab_size=600)
    for suite_test, suite_dev in ((test, dev), (kormed, kormed)):
        questions = [q for qs in suite_test.values() for q in qs]
        torch.manual_seed(0)
        model = Rigged(tiny_model(len(tok)).config).eval().rig(tok, questions)
        result = evaluate(model, tok, suite_test, suite_dev, shots=2, method=method)
        assert result.micro == 1.0 and result.macro == 1.0, result.table()
