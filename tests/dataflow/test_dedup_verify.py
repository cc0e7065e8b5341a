"""Verification of LSH candidates by signature agreement: edited copies pass, same-topic different texts do not."""

from __future__ import annotations

import numpy as np

from dataflow.dedup.exact import canonical
from dataflow.dedup.minhash import batch_signatures
from dataflow.dedup.verify import agreement, verified_edges

BASE = (
    "서울시는 올해 여름부터 한강 공원의 자전거 도로를 넓히는 공사를 시작했다. 시는 주말마다 자전거를 타는 시민이 "
    "크게 늘어 보행자와 부딪히는 사고가 잦아졌다고 설명했다. 공사는 내년 봄까지 이어지며, 그동안 일부 구간은 "
    "우회로를 이용해야 한다. 시민들은 불편하지만 안전을 위해 필요한 일이라는 반응을 보였다."
)
EDITED = (
    BASE.replace("올해 여름부터", "이번 여름부터").replace("크게 늘어", "많이 늘어나")
    + " 자세한 내용은 시 누리집에 있다."
)
SAME_TOPIC = (  # another outlet's story on the same event: same facts, its own sentences
    "한강 자전거 도로 확장 공사가 이번 여름 시작된다. 서울시에 따르면 주말 자전거 이용객 증가로 보행자 사고가 "
    "늘었고, 공사 기간에는 일부 구간에 우회로가 마련된다. 공사는 내년 봄 마무리될 예정이다."
)


def test_agreement_is_the_share_of_equal_positions():
    a = np.array([[1, 2, 3, 4], [5, 6, 7, 8]], dtype=np.uint32)
    b = np.array([[1, 2, 0, 0], [5, 6, 7, 8]], dtype=np.uint32)
    assert agreement(a, b).tolist() == [0.5, 1.0]
    assert verified_edges(np.array([0, 1]), np.array([1, 1]), a, 0.5).tolist() == [False, True]
    assert verified_edges(np.array([], dtype=np.int64), np.array([], dtype=np.int64), a, 0.5).tolist() == []


def test_edited_copy_verifies_and_same_topic_story_does_not():
    sigs = np.stack(batch_signatures([canonical(t) for t in (BASE, EDITED, SAME_TOPIC)], "char", 5, 120, 1))
    src, dst = np.array([0, 0]), np.array([1, 2])
    est = agreement(sigs[src], sigs[dst])
    assert est[0] > 0.5 > 0.2 > est[1]  # the estimate of a high and of a low Jaccard
    assert verified_edges(src, dst, sigs, 0.4).tolist() == [True, False]
