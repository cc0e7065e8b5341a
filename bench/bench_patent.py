"""Patent extraction: field-level token F1 against docling's ground truth, and every file parsed.

For the USPTO files that ship docling's reviewed Markdown (``*.groundtruth.md`` in
../shared/testdata/patents/uspto_docling), each field is compared as a bag of tokens (``\\w+``,
case-folded): title (the ``#`` line), abstract (the ``### ABSTRACT`` section), description (from the
end of the abstract section to ``### CLAIMS``) and claims (``### CLAIMS`` to the next ``##`` heading).
``abstract+description`` scores the two together, since docling files the whole v1.x description
under ABSTRACT (that file has no headings of its own). Then every patent file under
testdata/patents is extracted and listed with its fields, and speed is measured.

Run: .venv/bin/python bench/bench_patent.py
"""

from __future__ import annotations

import re
import sys
import time
from collections import Counter
from pathlib import Path

from dataflow.config import ExtractConfig
from dataflow.extractors.patent import extract_patent_aps, extract_patent_xml

ROOT = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "patents"
CONFIG = ExtractConfig()
FIELDS = ("title", "abstract", "description", "claims", "abstract+description")


def tokens(text: str) -> Counter:
    return Counter(t.casefold() for t in re.findall(r"\w+", text))


def token_f1(pred: str, ref: str) -> float:
    p, r = tokens(pred), tokens(ref)
    if not p or not r:
        return float(p == r)
    overlap = sum((p & r).values())
    if overlap == 0:
        return 0.0
    prec, rec = overlap / sum(p.values()), overlap / sum(r.values())
    return 2 * prec * rec / (prec + rec)


def groundtruth_fields(md: str) -> dict[str, str]:
    lines = md.splitlines()
    title = next((ln[2:] for ln in lines if ln.startswith("# ")), "")
    heads = [(i, ln) for i, ln in enumerate(lines) if ln.startswith("#")]

    def section(name: str) -> tuple[int, int]:
        for k, (i, ln) in enumerate(heads):
            if ln.lstrip("#").strip().upper() == name:
                end = next((j for j, h in heads[k + 1 :] if name != "CLAIMS" or h.startswith("## ")), len(lines))
                return i, end
        return -1, -1

    a0, a1 = section("ABSTRACT")
    c0, c1 = section("CLAIMS")
    body = lambda a, b: "\n".join(lines[a + 1 : b]) if a >= 0 else ""  # noqa: E731
    abstract = body(a0, a1)
    description = "\n".join(lines[a1:c0]) if a1 >= 0 and c0 >= 0 else ""
    return {
        "title": title,
        "abstract": abstract,
        "description": description,
        "claims": body(c0, c1),
        "abstract+description": abstract + "\n" + description,
    }


def extract(path: Path):  # noqa: ANN201
    fn = extract_patent_aps if path.suffix == ".txt" else extract_patent_xml
    return fn(path.read_bytes(), str(path), {}, CONFIG)


def ours_fields(meta: dict) -> dict[str, str]:
    claims = "\n".join(meta.get("claims", []))
    return {
        "title": meta.get("title", ""),
        "abstract": meta.get("abstract", ""),
        "description": meta.get("description", ""),
        "claims": claims,
        "abstract+description": meta.get("abstract", "") + "\n" + meta.get("description", ""),
    }


def main() -> None:
    if not ROOT.is_dir():
        sys.exit(f"test data not found at {ROOT}")
    uspto = ROOT / "uspto_docling"
    print("## Field token F1 vs docling ground truth (USPTO)\n")
    print("| file | " + " | ".join(FIELDS) + " |")
    print("|---|" + "---:|" * len(FIELDS))
    sums = Counter()
    gts = sorted(uspto.glob("*.groundtruth.md"))
    for gt in gts:
        stem = gt.name.removesuffix(".groundtruth.md")
        src = next(p for p in uspto.glob(stem + ".*") if not p.name.endswith(".md"))
        ref = groundtruth_fields(gt.read_text(encoding="utf-8"))
        got = ours_fields(extract(src).metadata)
        f1 = {f: token_f1(got[f], ref[f]) for f in FIELDS}
        sums.update(f1)
        print(f"| {src.name} | " + " | ".join(f"{f1[f]:.3f}" for f in FIELDS) + " |")
    print("| **mean** | " + " | ".join(f"**{sums[f] / len(gts):.3f}**" for f in FIELDS) + " |")

    files = sorted(p for p in ROOT.rglob("*") if p.suffix in (".xml", ".txt"))
    print(f"\n## Every patent file under testdata/patents ({len(files)})\n")
    print("| file | outcome | schema | doc number | kind | published | filed | lang | claims | chars | title |")
    print("|---|---|---|---|---|---|---|---|---:|---:|---|")
    for path in files:
        r = extract(path)
        m = r.metadata
        print(
            f"| {path.relative_to(ROOT)} | {'text' if r.ok else r.reason} | {m.get('patent_schema', '')} "
            f"| {m.get('doc_number', '')} | {m.get('kind', '')} | {m.get('publication_date', '')} "
            f"| {m.get('filing_date', '')} | {m.get('language', '')} | {m.get('claim_count', '')} "
            f"| {len(r.text or '')} | {m.get('title', '')[:50]} |"
        )

    data = {p: p.read_bytes() for p in files}
    reps = 20
    t0 = time.perf_counter()
    for _ in range(reps):
        for p in files:
            (extract_patent_aps if p.suffix == ".txt" else extract_patent_xml)(data[p], str(p), {}, CONFIG)
    dt = (time.perf_counter() - t0) / reps
    mb = sum(len(b) for b in data.values()) / 1e6
    print("\n## Speed (one core, in-process, bytes already in memory)\n")
    print("| files | MB | seconds | files/s | MB/s |")
    print("|---:|---:|---:|---:|---:|")
    print(f"| {len(files)} | {mb:.1f} | {dt:.3f} | {len(files) / dt:.0f} | {mb / dt:.1f} |")


if __name__ == "__main__":
    main()
