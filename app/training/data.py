"""Training data for the sentence ranker: (question, answering sentence, hard negatives).

From PolicyQA (SQuAD-style: a question and an answer span in a policy paragraph), split
**by policy** so that the policies used to measure the model share no wording with the
ones it learned from. The answering sentence is the one (or the run of sentences) of the
paragraph that holds the answer span, cut with the splitter the index uses; negatives are
the paragraph's other sentences (the choice the assistant gets wrong most) and, when a
model is given to mine them, the policy's sentences closest to the question that do not
hold the answer.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.errors import InputError
from app.evaluation import metrics as m
from app.evaluation.dataset import EvalItem
from app.splitter import split_sentences
from app.text import norm

# Policies kept out of training, chosen by a hash of their names (not by looking at them):
# the lowest `HELD_OUT` digests. The benchmark questions of these policies measure the model.
HELD_OUT = 6


@dataclass(frozen=True)
class Pair:
    """One training example: a question, the sentence that answers it, sentences that don't."""

    policy: str
    question: str
    positive: str
    negatives: tuple[str, ...]


@dataclass(frozen=True)
class Paragraph:
    policy: str
    sentences: tuple[str, ...]
    qas: tuple[tuple[str, int, int], ...]  # question, answer start, answer end (characters)
    text: str
    offsets: tuple[tuple[int, int], ...]


def policy_key(title: str) -> str:
    """The benchmark's doc id of a PolicyQA policy title ("ted.com" → "policyqa-ted-com")."""
    return "policyqa-" + title.lower().replace(".", "-")


def split_policies(titles: Sequence[str], held_out: int = HELD_OUT) -> tuple[list[str], list[str]]:
    """(training, held-out) policy titles, the held-out ones chosen by digest: ``held_out`` of
    them, at most a third (a small data set keeps most of its policies for training)."""
    held_out = min(held_out, len(titles) // 3)
    ranked = sorted(titles, key=lambda t: hashlib.sha256(t.encode()).hexdigest())
    out = sorted(ranked[:held_out])
    return sorted(t for t in titles if t not in out), out


def read_policyqa(path: Path) -> list[Paragraph]:
    """Paragraphs with their sentences and question spans; a malformed file is an InputError."""
    try:
        return _paragraphs(json.loads(path.read_text(encoding="utf-8"))["data"])
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise InputError(f"{path}: not a PolicyQA/SQuAD JSON file ({type(exc).__name__}: {exc})") from None


def _paragraphs(data: list[dict[str, Any]]) -> list[Paragraph]:
    out = []
    for policy in data:
        for para in policy["paragraphs"]:
            text = para["context"]
            spans = [(s.start, s.end) for s in split_sentences(text)]
            qas = tuple(
                (qa["question"], a["answer_start"], a["answer_start"] + len(a["text"]))
                for qa in para["qas"]
                for a in qa["answers"][:1]
                if text[a["answer_start"] : a["answer_start"] + len(a["text"])] == a["text"]
            )
            out.append(Paragraph(policy["title"], tuple(text[a:b] for a, b in spans), qas, text, tuple(spans)))
    return out


def answer_sentences(para: Paragraph, start: int, end: int) -> tuple[int, int]:
    """Index range [i, j) of the paragraph's sentences the span [start, end) overlaps."""
    hit = [k for k, (a, b) in enumerate(para.offsets) if a < end and start < b]
    if not hit:
        return 0, 0
    return hit[0], hit[-1] + 1


def make_pairs(
    paragraphs: Sequence[Paragraph],
    policies: Sequence[str],
    seed: int = 0,
    encode: Callable[[list[str]], np.ndarray] | None = None,
    mined: int = 1,
    max_sentences: int = 3,
) -> list[Pair]:
    """Training pairs from the given policies' paragraphs, deterministic for a seed.

    Each pair gets one negative from the answer's own paragraph (random among its other
    sentences) and, with ``encode``, ``mined`` negatives: the policy's sentences most similar
    to the question that do not overlap the answer. A question whose span covers more than
    ``max_sentences`` sentences teaches little about choosing one, and is left out.
    """
    rng = random.Random(seed)
    wanted = set(policies)
    chosen = [p for p in paragraphs if p.policy in wanted]
    pool: dict[str, list[str]] = {}
    for p in chosen:
        pool.setdefault(p.policy, []).extend(s for s in p.sentences if len(s.split()) >= 4)
    raw: list[tuple[str, str, str, list[str]]] = []  # policy, question, positive, same-paragraph negatives
    for p in chosen:
        for question, start, end in p.qas:
            i, j = answer_sentences(p, start, end)
            if j == 0 or j - i > max_sentences:
                continue
            positive = p.text[p.offsets[i][0] : p.offsets[j - 1][1]]
            others = [s for k, s in enumerate(p.sentences) if not i <= k < j and len(s.split()) >= 4]
            raw.append((p.policy, question, positive, others))
    mined_for = _mine(raw, pool, encode, mined) if encode is not None and mined else [[] for _ in raw]
    pairs = []
    for (policy, question, positive, others), hard in zip(raw, mined_for, strict=True):
        negatives = [rng.choice(others)] if others else []
        negatives += [h for h in hard if h not in negatives]
        fill = [s for s in pool[policy] if s != positive and norm(s) not in norm(positive)]
        while len(negatives) < 1 + mined and fill:  # every row needs the same number of columns
            negatives.append(rng.choice(fill))
        if len(negatives) == 1 + mined:
            pairs.append(Pair(policy, question, positive, tuple(negatives)))
    rng.shuffle(pairs)
    return pairs


def _mine(
    raw: Sequence[tuple[str, str, str, list[str]]],
    pool: dict[str, list[str]],
    encode: Callable[[list[str]], np.ndarray],
    k: int,
) -> list[list[str]]:
    """For each question, the ``k`` sentences of its policy closest to it, skipping any that
    overlaps the answer (so a near-duplicate of the answer is never taught as wrong)."""
    sentences = sorted({s for v in pool.values() for s in v})
    where = {s: i for i, s in enumerate(sentences)}
    sent_vecs = encode(sentences)
    questions = encode([q for _, q, _, _ in raw])
    out = []
    for (policy, _, positive, _), qv in zip(raw, questions, strict=True):
        cands = pool[policy]
        scores = sent_vecs[[where[s] for s in cands]] @ qv
        picked: list[str] = []
        gold = norm(positive)
        for idx in np.argsort(-scores):
            s = cands[int(idx)]
            if norm(s) in gold or gold in norm(s) or _overlap(norm(s), gold) > 0.5 or s in picked:
                continue
            picked.append(s)
            if len(picked) == k:
                break
        out.append(picked)
    return out


def _overlap(a: str, b: str) -> float:
    """Share of a's words that are also b's."""
    wa, wb = a.split(), set(b.split())
    return sum(1 for w in wa if w in wb) / len(wa) if wa else 0.0


def sentence_hit_at_1(
    paragraphs: Sequence[Paragraph], policies: Sequence[str], encode: Callable[[list[str]], np.ndarray], limit: int = 0
) -> dict[str, float]:
    """Sentence ranking on whole policies: for each question of the given policies (the
    first ``limit`` in file order, 0: all), every sentence of its policy ranked by the
    encoder; a hit when the top sentence overlaps the answer span. Also MRR@10."""
    wanted = set(policies)
    by_policy: dict[str, list[tuple[str, int]]] = {}  # policy -> [(sentence, paragraph index)]
    questions: list[tuple[str, str, set[int]]] = []  # policy, question, answering rows
    for pi, p in enumerate(paragraphs):
        if p.policy not in wanted:
            continue
        rows = by_policy.setdefault(p.policy, [])
        base = len(rows)
        rows.extend((s, pi) for s in p.sentences)
        for question, start, end in p.qas:
            i, j = answer_sentences(p, start, end)
            if j:
                questions.append((p.policy, question, set(range(base + i, base + j))))
    if limit:
        questions = questions[:limit]
    hits = rr = 0.0
    vecs = {policy: encode([s for s, _ in rows]) for policy, rows in by_policy.items()}
    qvecs = encode([q for _, q, _ in questions]) if questions else np.zeros((0, 1))
    for (policy, _, gold), qv in zip(questions, qvecs, strict=True):
        order = np.argsort(-(vecs[policy] @ qv), kind="stable")[:10].tolist()
        hits += float(order[0] in gold)
        rr += next((1.0 / (k + 1) for k, row in enumerate(order) if row in gold), 0.0)
    n = max(len(questions), 1)
    return {"questions": float(len(questions)), "hit@1": round(hits / n, 4), "mrr@10": round(rr / n, 4)}


def eval_set_pairs(
    items: Sequence[EvalItem],
    documents: Path,
    seed: int = 0,
    encode: Callable[[list[str]], np.ndarray] | None = None,
    mined: int = 1,
) -> list[Pair]:
    """Training pairs from a labelled eval set over ``documents`` (its answerable items): the
    positive is the gold sentence (or run of sentences) as the index splits it; negatives are
    another sentence of its clause (else of its document) and, with ``encode``, the document's
    sentences closest to the question that are not gold. Same shape as ``make_pairs``."""
    from app.documents import load_documents
    from app.splitter import split_document

    clauses = {doc.doc_id: split_document(doc.doc_id, norm) for doc, norm in load_documents(documents)}
    raw: list[tuple[str, str, str, list[str]]] = []
    pool: dict[str, list[str]] = {}
    for doc_id, doc_clauses in clauses.items():
        pool[doc_id] = [t for c in doc_clauses for t in c.sentence_texts() if len(t.split()) >= 4]
    for item in items:
        if not item.answerable:
            continue
        for source in item.sources[:1]:
            for clause in clauses.get(source.doc_id, []):
                texts = clause.sentence_texts()
                gold = [k for k, t in enumerate(texts) if m.cites(m.Unit(source.doc_id, t), source)]
                if not gold:
                    continue
                positive = clause.slice(clause.sentences[gold[0]].start, clause.sentences[gold[-1]].end)
                others = [t for k, t in enumerate(texts) if not gold[0] <= k <= gold[-1] and len(t.split()) >= 4]
                raw.append((source.doc_id, item.question, positive, others))
                break
    rng = random.Random(seed)
    mined_for = _mine(raw, pool, encode, mined) if encode is not None and mined else [[] for _ in raw]
    pairs = []
    for (doc_id, question, positive, others), hard in zip(raw, mined_for, strict=True):
        fill = [s for s in pool[doc_id] if norm(s) not in norm(positive) and norm(positive) not in norm(s)]
        negatives = [rng.choice(others)] if others else ([rng.choice(fill)] if fill else [])
        negatives += [h for h in hard if h not in negatives]
        while len(negatives) < 1 + mined and fill:
            negatives.append(rng.choice(fill))
        if len(negatives) == 1 + mined:
            pairs.append(Pair(doc_id, question, positive, tuple(negatives[: 1 + mined])))
    return pairs


def cpu_arguments(cls: Any, config: Any, work: Path, **extra: Any) -> Any:
    """Training arguments (``cls``: transformers' or sentence-transformers' class) as both
    trainers here use them: on the CPU, seeded, no checkpoints, no reporting. ``config``
    has the epochs, batch size, learning rate, warm-up share and seed."""
    return cls(
        output_dir=str(work),
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        warmup_steps=config.warmup_ratio,  # a float below 1 is a share of the steps (Transformers 5)
        seed=config.seed,
        data_seed=config.seed,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        dataloader_num_workers=0,
        **extra,
    )
