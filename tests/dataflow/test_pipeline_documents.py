"""Papers, patents and reports through the whole pipeline: real PDF, HWP, HWPX and patent files
are kept with their source kind, and hostile or broken files get their reason while the run goes on."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest

from dataflow.config import load_config
from dataflow.run import run_pipeline
from dataflow.snapshots import read_snapshot

ROOT = Path(__file__).resolve().parents[2]
LID = ROOT / "models" / "lid.176.ftz"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not LID.is_file(), reason="models/lid.176.ftz missing: run `make setup`"),
]

# aimed at the patent parser: the DOCTYPE names a patent root, so the record is sniffed as patent XML
BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE us-patent-grant [\n<!ENTITY lol "lol">\n'
    + b"".join(
        b'<!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10)
    )
    + b"]>\n<us-patent-grant><lolz>&lol9;</lolz></us-patent-grant>"
)


def _zip_bomb() -> bytes:
    """An HWPX whose section inflates to 256 MiB (about 1 MB on disk)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("mimetype", "application/hwp+zip", compress_type=zipfile.ZIP_STORED)
        with z.open("Contents/section0.xml", "w", force_zip64=True) as f:
            for _ in range(64):
                f.write(bytes(1 << 22))
    return buf.getvalue()


def test_documents_and_hostile_files_in_one_run(tmp_path, testdata):
    src = tmp_path / "in"
    src.mkdir()
    good = {
        "report.pdf": testdata / "pdf" / "docling_with_groundtruth" / "normal_4pages.pdf",
        "paper.pdf": testdata / "pdf" / "docling_with_groundtruth" / "2305.03393v1-pg9.pdf",
        "rfp.hwpx": testdata / "hwp" / "hwpxlib" / "error_20230728_test.hwpx",
        "sample.hwp": testdata / "hwp" / "pyhwp_fixtures" / "sample-5017.hwp",
        "grant.xml": testdata / "patents" / "uspto_docling" / "pg06442728.xml",
    }
    for name, path in good.items():
        shutil.copyfile(path, src / name)
    pdf = good["paper.pdf"].read_bytes()
    (src / "truncated.pdf").write_bytes(pdf[: len(pdf) // 2])
    (src / "page.pdf").write_bytes(b"<!DOCTYPE html><html><body><p>not a pdf</p></body></html>")
    (src / "bomb.hwpx").write_bytes(_zip_bomb())
    (src / "laughs.xml").write_bytes(BILLION_LAUGHS)
    secret = tmp_path / "secret.txt"
    secret.write_text("root:SECRET-LINE", encoding="utf-8")
    (src / "xxe.xml").write_bytes(
        f'<?xml version="1.0"?><!DOCTYPE us-patent-grant [<!ENTITY x SYSTEM "file://{secret}">]>'
        "<us-patent-grant><invention-title>&x;</invention-title></us-patent-grant>".encode()
    )
    (src / "empty.hwp").write_bytes(b"")

    data = tmp_path / "data"
    cfg = load_config(
        None, {"read.inputs": [str(src)], "data_root": str(data), "langid.model_path": str(LID), "engine.workers": 1}
    )
    result = run_pipeline(cfg)
    assert result.report.accounting_errors == []
    docs = read_snapshot(data_root=data).to_arrow().to_pylist()
    rejects = read_snapshot(f"run:{result.run_id}", table="rejects", data_root=data).to_arrow().to_pylist()
    reason = {Path(r["source_uri"]).name: r["reason"] for r in rejects}
    assert reason["truncated.pdf"] == "corrupt_pdf"
    assert reason["page.pdf"] in ("no_main_text", "unsupported_format")  # sniffed as HTML, not as a PDF
    assert reason["bomb.hwpx"] == "zip_bomb"
    assert reason["laughs.xml"] == "malicious_xml"
    assert reason["xxe.xml"] == "malicious_xml"
    assert reason["empty.hwp"] == "empty"
    assert all("SECRET" not in (r["excerpt"] or "") for r in rejects)
    assert all("SECRET" not in r["text"] for r in docs)

    kinds = {Path(r["source_uri"]).name: (r["source_kind"], r["language"]) for r in docs}
    assert kinds["report.pdf"] == ("paper", "ko")
    assert kinds["rfp.hwpx"] == ("report", "ko")
    assert kinds["sample.hwp"][0] == "report"
    assert kinds["grant.xml"] == ("patent", "en")
    assert kinds["paper.pdf"] == ("paper", "en")  # web rules (quality.source_kinds) do not judge papers
    by_kind = {g.key: g for g in result.report.source_kinds}
    assert {"paper", "patent", "report"} <= set(by_kind)
