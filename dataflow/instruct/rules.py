"""Rules that run before the judge: cheap, deterministic, one named reason each.

Order (the first failing rule names the reason): empty, length bounds, truncation, refusal or
assistant boilerplate, repetition, language mismatch. Duplicate prompts are found afterwards over
the whole input (``dedup_plan``) with the project's exact + MinHash dedup (dataflow/dedup), on the
user turns: the same question with two answers is one training signal counted twice.

Language comes from the project's LID (lid.176 through ``dataflow.stages.langid``): the
response's language is the example's ``language``, the user turns' is ``prompt_language``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from dataflow.config import DedupConfig
from dataflow.dedup.local import DedupPlan, plan_dedup
from dataflow.dedup.minhash import dedup_keys
from dataflow.instruct.config import RulesConfig
from dataflow.instruct.example import Example
from dataflow.stages.langid import predict_language

EMPTY_RESPONSE = "empty_response"
RESPONSE_TOO_LONG = "response_too_long"
PROMPT_TOO_LONG = "prompt_too_long"
TRUNCATED_RESPONSE = "truncated_response"
REFUSAL = "refusal"
ASSISTANT_BOILERPLATE = "assistant_boilerplate"
REPETITION = "repetition"
LANGUAGE_MISMATCH = "language_mismatch"

# Sentence-final characters (ASCII, CJK, quotes and brackets that close a sentence, code fences, emoji
# are not counted): a long response that ends on none of them was most likely cut off mid-sentence.
_TERMINAL = set(".!?。！？…\"'”’)]}>`*~:;|") | {"다", "요", "죠", "까", "니", "함", "음", "임"}
_REFUSAL = re.compile(
    r"(?:\bI(?:'m| am) (?:sorry|afraid),? but I (?:can(?:no|')t|am unable|won't)"
    r"|\bI (?:cannot|can't|am unable to|won't) (?:help|assist|provide|comply|fulfil)"
    r"|\bI'm not able to (?:help|assist|provide)"
    r"|죄송(?:하지만|합니다만|하지만,)[^.\n]{0,60}(?:할 수 없|드릴 수 없|불가능|어렵습니다)"
    r"|(?:도와|답변해|제공해)\s?드릴 수 없습니다"
    r"|요청(?:하신 내용)?(?:은|에는) (?:응|답)할 수 없)",
    re.IGNORECASE,
)
_BOILERPLATE = re.compile(
    r"(?:\bas an AI(?: language)? model\b|\bas a large language model\b|\bI am an AI (?:assistant|language model)\b"
    r"|\bmy (?:training data|knowledge cutoff)\b|\bOpenAI\b.{0,40}\btrained\b"
    r"|(?:저는|나는) (?:AI|인공지능)(?: 언어)? (?:모델|어시스턴트)(?:이기|으로서|이므로|이라서)"
    r"|AI 언어 모델로서|인공지능 언어 모델로서|언어 모델로서)",
    re.IGNORECASE,
)
_TRANSLATE = re.compile(r"\btranslat|번역|영어로|한국어로|in English|into Korean|영문", re.IGNORECASE)
_WORD = re.compile(r"\w+")
_URL = re.compile(r"https?://\S+|www\.\S+")
_NOT_PROSE = re.compile(r"^\s*(?:[-*+•|#>]|\d+[.)-]|```)|https?://|\|")  # list item, table, code, link
MIN_LINE_CHARS = 20  # shorter lines ("}", "- yes") repeat legitimately
MIN_WORDS = 50  # Gopher's n-gram fractions are unstable on shorter texts
MIN_TRUNCATED_LINE_WORDS = 8  # a cut-off answer ends inside a prose sentence, not a list item or a title


def repetition_fractions(text: str) -> tuple[float, float]:
    """(duplicated-line fraction, top word 3-gram character fraction), after Gopher (Rae et al., 2021).

    Measured on the KULLM / Self-Instruct answers, the document-scale rules misfire on short answers:
    URL lists repeat "https www com", code repeats "}" lines. So URLs are removed first, only lines of
    ``MIN_LINE_CHARS`` or more count as lines, and the n-gram fraction needs ``MIN_WORDS`` words.
    """
    text = _URL.sub(" ", text)
    lines = [line.strip() for line in text.splitlines() if len(line.strip()) >= MIN_LINE_CHARS]
    dup_lines = 0.0
    if len(lines) > 2:
        counts = Counter(lines)
        dup_lines = sum(c for c in counts.values() if c > 1) / len(lines)
    words = _WORD.findall(text)
    top = 0.0
    if len(words) >= MIN_WORDS:
        grams = Counter(zip(words, words[1:], words[2:], strict=False))
        gram, count = grams.most_common(1)[0]
        if count > 1:
            top = count * sum(len(w) for w in gram) / max(1, sum(len(w) for w in words))
    return dup_lines, top


def is_truncated(response: str, min_chars: int) -> bool:
    """A long answer whose last line is a prose sentence (not a list item, table row, code or link)
    that stops without sentence-final punctuation or a Korean sentence ending."""
    tail = response.rstrip()
    if len(tail) < min_chars or tail[-1] in _TERMINAL or tail[-1].isdigit():
        return False
    last = tail.splitlines()[-1]
    return not _NOT_PROSE.search(last) and len(last.split()) >= MIN_TRUNCATED_LINE_WORDS and "```" not in tail


def is_translation_task(prompt: str) -> bool:
    return bool(_TRANSLATE.search(prompt))


def annotate_languages(example: Example, model_path: str) -> None:
    """Set ``language`` (of the response) and ``prompt_language`` (of the user turns) with lid.176."""
    lang, score = predict_language(example.completion, model_path) if example.completion.strip() else ("", 0.0)
    plang, pscore = predict_language(example.user_text, model_path) if example.user_text.strip() else ("", 0.0)
    example.language, example.prompt_language = lang, plang
    example.meta["language_score"], example.meta["prompt_language_score"] = score, pscore


def check(example: Example, cfg: RulesConfig) -> str | None:
    """The first rule ``example`` fails, as its reason, or None."""
    response, prompt = example.completion, example.prompt
    if len(response.strip()) < cfg.min_response_chars:
        return EMPTY_RESPONSE
    if len(response) > cfg.max_response_chars:
        return RESPONSE_TOO_LONG
    if len(prompt) > cfg.max_prompt_chars:
        return PROMPT_TOO_LONG
    if is_truncated(response, cfg.truncation_min_chars):
        return TRUNCATED_RESPONSE
    if cfg.refusals:
        head = response[:600]  # a refusal opens the answer; quoting one later is not refusing
        if _REFUSAL.search(head):
            return REFUSAL
        if _BOILERPLATE.search(head):
            return ASSISTANT_BOILERPLATE
    dup_lines, top_gram = repetition_fractions(response)
    if dup_lines > cfg.max_dup_line_fraction or top_gram > cfg.max_top_3gram_fraction:
        return REPETITION
    if cfg.language_mismatch and example.language and example.prompt_language:
        sure = min(example.meta.get("language_score", 1.0), example.meta.get("prompt_language_score", 1.0))
        if (
            example.language != example.prompt_language
            and sure >= cfg.min_language_score
            and not is_translation_task(prompt)
        ):
            return LANGUAGE_MISMATCH
    return None


def dedup_plan(examples: Iterable[Example], cfg: DedupConfig) -> DedupPlan:
    """Exact and near-duplicate prompts among ``examples`` (user turns), by the project's dedup: the
    smallest id of a group survives; the others drop as exact_duplicate / near_duplicate."""
    # a generator, not a list: plan_dedup packs the band keys into an int64 array (8 B each) as they come,
    # where a list of Python ints would hold ~40 B per key until the plan is built
    rows = ((ex.id, *_keys(ex, cfg)) for ex in examples)
    return plan_dedup(rows, cfg)


def _keys(ex: Example, cfg: DedupConfig) -> tuple[bytes, list[int], int, bytes]:
    """Exact key, band keys, length 0 (every length ties: the smallest id survives) and the signature
    that verifies candidate pairs (``dedup.verify``)."""
    keys = dedup_keys(ex.user_text, cfg)
    return keys.exact, keys.bands, 0, keys.signature
