"""Verification of LSH candidates by signature agreement: edited copies pass, same-topic different texts do not,
and through ``plan_dedup`` with the default layout (50x3, verified >= 0.42): near-but-different documents stay
apart although they share band keys, and copies with a fifth of their words edited are dropped."""

from __future__ import annotations

import numpy as np
import pytest

from dataflow.config import DedupConfig
from dataflow.dedup import NEAR_DUPLICATE, plan_dedup
from dataflow.dedup.exact import canonical
from dataflow.dedup.minhash import batch_signatures, dedup_keys
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


# Written for these tests. One news site's template (header and footer) around four unrelated stories, two
# outlets' stories on one event in Korean and in English: near-but-different documents.
HEADER = ["홈 > 뉴스 > 사회", "로그인 회원가입 구독신청 기사공유"]
FOOTER = ["저작권자 © 한빛일보 무단전재 및 재배포 금지", "댓글 0 좋아요 0 많이 본 뉴스 관련기사 더보기"]
BODIES = [
    "부산시는 다음 달부터 시내버스 첫차 시간을 삼십 분 앞당긴다고 밝혔다. 새벽에 출근하는 노동자들의 요청이 "
    "이어졌기 때문이다. 시는 노선별 이용객을 분석해 배차 간격도 조정할 계획이며, "
    "추가 비용은 연간 십이억 원으로 추산했다.",
    "국립중앙박물관은 고려 시대 청자 특별전을 연다. 국보와 보물을 포함해 이백여 점이 나오며, 관람객은 가마터에서 "
    "발굴된 파편을 직접 만져 볼 수 있다. 관람료는 무료이고 온라인으로 미리 예약하면 해설을 들을 수 있다.",
    "기상청은 이번 주말 남부 지방에 최대 백 밀리미터의 비가 내리겠다고 예보했다. 산간 지역은 계곡물이 갑자기 "
    "불어날 수 있어 야영을 자제해 달라고 당부했다. 비는 월요일 오후 서쪽부터 차차 그치겠다.",
    "한 중학교 과학 동아리가 직접 만든 소형 위성 모형으로 전국 대회에서 대상을 받았다. 학생들은 일 년 동안 "
    "방과 후에 모여 회로를 설계하고 코드를 작성했다. 지도 교사는 실패를 두려워하지 않은 덕분이라고 말했다.",
]
EN_A = (
    "The city council approved a plan on Tuesday to widen the riverside bike path after a rise in collisions "
    "between cyclists and pedestrians. Work starts this summer and is expected to last until next spring, "
    "with detours posted along the closed sections."
)
EN_B = (
    "Cyclists and walkers on the riverside path will share detours from this summer, when construction begins "
    "on a wider lane. Council members voted for the project on Tuesday, citing more crashes on busy weekends; "
    "it should be finished next spring."
)


def page(body: str) -> str:
    return "\n".join([*HEADER, body, *FOOTER])


def near_but_different() -> dict[str, str]:
    """id -> text of documents no two of which are copies of each other."""
    docs = {f"page{i}": page(b) for i, b in enumerate(BODIES)}
    return docs | {"ko-a": BASE, "ko-b": SAME_TOPIC, "en-a": EN_A, "en-b": EN_B}


def every_fifth_word(text: str, edit) -> str:
    """``edit`` applied to words 2, 7, 12, ...: a fifth of the words (None deletes the word)."""
    words = [edit(w) if i % 5 == 2 else w for i, w in enumerate(text.split())]
    return " ".join(w for w in words if w is not None)


def edited_copies() -> dict[str, str]:
    """id -> a copy with a fifth of its words edited, of a document of ``near_but_different``."""

    def ending(w: str) -> str:  # a particle or ending dropped (Korean), a suffix cut (English)
        return w[:-1] if len(w) > 2 else w

    return {
        "ko-a-edited": every_fifth_word(BASE, ending),
        "page0-edited": every_fifth_word(page(BODIES[0]), ending),
        "en-a-edited": every_fifth_word(EN_A, lambda w: None),
    }


def key_rows(docs: dict[str, str], cfg: DedupConfig) -> list[tuple[str, bytes, list[int], int, bytes]]:
    """(id, exact, bands, n_chars, signature) rows, as the engines read them from STAGING."""
    rows = []
    for doc_id, text in docs.items():
        k = dedup_keys(text, cfg)
        rows.append((doc_id, k.exact, k.bands, len(text), k.signature))
    return rows


def test_near_but_different_documents_stay_apart_although_they_are_candidates():
    cfg = DedupConfig()
    rows = key_rows(near_but_different(), cfg)
    shared = [(a[0], b[0]) for i, a in enumerate(rows) for b in rows[i + 1 :] if set(a[2]) & set(b[2])]
    # the template pages share band keys with each other (the low 50x3 threshold): verification must decide
    assert {("page0", "page1"), ("page1", "page2"), ("page2", "page3")} <= set(shared)
    assert plan_dedup(rows, cfg).drops == {}
    # without the check the same layout merges them: the precision comes from verification, not the bands
    assert plan_dedup(rows, DedupConfig(verify=0)).drops


def test_a_copy_with_a_fifth_of_its_words_edited_is_caught_with_the_default_layout():
    cfg = DedupConfig()
    originals, copies = near_but_different(), edited_copies()
    plan = plan_dedup(key_rows(originals | copies, cfg), cfg)
    # the keep rule keeps the longer text: each original, whose edited copy is shorter
    assert plan.drops == {c: (NEAR_DUPLICATE, c.removesuffix("-edited")) for c in copies}
    # FineWeb's 14x8, unverified: none of these copies even shares a band key with its original
    old = DedupConfig(bands=14, rows=8, verify=0)
    for c in copies:
        assert not set(dedup_keys(originals[c.removesuffix("-edited")], old).bands) & set(
            dedup_keys(copies[c], old).bands
        )


def test_rows_without_a_signature_are_refused_when_verifying():
    cfg = DedupConfig()
    doc_id, exact, bands, n, _ = key_rows({"a": BASE}, cfg)[0]
    with pytest.raises(ValueError, match="signature"):
        plan_dedup([(doc_id, exact, bands, n)], cfg)


def test_config_refuses_a_low_threshold_layout_without_verification():
    from dataflow.config import ConfigError, load_config, validate

    with pytest.raises(ConfigError, match="dedup.verify: 0 \\(off\\) with 50x3 bands"):
        validate(load_config(None, {"dedup.verify": 0}))
    with pytest.raises(ConfigError, match="dedup.verify: must be within 0..1"):
        validate(load_config(None, {"dedup.verify": 1.5}))
    assert validate(load_config(None, {"dedup.verify": 0, "dedup.bands": 14, "dedup.rows": 8})).dedup.verify == 0
