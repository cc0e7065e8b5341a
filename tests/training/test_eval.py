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


EXAMS = ("doctor", "nurse", "pharm", "dentist")


def kormed_tree(root, n_test=3, n_dev=2, with_combined_copy=True):
    """KorMedMCQA as HF sean0042/KorMedMCQA lays it out: <exam>/{dev,test}-00000-of-00001.parquet (rows name no
    exam type in two of the folders), plus older revisions' combined copy under data/."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    combined = []
    for e, exam in enumerate(EXAMS):
        (root / exam).mkdir(parents=True)
        for split, n in (("test", n_test), ("dev", n_dev)):
            rows = [
                {
                    "subject": exam,
                    "year": 2023,
                    "period": 1,
                    "q_number": i,
                    "question": f"[{exam}] {split} 문항 {i}: 다음 중 옳은 것은?",
                    "A": "가",
                    "B": "나",
                    "C": "다",
                    "D": "라",
                    "E": "마",
                    "answer": (i + e) % 5 + 1,
                    "cot": "",
                    "exam_type": exam,
                }
                for i in range(n)
            ]
            combined += [dict(r) for r in rows] if split == "test" else []
            if e % 2:
                rows = [{k: v for k, v in r.items() if k != "exam_type"} for r in rows]
            pq.write_table(pa.Table.from_pylist(rows), root / exam / f"{split}-00000-of-00001.parquet")
    if with_combined_copy:
        (root / "data").mkdir()
        pq.write_table(pa.Table.from_pylist(combined), root / "data" / "test.parquet")
    return root


def test_kormedmcqa_reads_every_exam_type_once(tmp_path):
    from training.eval.formats import read_kormedmcqa_dir

    root = kormed_tree(tmp_path / "kormed")
    test, dev = read_kormedmcqa_dir(root, "test"), read_kormedmcqa_dir(root, "dev")
    assert sorted(test) == sorted(EXAMS) and sorted(dev) == sorted(EXAMS)
    assert all(len(test[e]) == 3 and len(dev[e]) == 2 for e in EXAMS)  # the combined copy adds no duplicates
    assert test["nurse"][1].answer == 2 and len(test["nurse"][1].choices) == 5  # folder names the exam type
    with pytest.raises(FileNotFoundError, match="no KorMedMCQA train files"):
        read_kormedmcqa_dir(root, "train")


@pytest.mark.parametrize("method", ["loglik", "generate"])
def test_rigged_model_scores_every_kormedmcqa_exam_type(tmp_path, method):
    from training.eval.formats import read_kormedmcqa_dir

    root = kormed_tree(tmp_path / "kormed")
    test, dev = read_kormedmcqa_dir(root, "test"), read_kormedmcqa_dir(root, "dev")
    tok = build_byte_bpe([build_prompt(q, []) for qs in test.values() for q in qs], vocab_size=600)
    torch.manual_seed(0)
    questions = [q for qs in test.values() for q in qs]
    model = Rigged(tiny_model(len(tok)).config).eval().rig(tok, questions)
    result = evaluate(model, tok, test, dev, shots=2, method=method)
    assert sorted(result.per_subject) == sorted(EXAMS)
    assert all(result.per_subject[e] == (3, 3) for e in EXAMS), result.table()


def test_subject_with_too_few_dev_rows_is_an_error_or_marked(tmp_path):
    from training.eval.formats import read_kormedmcqa_dir

    root = kormed_tree(tmp_path / "kormed", n_dev=1)
    test, dev = read_kormedmcqa_dir(root, "test"), read_kormedmcqa_dir(root, "dev")
    dev.pop("pharm")
    tok = build_byte_bpe([build_prompt(q, []) for qs in test.values() for q in qs], vocab_size=400)
    model = tiny_model(len(tok))
    with pytest.raises(ValueError, match=r"dentist \(1\), doctor \(1\), nurse \(1\), pharm \(0\)"):
        evaluate(model, tok, test, dev, shots=2)
    result = evaluate(model, tok, test, dev, shots=1, allow_fewer_shots=True)
    assert result.shots == {"dentist": 1, "doctor": 1, "nurse": 1, "pharm": 0}
    assert "| pharm (0-shot) |" in result.table() and "| doctor |" in result.table()


def test_eval_entry_point_loads_with_a_device_map(tmp_path, testdata, capsys):
    from pathlib import Path

    from training.eval.run import main

    root = kormed_tree(tmp_path / "kormed")
    tok = build_byte_bpe(["정답: A B C D E 문항"] * 5, vocab_size=300)
    tiny_model(len(tok)).save_pretrained(tmp_path / "model")
    tok.save_pretrained(tmp_path / "model")
    recipe = Path(__file__).resolve().parents[2] / "training" / "recipes" / "tiny-cpu.yaml"
    results = main(
        [
            "--recipe",
            str(recipe),
            "--model",
            str(tmp_path / "model"),
            "--device-map",
            "auto",
            "--set",
            f"eval.kmmlu_dir={testdata / 'kmmlu'}",
            "--set",
            f"eval.kormedmcqa_dir={root}",
            "--set",
            "eval.shots=2",
            "--set",
            "eval.max_questions=2",
        ]
    )
    assert sorted(results["KorMedMCQA"].per_subject) == sorted(EXAMS)
    assert len(results["KMMLU"].per_subject) == 9
    assert "## KorMedMCQA (2-shot, loglik)" in capsys.readouterr().out
