"""A synthetic corpus of policy documents for the scale benchmark.

Each synthetic policy recombines sections of real ones — the seed notices in
`documents/` and the PolicyQA dev policies in `../shared/benchmarks/` — under its own
doc id and metadata (a fictional brand, a region, a date, a language), written with
Markdown headings like a real notice. The same seed and count always give the same
corpus.

    .venv/bin/python bench/synth.py --count 1000 --out /tmp/synth-1k
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.text import is_cjk  # noqa: E402
from app.text.normalize import BlockKind, normalize  # noqa: E402

POLICYQA = ROOT.parent / "shared" / "benchmarks" / "policyqa-dev" / "documents"
BRANDS = [
    f"{a} {b}"
    for a in ("Maison", "Atelier", "House of", "Galerie", "Studio")
    for b in ("Aurel", "Bellac", "Corvin", "Delaume", "Estrel", "Fauvel", "Giraud", "Hollis", "Ivarne", "Jourdan")
]
REGIONS = ["Global", "United States", "European Union", "United Kingdom", "Japan", "Singapore", "Canada", "Australia"]
ZH_REGIONS = ["China (mainland)", "Hong Kong SAR"]


@dataclass(frozen=True)
class Section:
    heading: str
    paragraphs: tuple[str, ...]
    lang: str


def sections_of(path: Path) -> list[Section]:
    """A document's sections: each heading with the lines under it (a document without
    headings gives one section per paragraph, headed by its first words)."""
    norm = normalize(path.read_text(encoding="utf-8"))
    out: list[Section] = []
    heading, body = "", list[str]()

    def flush() -> None:
        if body:
            text = heading or " ".join(body[0].split()[:6])
            out.append(Section(text, tuple(body), "zh" if is_cjk(" ".join(body)) else "en"))

    for block in norm.blocks:
        text = block.text(norm.text)
        if block.kind is BlockKind.HEADING:
            flush()
            heading, body = text, []
        else:
            body.append(text)
            if not heading and len(body) >= 3:  # plain-text policies: a few paragraphs a section
                flush()
                body = []
    flush()
    return [s for s in out if sum(len(p) for p in s.paragraphs) >= 40]


def pool(sources: list[Path]) -> dict[str, list[Section]]:
    """Every source section, by language."""
    by_lang: dict[str, list[Section]] = {"en": [], "zh": []}
    for path in sources:
        for section in sections_of(path):
            by_lang[section.lang].append(section)
    return by_lang


def source_files(documents: Path, policyqa: Path) -> list[Path]:
    files = sorted(documents.glob("*.txt")) + sorted(documents.glob("*.md"))
    if policyqa.is_dir():
        files += sorted(policyqa.glob("*.txt"))
    return files


def generate(count: int, out: Path, documents: Path, policyqa: Path, seed: int = 7, with_seeds: bool = True) -> int:
    """Write ``count`` synthetic policies and their catalogue to ``out`` (beside copies of
    the seed documents, so the eval questions still have their answers); return the number
    of source sections they were drawn from."""
    rng = random.Random(seed)
    sections = pool(source_files(documents, policyqa))
    out.mkdir(parents=True, exist_ok=True)
    catalogue = ["# Synthetic policies for bench/scale.py: real sections recombined, fictional metadata.\n"]
    if with_seeds:
        for path in source_files(documents, Path("/nonexistent")):
            shutil.copyfile(path, out / path.name)
        catalogue.append((documents / "catalogue.toml").read_text(encoding="utf-8"))
    for i in range(count):
        lang = "zh" if rng.random() < 0.05 and sections["zh"] else "en"
        brand = rng.choice(BRANDS)
        region = rng.choice(ZH_REGIONS if lang == "zh" else REGIONS)
        year = rng.randint(2008, 2025)
        doc_id = f"synth-{i:05d}-{brand.lower().replace(' ', '-')}-{year}"
        chosen = rng.sample(sections[lang], k=min(len(sections[lang]), rng.randint(12, 24)))
        title = f"{brand} Privacy Notice ({region}, {year})"
        lines = [f"# {title}", ""]
        for section in chosen:
            lines += [f"## {section.heading}", "", *(p + "\n" for p in section.paragraphs)]
        (out / f"{doc_id}.md").write_text("\n".join(lines), encoding="utf-8")
        languages = '["zh", "en"]' if lang == "zh" else '["en"]'
        catalogue.append(
            f'[{doc_id}]\ntitle = "{title}"\nbrand = "{brand}"\nregion = "{region}"\n'
            f'languages = {languages}\neffective_date = "{year}-{rng.randint(1, 12):02d}"\n'
        )
    (out / "catalogue.toml").write_text("\n".join(catalogue), encoding="utf-8")
    return sum(len(v) for v in sections.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000, help="synthetic policies to write")
    parser.add_argument("--out", type=Path, required=True, help="folder to write them to")
    parser.add_argument("--documents", type=Path, default=ROOT / "documents")
    parser.add_argument("--policyqa", type=Path, default=POLICYQA)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-seeds", action="store_true", help="leave out the copies of the seed documents")
    args = parser.parse_args()
    n = generate(args.count, args.out, args.documents, args.policyqa, args.seed, not args.no_seeds)
    print(f"{args.count} policies from {n} source sections → {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
