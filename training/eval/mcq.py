"""k-shot multiple-choice scoring: log-likelihood of the answer letter, or generation plus letter extraction.

Prompt (KMMLU's own few-shot layout, the same for KorMedMCQA with five options), k solved dev examples of the
same subject, then the question:

    {question}
    A. {A}
    B. {B}
    ...
    정답: {letter}

- "loglik": the prediction is argmax_c log P(letter_c | prompt), the continuation tokenized on its own and
  appended to the prompt's ids (as lm-evaluation-harness does), all options scored in one batch. Letters are
  compared as single tokens where the tokenizer allows it (" A".." E" as Llama-3 has them; else "A".."E" after
  a prompt ending in a space); only otherwise are multi-token continuations summed, which favours letters
  that happen to be one token.
- "generate": greedy decoding of a few tokens after "정답:", then the first standalone letter A-E (or 1-5
  digit) in the output; no letter found counts as wrong.
Averages: micro = correct / questions over everything; macro = mean of per-subject accuracies.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from training.eval.formats import LETTERS, Question

ANSWER_CUE = "정답:"


def format_question(q: Question, with_answer: bool) -> str:
    lines = [q.question, *(f"{LETTERS[i]}. {c}" for i, c in enumerate(q.choices))]
    lines.append(f"{ANSWER_CUE} {LETTERS[q.answer]}" if with_answer else ANSWER_CUE)
    return "\n".join(lines)


def build_prompt(q: Question, shots: Sequence[Question]) -> str:
    return "\n\n".join([*(format_question(s, True) for s in shots), format_question(q, False)])


def extract_letter(text: str, n_choices: int) -> int | None:
    """Index of the first standalone answer letter (or 1-based digit) in generated text, None if none."""
    letters = LETTERS[:n_choices]
    lead = re.match(rf"\s*[(\[]?([{letters}])(?![a-z])", text)  # right after the cue: "C", "(C)", "C.", "CC"
    if lead:
        return letters.index(lead.group(1))
    m = re.search(rf"(?<![A-Za-z])([{letters}])(?![A-Za-z])|(?<!\d)([1-{n_choices}])(?!\d)", text)
    if m is None:
        return None
    return letters.index(m.group(1)) if m.group(1) else int(m.group(2)) - 1


def letter_continuations(tokenizer, prompt: str, n_choices: int) -> tuple[str, list[list[int]]]:
    """(context, token ids of each letter): single-token letters when the tokenizer has them."""
    for context, fmt in ((prompt, " {}"), (prompt + " ", "{}")):
        conts = [tokenizer(fmt.format(LETTERS[i]), add_special_tokens=False)["input_ids"] for i in range(n_choices)]
        if all(len(c) == 1 for c in conts):
            return context, conts
    return prompt, [tokenizer(f" {LETTERS[i]}", add_special_tokens=False)["input_ids"] for i in range(n_choices)]


def input_device(model) -> torch.device:
    """Where the token ids go: the embedding's device (with a device_map the layers span several devices)."""
    return model.get_input_embeddings().weight.device


@torch.no_grad()
def predict_loglik(model, tokenizer, prompt: str, n_choices: int) -> int:
    device = input_device(model)
    prompt, conts = letter_continuations(tokenizer, prompt, n_choices)
    ctx = tokenizer(prompt, add_special_tokens=True)["input_ids"]
    if all(len(c) == 1 for c in conts):  # one forward of the context; read the next-token distribution
        logits = model(input_ids=torch.tensor([ctx], device=device), logits_to_keep=1).logits[0, -1].float()
        return int(logits[torch.tensor([c[0] for c in conts], device=device)].argmax())
    width = len(ctx) + max(len(c) for c in conts)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    ids = torch.full((n_choices, width), pad, dtype=torch.long)
    mask = torch.zeros((n_choices, width), dtype=torch.long)
    for i, c in enumerate(conts):  # right padding: the context positions are identical across rows
        seq = ctx + c
        ids[i, : len(seq)] = torch.tensor(seq)
        mask[i, : len(seq)] = 1
    logprobs = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float().log_softmax(-1).cpu()
    scores = []
    for i, c in enumerate(conts):
        positions = torch.arange(len(ctx) - 1, len(ctx) - 1 + len(c))  # logits at t predict token t + 1
        scores.append(float(logprobs[i, positions, torch.tensor(c)].sum()))
    return max(range(n_choices), key=scores.__getitem__)


@torch.no_grad()
def predict_generate(model, tokenizer, prompt: str, n_choices: int, max_new_tokens: int = 4) -> int | None:
    device = input_device(model)
    ids = torch.tensor([tokenizer(prompt, add_special_tokens=True)["input_ids"]], device=device)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    out = model.generate(
        input_ids=ids,
        attention_mask=torch.ones_like(ids),
        max_new_tokens=max_new_tokens,
        do_sample=False,
        pad_token_id=pad,
    )
    return extract_letter(tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True), n_choices)


@dataclass
class EvalResult:
    per_subject: dict[str, tuple[int, int]] = field(default_factory=dict)  # subject -> (correct, total)
    shots: dict[str, int] = field(default_factory=dict)  # subject -> few-shot examples its prompts had
    requested_shots: int = 0

    @property
    def micro(self) -> float:
        total = sum(t for _, t in self.per_subject.values())
        return sum(c for c, _ in self.per_subject.values()) / total if total else 0.0

    @property
    def macro(self) -> float:
        accs = [c / t for c, t in self.per_subject.values() if t]
        return sum(accs) / len(accs) if accs else 0.0

    def table(self) -> str:
        def name(s: str) -> str:  # a subject scored with fewer shots than asked says so
            k = self.shots.get(s, self.requested_shots)
            return s if k >= self.requested_shots else f"{s} ({k}-shot)"

        lines = ["| subject | questions | accuracy |", "|---|---:|---:|"]
        lines += [f"| {name(s)} | {t} | {c / t:.3f} |" for s, (c, t) in sorted(self.per_subject.items()) if t]
        total = sum(t for _, t in self.per_subject.values())
        lines += [
            f"| **micro (per question)** | {total} | {self.micro:.3f} |",
            f"| **macro (per subject)** | {len(self.per_subject)} | {self.macro:.3f} |",
        ]
        return "\n".join(lines)


def evaluate(
    model,
    tokenizer,
    test: dict[str, list[Question]],
    dev: dict[str, list[Question]],
    shots: int = 5,
    method: str = "loglik",
    max_questions: int | None = None,
    allow_fewer_shots: bool = False,
) -> EvalResult:
    """Score every subject of `test` with `shots` examples from the same subject of `dev`.

    A subject with fewer than `shots` dev examples raises ValueError (naming it) unless `allow_fewer_shots`, in
    which case it is scored with what there is and the table marks it.
    """
    if method not in ("loglik", "generate"):
        raise ValueError(f"method must be 'loglik' or 'generate', not {method!r}")
    short = {s: len(dev.get(s, [])) for s in test if len(dev.get(s, [])) < shots}
    if short and not allow_fewer_shots:
        raise ValueError(
            f"{shots}-shot evaluation, but these subjects have fewer dev examples: "
            + ", ".join(f"{s} ({n})" for s, n in sorted(short.items()))
            + " (eval.allow_fewer_shots=true scores them with what there is, marked in the table)"
        )
    was_training = model.training
    model.eval()
    result = EvalResult(requested_shots=shots)
    for subject, questions in sorted(test.items()):
        examples = dev.get(subject, [])[:shots]
        result.shots[subject] = len(examples)
        correct = 0
        questions = questions[:max_questions] if max_questions else questions
        for q in questions:
            prompt = build_prompt(q, examples)
            if method == "loglik":
                pred = predict_loglik(model, tokenizer, prompt, len(q.choices))
            else:
                pred = predict_generate(model, tokenizer, prompt, len(q.choices))
            correct += int(pred == q.answer)
        result.per_subject[subject] = (correct, len(questions))
    model.train(was_training)
    return result
