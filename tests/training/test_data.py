"""Packing, packed attention, resumable streaming from a snapshot, lineage."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from training.data import DataState, PackedStream, open_snapshot, pack, snapshot_texts
from training.tokenizer import build_byte_bpe

from .conftest import KO_EN


def test_pack_resets_positions_and_masks_boundary_labels():
    docs = [[1, 2, 3], [4, 5, 6, 7, 8], [9, 10]]
    rows = list(pack(docs, seq_len=4))
    assert [r["input_ids"].tolist() for r, _ in rows] == [[1, 2, 3, 4], [5, 6, 7, 8]]  # trailing [9, 10] dropped
    assert rows[0][0]["position_ids"].tolist() == [0, 1, 2, 0]
    assert rows[1][0]["position_ids"].tolist() == [0, 1, 2, 3]  # continuation of doc 2 restarts at 0
    assert rows[0][0]["labels"].tolist() == [-100, 2, 3, -100]
    assert rows[0][1] == DataState("", doc_offset=1, token_offset=1, rows=1)  # doc 1 has 1 token placed
    assert rows[1][1] == DataState("", doc_offset=2, token_offset=0, rows=2)


def test_pack_resumes_exactly():
    docs = [list(range(k * 10, k * 10 + n)) for k, n in enumerate([5, 9, 2, 7, 11, 3])]
    full = list(pack(docs, seq_len=6))
    state = full[2][1]
    resumed = list(pack(docs[state.doc_offset :], seq_len=6, start=state))
    assert [r["input_ids"].tolist() for r, _ in resumed] == [r["input_ids"].tolist() for r, _ in full[3:]]
    assert [s for _, s in resumed] == [s for _, s in full[3:]]


def test_packed_row_does_not_attend_across_documents():
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=50,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        attn_implementation="sdpa",
    )
    model = LlamaForCausalLM(cfg).eval()
    a, b = [3, 4, 5, 6], [7, 8, 9]
    (row, _), *_ = pack([a, b, [1] * 10], seq_len=7)
    with torch.no_grad():
        # use_cache=False as in training: with a KV cache transformers skips the packed-sequence mask
        packed = model(input_ids=row["input_ids"][None], position_ids=row["position_ids"][None], use_cache=False)
        packed = packed.logits[0]
        alone_a = model(input_ids=torch.tensor([a])).logits[0]
        alone_b = model(input_ids=torch.tensor([b])).logits[0]
    torch.testing.assert_close(packed[:4], alone_a)
    torch.testing.assert_close(packed[4:], alone_b)


def test_stream_reads_snapshot_by_tag_and_resumes(corpus):
    root, snap_id = corpus
    snap = open_snapshot("fixture-v1", root)
    assert str(snap.snapshot_id) == snap_id
    texts = list(snapshot_texts(snap))
    assert len(texts) == 40 and list(snapshot_texts(snap, doc_offset=37)) == texts[37:]
    tok = build_byte_bpe(KO_EN, vocab_size=300)
    stream = PackedStream(snap, tok, seq_len=32)
    rows = list(stream)
    assert len(rows) > 10 and all(r["input_ids"].shape == (32,) for r in rows)
    assert list(PackedStream(snap, tok, seq_len=32))[5]["input_ids"].tolist() == rows[5]["input_ids"].tolist()
    state = stream.state_at(6)
    assert state.snapshot_id == snap_id and state.rows == 6
    resumed = list(PackedStream(snap, tok, seq_len=32, start=state))
    assert [r["input_ids"].tolist() for r in resumed] == [r["input_ids"].tolist() for r in rows[6:]]


def test_rank_shards_partition_the_snapshot_and_resume_per_rank(corpus):
    root, snap_id = corpus
    snap = open_snapshot("fixture-v1", root)
    texts = list(snapshot_texts(snap))
    shards = [list(snapshot_texts(snap, rank=r, world_size=3)) for r in range(3)]
    assert [t for r in range(3) for t in shards[r]] != texts  # interleaved, not contiguous...
    assert sorted(t for s in shards for t in s) == sorted(texts)  # ...and together exactly the snapshot
    assert shards[1] == texts[1::3]
    assert list(snapshot_texts(snap, doc_offset=4, rank=2, world_size=3)) == texts[2::3][4:]
    tok = build_byte_bpe(KO_EN, vocab_size=300)
    stream = PackedStream(snap, tok, seq_len=16, rank=1, world_size=3)
    rows = list(stream)
    state = stream.state_at(3)
    assert (state.rank, state.world_size) == (1, 3)
    resumed = list(PackedStream(snap, tok, seq_len=16, start=state, rank=1, world_size=3))
    assert [r["input_ids"].tolist() for r in resumed] == [r["input_ids"].tolist() for r in rows[3:]]
    with pytest.raises(ValueError, match="same world size|world size the checkpoint"):
        PackedStream(snap, tok, seq_len=16, start=state, rank=1, world_size=4)


def test_rank_shards_across_batch_boundaries():
    import pyarrow as pa

    texts = [f"doc {i}" for i in range(16)]

    class Snap:  # a snapshot whose Parquet batches have uneven sizes
        def batches(self, columns):
            start = 0
            for n in (3, 5, 1, 7):
                yield pa.RecordBatch.from_pydict({"text": texts[start : start + n]})
                start += n

    for world in (1, 2, 3, 5):
        for rank in range(world):
            for offset in (0, 1, 2, 4):
                got = list(snapshot_texts(Snap(), doc_offset=offset, rank=rank, world_size=world))
                assert got == texts[rank::world][offset:], (world, rank, offset)
