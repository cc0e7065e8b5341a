"""End-to-end runs of the local engine: every input accounted for, planted cases get their
reasons, reruns commit nothing new, bad inputs never crash, a killed run leaves the last
snapshot intact."""

from __future__ import annotations

import gzip
import io
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from dataflow.config import load_config
from dataflow.run import run_pipeline
from dataflow.snapshots import list_snapshots, read_snapshot

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "samples" / "demo"
LID = ROOT / "models" / "lid.176.ftz"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not LID.is_file(), reason="models/lid.176.ftz missing: run `make setup`"),
]


def config(data_root: Path, inputs: list[Path], **overrides):
    values = {"read.inputs": [str(p) for p in inputs], "data_root": str(data_root), "langid.model_path": str(LID)}
    values.update(overrides)
    return load_config(None, values)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    cfg = config(root, [DEMO], **{"engine.workers": 2})  # the multi-process path
    result = run_pipeline(cfg)
    docs = read_snapshot(data_root=root).to_arrow().to_pylist()
    rejects = read_snapshot(f"run:{result.run_id}", table="rejects", data_root=root).to_arrow().to_pylist()
    return cfg, result, docs, rejects


def by_file(rows: list[dict], name: str) -> list[dict]:
    return [r for r in rows if r["source_uri"].endswith(name)]


def test_every_input_is_accounted_for(demo):
    cfg, result, docs, rejects = demo
    report = result.report
    assert report.accounting_errors == []
    assert report.accounting.inputs == report.accounting.kept + report.accounting.dropped + report.accounting.failed
    assert report.accounting.kept == len(docs)
    assert report.accounting.dropped + report.accounting.failed == len(rejects)
    assert len({r["id"] for r in docs} | {r["id"] for r in rejects}) == len(docs) + len(rejects)
    inputs = read_snapshot(f"run:{result.run_id}", table="inputs", data_root=cfg.data_root).to_arrow().to_pylist()
    files_on_disk = sorted(p.resolve().as_uri() for p in DEMO.rglob("*") if p.is_file())
    assert sorted(r["uri"] for r in inputs) == files_on_disk
    assert all(len(r["content_hash"]) == 64 for r in inputs)


def test_planted_cases_get_their_reasons(demo):
    _, _, docs, rejects = demo
    reason = {Path(r["source_uri"]).name: (r["stage"], r["reason"]) for r in rejects if not r["url"]}
    assert reason["empty.html"] == ("read", "empty")
    assert reason["binary_junk.html"] == ("extract", "unsupported_format")
    assert reason["nav_only.html"] == ("extract", "no_main_text")
    assert reason["truncated_page.html.gz"] == ("read", "truncated_input")
    assert reason["ja_blog_rainy_season.html"] == ("langid", "language_not_kept")
    assert reason["zh_article_tea.html"] == ("langid", "language_not_kept")
    failed = [r for r in rejects if r["outcome"] == "failed"]
    assert failed and all(r["error"] for r in failed)

    # exactly one of the byte-identical pair survives, the other points at it
    pair = by_file(docs + rejects, "ko_blog_laundry.html") + by_file(docs + rejects, "laundry-tips-copy.html")
    dropped = [r for r in pair if r.get("reason") == "exact_duplicate"]
    assert len(pair) == 2 and len(dropped) == 1
    assert dropped[0]["duplicate_of"] == min(r["id"] for r in pair)

    for original, copy in [
        ("ko_news_library_hours.html", "ko_news_library_hours_portal_repost.html"),
        ("ko_blog_hangang_ride.html", "ko_blog_hangang_ride_scraped.html"),
        ("ko_explainer_recycling.html", "ko_explainer_recycling_updated.html"),
    ]:
        kept = by_file(docs, original) + by_file(docs, copy)
        gone = by_file(rejects, original) + by_file(rejects, copy)
        assert len(kept) == 1 and [r["reason"] for r in gone] == ["near_duplicate"]
        assert kept[0]["dedup_cluster"] == gone[0]["duplicate_of"] == kept[0]["id"]


def test_kept_documents_are_clean(demo):
    _, _, docs, _ = demo
    langs = Counter(r["language"] for r in docs)
    assert set(langs) == {"ko", "en"} and langs["ko"] > 4 * langs["en"]
    (rrn_page,) = by_file(docs, "ko_explainer_rrn_privacy.html")
    assert "<RRN>" in rrn_page["text"] and "780422-1520915" not in rrn_page["text"]
    assert "640918-2381042" in rrn_page["text"]  # fails the checksum: not an RRN
    assert rrn_page["pii_counts"] and dict(rrn_page["pii_counts"])["rrn"] == 1
    (library,) = by_file(docs, "ko_news_library_hours.html") or by_file(
        docs, "ko_news_library_hours_portal_repost.html"
    )
    assert "무단전재" not in library["text"] and "재배포 금지" not in library["text"]
    for row in docs:
        assert row["n_chars"] == len(row["text"]) and row["n_bytes"] == len(row["text"].encode())


def test_rerun_commits_nothing_new(demo):
    cfg, first, docs, _ = demo
    snapshots_before = list_snapshots(data_root=cfg.data_root)
    again = run_pipeline(cfg)
    assert again.run_id == first.run_id and again.commit.already_committed
    assert list_snapshots(data_root=cfg.data_root) == snapshots_before
    assert read_snapshot(data_root=cfg.data_root).to_arrow().num_rows == len(docs)


def _warc_gz(records: list[tuple[str, bytes]]) -> bytes:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True)
    for url, body in records:
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers))
    return buf.getvalue()


SENTENCES = [
    "한빛시는 다음 달부터 시립 도서관 세 곳의 평일 운영 시간을 밤 열 시까지 늘린다고 밝혔다.",
    "시험 기간마다 열람실 자리가 부족하다는 학생들의 민원이 꾸준히 이어진 데 따른 조치다.",
    "연장 운영 시간에는 자료 대출과 반납은 물론 노트북 전용석과 그룹 스터디실도 이용할 수 있다.",
    "시는 야간 근무 인력을 새로 뽑는 대신 자원봉사자와 사서 교대 근무를 함께 활용할 계획이다.",
    "도서관 주변 버스 노선의 막차 시간도 운영 시간에 맞춰 삼십 분가량 늦추는 방안을 협의하고 있다.",
    "이용객이 많지 않은 주말 오전 프로그램은 줄이고 청소년 독서 모임과 어르신 디지털 교실을 늘린다.",
    "관계자는 석 달 동안 이용 현황을 분석한 뒤 다른 분관으로 확대할지 결정하겠다고 말했다.",
]
KO_PAGE = (
    "<html><head><title>도서관 운영 시간 연장</title></head><body><article><h1>도서관 운영 시간 연장</h1>"
    + "".join(f"<p>{s}</p>" for s in SENTENCES)
    + "</article></body></html>"
)


def test_bad_inputs_never_crash_the_run(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "zero.html").write_bytes(b"")
    (src / "junk.html").write_bytes(bytes(range(256)) * 40)
    (src / "cut.html.gz").write_bytes(gzip.compress(KO_PAGE.encode())[:200])
    warc = _warc_gz([(f"https://example.org/{i}", KO_PAGE.replace("세 곳", f"{i + 4} 곳").encode()) for i in range(3)])
    (src / "cut.warc.gz").write_bytes(warc[:-50])  # inside the last record's gzip member
    (src / "broken_encoding.html").write_bytes(KO_PAGE.encode("cp949")[:-7] + b"\xff\xfe\x81")
    (src / "no_text.html").write_bytes(b"<html><body><nav><a href='/'>home</a></nav></body></html>")
    with open(src / "huge.html", "wb") as f:  # 50 MB, sparse: never read into memory
        f.truncate(50_000_000)
    (src / "good.html").write_text(KO_PAGE, encoding="utf-8")

    result = run_pipeline(config(tmp_path / "data", [src], **{"engine.workers": 1}))
    assert result.report.accounting_errors == []
    rejects = read_snapshot(f"run:{result.run_id}", table="rejects", data_root=tmp_path / "data").to_arrow().to_pylist()
    reasons = {(Path(r["source_uri"]).name, r["reason"]) for r in rejects}
    assert ("zero.html", "empty") in reasons
    assert ("huge.html", "too_large") in reasons
    assert ("cut.html.gz", "truncated_input") in reasons
    assert ("cut.warc.gz", "truncated_input") in reasons
    assert ("junk.html", "unsupported_format") in reasons
    assert ("no_text.html", "no_main_text") in reasons
    docs = read_snapshot(data_root=tmp_path / "data").to_arrow().to_pylist()
    # good.html and the WARC pages are near-copies of one text: one survives, the rest are duplicates
    survivors = [r for r in docs if Path(r["source_uri"]).name in ("good.html", "cut.warc.gz")]
    assert len(survivors) == 1
    good = [r["reason"] for r in rejects if Path(r["source_uri"]).name == "good.html"]
    assert good in ([], ["near_duplicate"], ["exact_duplicate"])
    accounted = {Path(r["source_uri"]).name for r in docs + rejects}
    assert accounted == {p.name for p in src.iterdir()}


def test_killed_run_leaves_previous_snapshot_and_rerun_commits_once(tmp_path):
    first_in, second_in = tmp_path / "a", tmp_path / "b"
    first_in.mkdir()
    second_in.mkdir()
    (first_in / "a.html").write_text(KO_PAGE, encoding="utf-8")
    for i in range(4):
        (second_in / f"b{i}.html").write_text(KO_PAGE.replace("도서관 운영", f"{i}번 도서관 운영"), encoding="utf-8")
    (second_in / "a-empty.html").write_bytes(b"")  # a reject written by the first task, before the kill
    data = tmp_path / "data"
    run_pipeline(config(data, [first_in], **{"engine.workers": 1}))
    before = read_snapshot(data_root=data)
    rows_before = before.to_arrow().to_pylist()

    # SIGKILL the second run's whole process group (as a scheduler or the OOM killer would) in the
    # middle of its per-document pass: at the third document reaching the pii stage
    script = textwrap.dedent(f"""
        import os, signal
        from dataflow.stages import pii
        from dataflow.config import load_config
        from dataflow.run import run_pipeline
        seen = []
        real = pii.PIIStage.apply
        def dying(self, doc):
            seen.append(doc.id)
            if len(seen) == 3:
                os.killpg(os.getpgid(0), signal.SIGKILL)
            return real(self, doc)
        pii.PIIStage.apply = dying
        run_pipeline(load_config(None, {{"read.inputs": [{str(second_in)!r}], "data_root": {str(data)!r},
                                         "langid.model_path": {str(LID)!r}, "engine.workers": 1,
                                         "engine.tasks": 2}}))
    """)
    log = tmp_path / "killed.log"
    with open(log, "wb") as out:
        proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, stdout=out, stderr=out, start_new_session=True)
    assert proc.returncode == -9, log.read_text(errors="replace")[-3000:]

    after_kill = read_snapshot(data_root=data)
    assert after_kill.snapshot_id == before.snapshot_id
    assert after_kill.to_arrow().to_pylist() == rows_before

    # the rerun shards differently: nothing the killed layout left behind may be committed
    cfg = config(data, [second_in], **{"engine.workers": 1, "engine.tasks": 3})
    rerun = run_pipeline(cfg)
    rejects = read_snapshot(f"run:{rerun.run_id}", table="rejects", data_root=data).to_arrow().to_pylist()
    assert len(rejects) == len({r["id"] for r in rejects}) == rerun.report.accounting.dropped
    assert [r["reason"] for r in rejects if r["source_uri"].endswith("a-empty.html")] == ["empty"]
    assert not rerun.commit.already_committed
    current = read_snapshot(data_root=data).to_arrow()
    assert current.num_rows == len(rows_before) + rerun.report.accounting.kept
    assert sorted(current.column("id").to_pylist()) == sorted(set(current.column("id").to_pylist()))
    assert run_pipeline(cfg).commit.already_committed
