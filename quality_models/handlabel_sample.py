"""Draw the candidates of the hand-labelled evaluation set (seeded), printed for a person to read and label.

    python -m quality_models.handlabel_sample > candidates.txt

Sources and counts are chosen so the set is hard for a "Wikipedia vs comments" shortcut: most
draws come from text no training source uses (news lines, NLI premises, STS sentences, exam
questions, instructions, demo pages, WCXB article and service pages), and the rest from training
sources' units, which the training builder then skips by pointer.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from quality_models import handlabels, quality_data

SEED = 11
# scheme -> how many to draw
PLAN_KO = {
    "korquad": 22,
    "nsmc": 32,
    "hate": 20,
    "news_title": 8,
    "parallel_news_ko": 30,
    "parallel_jhe_ko": 8,
    "kornli": 28,
    "korsts": 14,
    "klue_sts": 16,
    "kmmlu": 8,
    "kullm_ko": 8,
    "konlpy": 10,
    "demo_ko": 22,
    "web_ko": 4,
}
PLAN_EN = {
    "parallel_news_en": 20,
    "parallel_jhe_en": 6,
    "wcxb_article": 35,
    "wcxb_service": 15,
    "kullm_en": 6,
    "demo_en": 9,
}


def candidates(root: Path) -> list[tuple[str, str]]:
    rng = random.Random(SEED)
    units = quality_data.all_units(root)
    out: list[tuple[str, str]] = []

    def pick(pool, n, lang):
        out.extend((p, lang) for p in rng.sample(sorted(pool), min(n, len(pool))))

    pick([p for p in units if p.startswith("korquad:")], PLAN_KO["korquad"], "ko")
    pick([p for p in units if p.startswith("nsmc:")], PLAN_KO["nsmc"], "ko")
    pick([p for p in units if p.startswith("hate_")], PLAN_KO["hate"], "ko")
    pick([p for p in units if p.startswith("konlpy:kobill")], PLAN_KO["konlpy"], "ko")
    pick([f"news_title:{i}" for i in range(471)], PLAN_KO["news_title"], "ko")
    for split, n in (("dev", 1000), ("test", 2000)):
        pick([f"parallel:korean-english-park.{split}.ko:{i}" for i in range(n)], PLAN_KO["parallel_news_ko"] // 2, "ko")
        pick([f"parallel:korean-english-park.{split}.en:{i}" for i in range(n)], PLAN_EN["parallel_news_en"] // 2, "en")
    pick([f"parallel:jhe-koen-dev.ko:{i}" for i in range(720)], PLAN_KO["parallel_jhe_ko"], "ko")
    pick([f"parallel:jhe-koen-eval.en:{i}" for i in range(720)], PLAN_EN["parallel_jhe_en"], "en")
    pick([f"kornli:{i}" for i in range(0, 2490, 3)], PLAN_KO["kornli"], "ko")
    pick([f"korsts:dev:{i}" for i in range(1500)], PLAN_KO["korsts"], "ko")
    pick([f"klue_sts:{i}" for i in range(519)], PLAN_KO["klue_sts"], "ko")
    stems = sorted(p.stem for p in (root / "kmmlu/dev").glob("*.csv"))
    pick([f"kmmlu:{s}:{r}" for s in stems for r in range(5)], PLAN_KO["kmmlu"], "ko")
    pick([f"kullm:ko:{i}" for i in range(252)], PLAN_KO["kullm_ko"], "ko")
    pick([f"kullm:en:{i}" for i in range(252)], PLAN_EN["kullm_en"], "en")
    demo = sorted(str(p.relative_to(handlabels.DEMO)) for p in handlabels.DEMO.rglob("*.htm*") if p.is_file())
    pick(
        [f"demo:{d}" for d in demo if "/ko_" in f"/{Path(d).name}"] + ["demo:extracted/ko_volunteer_notice.txt"],
        PLAN_KO["demo_ko"],
        "ko",
    )
    pick(
        [f"demo:{d}" for d in demo if Path(d).name.startswith(("en_", "lorem", "spam", "nav", "too_short"))],
        PLAN_EN["demo_en"],
        "en",
    )
    pick([f"web_ko:{p.name}" for p in (root / "web/korean_pages").glob("*.html.gz")], PLAN_KO["web_ko"], "ko")
    pages = {"article": [], "service": []}
    for path in sorted((root / "web/wcxb_dev_subset/ground-truth").glob("*.json")):
        kind = json.loads(path.read_text())["_internal"]["page_type"]["primary"]
        if kind in pages:
            pages[kind].append(f"wcxb_page:{path.stem}")
    pick(pages["article"], PLAN_EN["wcxb_article"], "en")
    pick(pages["service"], PLAN_EN["wcxb_service"], "en")
    return out


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else handlabels.ROOT.parent / "shared" / "testdata"
    for pointer, lang in candidates(root):
        text = handlabels.resolve(pointer, root)
        print(f"=== {pointer} [{lang}] {len(text)} chars\n{text[:500]}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
