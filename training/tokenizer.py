"""A tiny byte-level BPE tokenizer trained offline, for tests and the tiny-cpu recipe (no hub downloads).

Byte-level BPE (GPT-2 / Llama-3 style) round-trips any UTF-8 text, Korean included; NFC normalisation keeps
Hangul syllables composed. Real runs load the base model's own tokenizer from its checkpoint directory.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable


def build_byte_bpe(texts: Iterable[str], vocab_size: int = 512):
    """Train a byte-level BPE on `texts`; returns a PreTrainedTokenizerFast with <s>, </s>, <pad>."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<pad>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # all 256 bytes: nothing is ever unknown
    )
    tok.train_from_iterator(list(texts), trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", tok.token_to_id("<s>"))]
    )
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>")


def tokenizer_fingerprint(tokenizer) -> str:
    """sha256 of everything that decides token ids: the serialized tokenizer and its special tokens."""
    h = hashlib.sha256()
    backend = getattr(tokenizer, "backend_tokenizer", None)
    h.update((backend.to_str() if backend is not None else json.dumps(tokenizer.get_vocab(), sort_keys=True)).encode())
    h.update(json.dumps(tokenizer.special_tokens_map, sort_keys=True, default=str).encode())
    h.update(str(getattr(tokenizer, "chat_template", None)).encode())
    return h.hexdigest()
