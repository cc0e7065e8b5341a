"""End-to-end runs over a hostile input folder: nothing outside the input roots reaches any table, log or
report; every path discovered is accounted; dataflow.extract agrees with the run; NUL-byte and
mixed-encoding pages keep their text; two identical runs at once commit once."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from dataflow import reports
from dataflow.config import load_config
from dataflow.extractors import CONTAINER, extract, extract_records
from dataflow.run import load_run_report
from dataflow.snapshots import list_snapshots, read_snapshot
from schemas import TABLES
from schemas.corpus import BROKEN_LINK, NOT_A_FILE, OUTSIDE_INPUTS, SYMLINK_LOOP

ROOT = Path(__file__).resolve().parents[2]
LID = ROOT / "models" / "lid.176.ftz"
MARKER = "CANARY-OUTSIDE-7f3e2a"
CAP = 200_000  # read.max_record_bytes for these runs: big.html is over it without writing 20 MB

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not LID.is_file(), reason="models/lid.176.ftz missing: run `make setup`"),
]

TOPICS = [
    ("도서관", "한빛시는 다음 달부터 시립 도서관 세 곳의 평일 운영 시간을 밤 열 시까지 늘린다고 밝혔다"),
    ("버스", "시는 새벽 첫차 시간을 삼십 분 앞당기고 배차 간격을 줄이는 노선 개편안을 내놓았다"),
    ("공원", "구청은 하천 옆 공터에 산책로와 어린이 놀이터를 갖춘 작은 공원을 만들기로 했다"),
    ("시장", "전통시장 상인회는 주말마다 지역 농산물 장터를 열어 손님을 모으겠다고 말했다"),
    ("학교", "교육청은 내년부터 모든 초등학교에 방과 후 돌봄 교실을 하나씩 더 열기로 했다"),
    ("병원", "보건소는 어르신을 위한 무료 독감 예방 접종을 이번 달 말까지 이어간다고 알렸다"),
]
DETAILS = [
    "주민 설명회는 이달 셋째 주 목요일 저녁 일곱 시 구민회관 대강당에서 열린다.",
    "관계자는 석 달 동안 이용 현황을 분석한 뒤 다른 지역으로 확대할지 결정하겠다고 말했다.",
    "예산은 시비와 국비를 절반씩 나누어 마련하며 추가 비용은 내년 예산안에 반영한다.",
    "시민 의견은 누리집 게시판과 전화 상담 창구를 통해 다음 달 말까지 받는다.",
]


def page(i: int, extra: str = "") -> str:
    title, lead = TOPICS[i]
    paragraphs = [f"{lead}."] + [f"{title} 소식: {d}" for d in DETAILS] + ([extra] if extra else [])
    body = "".join(f"<p>{p}</p>\n" for p in paragraphs)
    return (
        f"<html><head><title>{title} 소식</title></head><body><article><h1>{title}</h1>\n{body}</article></body></html>"
    )


def warc(records: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=False)
    for url, body in records:
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers))
    return buf.getvalue()


def hostile_tree(base: Path) -> Path:
    secret = base / "secret"
    secret.mkdir()
    (secret / "canary.html").write_text(page(5, f"{MARKER} 이 문장은 입력 폴더 밖에 있다. " * 20), encoding="utf-8")
    src = base / "in"
    (src / "sub").mkdir(parents=True)
    (src / "good.html").write_text(page(0), encoding="utf-8")
    (src / "page.html.gz").write_bytes(gzip.compress(page(1).encode()))
    (src / "two.warc").write_bytes(warc([("https://a.kr/1", page(2).encode()), ("https://a.kr/2", b"")]))
    (src / "big.html").write_text(page(3) + "<!-- " + "x" * CAP + " -->", encoding="utf-8")
    nul = page(4).replace("소식:", "소식:\x00", 5)
    (src / "nul.html").write_bytes(nul.encode())
    mixed = page(0).replace("도서관", "열람실").encode()
    pasted = "<p>이 문단은 예전 누리집에서 옮겨 온 EUC-KR 글이라 인코딩이 다르다.</p>\n".encode("cp949")
    (src / "mixed.html").write_bytes(mixed.replace(b"</article>", pasted + b"</article>"))
    (src / "escape.html").symlink_to(secret / "canary.html")
    (src / "escape_dir").symlink_to(secret)
    (src / "loop1").symlink_to(src / "loop2")
    (src / "loop2").symlink_to(src / "loop1")
    (src / "dangling").symlink_to(src / "gone.html")
    (src / "sub" / "cycle").symlink_to(src)
    os.mkfifo(src / "pipe")
    return src


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dataflow.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def run_args(src: Path, data: Path, *extra: str) -> list[str]:
    return [
        "run",
        "--input",
        str(src),
        "--data-root",
        str(data),
        "--workers",
        "1",
        "--set",
        f"langid.model_path={LID}",
        "--set",
        f"read.max_record_bytes={CAP}",
        *extra,
    ]


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    src, data = hostile_tree(base), base / "data"
    proc = cli("-v", *run_args(src, data))
    assert proc.returncode == 0, proc.stderr[-3000:]
    snap = read_snapshot(data_root=data)
    run_id = snap.run_id
    tables = {
        t: read_snapshot(f"run:{run_id}", table=t, data_root=data).to_arrow().to_pylist()
        for t in ("documents", "rejects", "stage_stats", "inputs")
    }
    return src, data, run_id, proc, tables


def _rel(uri: str, src: Path) -> str:
    return Path(uri.removeprefix("file://")).relative_to(src).as_posix()


def test_every_path_is_accounted_with_its_status(hostile_run):
    src, data, run_id, proc, tables = hostile_run
    status = {_rel(r["uri"], src): r["status"] for r in tables["inputs"]}
    assert status == {
        "good.html": "read",
        "page.html.gz": "read",
        "two.warc": "read",
        "big.html": "read",
        "nul.html": "read",
        "mixed.html": "read",
        "escape.html": OUTSIDE_INPUTS,
        "escape_dir": OUTSIDE_INPUTS,
        "loop1": SYMLINK_LOOP,
        "loop2": SYMLINK_LOOP,
        "dangling": BROKEN_LINK,
        "sub/cycle": SYMLINK_LOOP,
        "pipe": NOT_A_FILE,
    }
    summary = read_snapshot(data_root=data).summary
    assert summary["dataflow.files"].startswith("13 discovered = 6 read + 7 refused")
    report = load_run_report(load_config(None, {"data_root": str(data)}), run_id)
    assert report.accounting_errors == [] and report.accounting.balanced
    assert "files 13 discovered = 6 read + 7 refused" in reports.render_text(report)
    accounted = {Path(r["source_uri"]).name for r in tables["documents"] + tables["rejects"]}
    assert accounted == {"good.html", "page.html.gz", "two.warc", "big.html", "nul.html", "mixed.html"}


def test_no_byte_from_outside_the_roots_anywhere(hostile_run):
    src, data, run_id, proc, tables = hostile_run
    assert MARKER not in proc.stdout + proc.stderr  # -v: engine logs included
    for name in TABLES:
        for snap in list_snapshots(name, data_root=data):
            rows = read_snapshot(snap["snapshot_id"], table=name, data_root=data).to_arrow().to_pylist()
            assert MARKER not in repr(rows), name
    report = load_run_report(load_config(None, {"data_root": str(data)}), run_id)
    for render in (reports.render_text, reports.render_markdown, reports.render_json, reports.render_html):
        assert MARKER not in render(report)
    for path in data.rglob("*"):  # scratch, logs, staging, metadata: raw bytes
        if path.is_file():
            assert MARKER.encode() not in path.read_bytes(), path


def _run_outcome(tables: dict, doc_id: str) -> tuple[str, str | None]:
    """('kept', None), or (stage, reason) of the run's reject row for a document id."""
    rejects = {r["id"]: (r["stage"], r["reason"]) for r in tables["rejects"]}
    if doc_id in rejects:
        return rejects[doc_id]
    assert doc_id in {r["id"] for r in tables["documents"]}, doc_id
    return ("kept", None)


@pytest.mark.parametrize("name", ["page.html.gz", "two.warc", "big.html", "good.html"])
def test_extract_agrees_with_the_run(hostile_run, name):
    src, data, run_id, proc, tables = hostile_run
    cfg = load_config(None, {"read.max_record_bytes": CAP})
    path = src / name
    uri = path.absolute().as_uri()
    records = list(extract_records(path, uri, config=cfg.extract, read=cfg.read))
    in_memory = list(extract_records(path.read_bytes(), uri, config=cfg.extract, read=cfg.read))
    assert [(r.id, r.extraction.text, r.extraction.reason) for r in records] == [
        (r.id, r.extraction.text, r.extraction.reason) for r in in_memory
    ]
    single = extract(path.read_bytes(), uri, config=cfg.extract, read=cfg.read)
    if name == "two.warc":
        assert single.reason == CONTAINER and single.metadata["records"] == 2
    else:
        assert len(records) == 1 and (single.text, single.reason) == (
            records[0].extraction.text,
            records[0].extraction.reason,
        )
    for rec in records:
        stage, reason = _run_outcome(tables, rec.id)
        if stage in ("read", "extract"):
            assert rec.extraction.reason == reason, (name, stage)
        else:  # the run went past extraction: the API extracted text too
            assert rec.extraction.ok, (name, stage, rec.extraction.reason)
    if name == "big.html":
        assert single.reason == "too_large"


def test_nul_and_mixed_encoding_pages_keep_their_text(hostile_run):
    src, data, run_id, proc, tables = hostile_run
    for name in ("nul.html", "mixed.html"):
        ex = extract((src / name).read_bytes(), (src / name).absolute().as_uri())
        assert ex.ok, (name, ex.reason)
        assert all(d in ex.text for d in DETAILS), name  # every valid paragraph survives
        assert "\x00" not in ex.text
        doc = [r for r in tables["documents"] + tables["rejects"] if r["source_uri"].endswith(name)]
        assert len(doc) == 1 and doc[0].get("stage") not in ("read", "extract"), doc
    mixed = extract((src / "mixed.html").read_bytes(), None)
    assert "예전 누리집에서 옮겨 온 EUC-KR 글" in mixed.text  # the pasted paragraph is repaired, not lost
    assert mixed.metadata["encoding"] == "utf-8+cp949"


def test_two_identical_runs_at_once_commit_once(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        (src / f"p{i}.html").write_text(page(i), encoding="utf-8")
    data = tmp_path / "data"
    args = [sys.executable, "-m", "dataflow.cli", *run_args(src, data, "--run-id", "run-twice")]
    procs = [subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in "ab"]
    results = [(p.wait(timeout=600), p.stdout.read(), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    commits = [s for s in list_snapshots(data_root=data) if s["run_id"] == "run-twice"]
    assert len(commits) == 1
    codes = sorted(code for code, _, _ in results)
    assert codes in ([0, 0], [0, 1]), results
    for code, out, err in results:
        if code == 1:  # the second one to start found the first at work
            assert "run run-twice is in progress (pid" in err and err.count("\n") == 1, err
        else:
            assert "run run-twice:" in out
