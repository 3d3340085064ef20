"""Pure metric functions, the scorer's aggregate and the eval-set loader, against hand-computed tables."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from app.answer import Answer, Citation, Retrieved
from app.errors import InputError
from app.evaluation import metrics as m
from app.evaluation.dataset import EvalItem, load_eval_set
from app.evaluation.metrics import Source, Unit
from app.evaluation.scoring import aggregate, score_item

# -- norm ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＡＢＣ", "abc"),  # full-width → ASCII (NFKC), then lower case
        ("“Hello”", '"hello"'),
        ("‘it’s’", "'it's'"),
        ("„low‚", "\"low'"),
        ("＂x＂", '"x"'),
        ("  a \t b\n\nc  ", "a b c"),
        ("\u00a0non\u00a0breaking\u3000space ", "non breaking space"),
        ("Ten YEARS", "ten years"),
        ("ﬁle", "file"),  # ligature (NFKC)
        ("个人信息", "个人信息"),
        ("", ""),
    ],
)
def test_norm(raw: str, expected: str) -> None:
    assert m.norm(raw) == expected


# -- contains / cites ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "source", "expected"),
    [
        (Unit("a", "We keep data for Ten  Years."), Source("a", "ten years"), True),
        (Unit("a", "We keep data for ten years."), Source("b", "ten years"), False),  # doc must match
        (Unit("a", "ten"), Source("a", "ten years"), False),  # unit shorter than quote: no
        (Unit("a", "the “client” file"), Source("a", 'the "client" file'), True),
        (Unit("a", "ＡＢＣ corp"), Source("a", "abc"), True),
    ],
)
def test_contains(unit: Unit, source: Source, expected: bool) -> None:
    assert m.contains(unit, source) is expected


@pytest.mark.parametrize(
    ("citation", "source", "expected"),
    [
        (Unit("a", "We keep it for ten years."), Source("a", "ten years"), True),  # quote holds gold
        (Unit("a", "ten years"), Source("a", "We keep it for ten years."), True),  # gold holds quote
        (Unit("a", "TEN\nyears"), Source("a", "ten years"), True),
        (Unit("b", "ten years"), Source("a", "ten years"), False),  # doc id must match
        (Unit("a", "eleven years"), Source("a", "ten years"), False),
        (Unit("a", "   "), Source("a", "ten years"), False),  # empty quote cites nothing
    ],
)
def test_cites(citation: Unit, source: Source, expected: bool) -> None:
    assert m.cites(citation, source) is expected


# -- ranks ----------------------------------------------------------------------------------------

S1 = Source("d", "alpha")
S2 = Source("d", "beta")
UNITS = [Unit("d", "nothing"), Unit("d", "alpha here"), Unit("x", "beta"), Unit("d", "beta too"), Unit("d", "x")]


@pytest.mark.parametrize(
    ("units", "sources", "needs_all", "expected"),
    [
        (UNITS, [S1], False, 2),
        (UNITS, [S2], False, 4),  # rank 3 is the wrong document
        (UNITS, [S1, S2], False, 2),
        (UNITS, [S1, S2], True, 4),
        (UNITS, [S1, Source("d", "gamma")], True, None),
        (UNITS, [Source("d", "gamma")], False, None),
        (UNITS, [], False, None),
        (UNITS, [], True, None),
        ([], [S1], False, None),
        ([Unit("d", "alpha beta")], [S1, S2], True, 1),
    ],
)
def test_first_relevant_rank(units: list[Unit], sources: list[Source], needs_all: bool, expected: int | None) -> None:
    assert m.first_relevant_rank(units, sources, needs_all) == expected


@pytest.mark.parametrize(
    ("rank", "k", "expected"),
    [(1, 1, 1.0), (2, 1, 0.0), (3, 3, 1.0), (3, 5, 1.0), (6, 5, 0.0), (10, 10, 1.0), (None, 10, 0.0)],
)
def test_hit_at(rank: int | None, k: int, expected: float) -> None:
    assert m.hit_at(rank, k) == expected


@pytest.mark.parametrize(
    ("rank", "k", "expected"),
    [(1, 10, 1.0), (3, 10, 1 / 3), (10, 10, 0.1), (11, 10, 0.0), (None, 10, 0.0), (4, 3, 0.0)],
)
def test_reciprocal_rank(rank: int | None, k: int, expected: float) -> None:
    assert m.reciprocal_rank(rank, k) == pytest.approx(expected)


def test_reciprocal_rank_default_k_is_10() -> None:
    assert m.reciprocal_rank(10) == pytest.approx(0.1)
    assert m.reciprocal_rank(11) == 0.0


# -- nDCG -----------------------------------------------------------------------------------------


def _u(*texts: str, doc: str = "d") -> list[Unit]:
    return [Unit(doc, t) for t in texts]


@pytest.mark.parametrize(
    ("units", "sources", "k", "expected"),
    [
        # two sources, matched at ranks 1 and 3: DCG 1 + 1/log2(4) = 1.5, IDCG 1 + 1/log2(3)
        (_u("alpha", "zzz", "beta"), [S1, S2], 10, 1.5 / (1 + 1 / math.log2(3))),
        # single source at rank 1
        (_u("alpha", "zzz"), [S1], 10, 1.0),
        # single source at rank 2: 1/log2(3)
        (_u("zzz", "alpha"), [S1], 10, 1 / math.log2(3)),
        # duplicate matches of the same source count once
        (_u("alpha", "alpha again", "alpha more"), [S1], 10, 1.0),
        (_u("alpha", "alpha", "beta"), [S1, S2], 10, 1.5 / (1 + 1 / math.log2(3))),
        # one unit covering both sources gains once: 1 / IDCG
        (_u("alpha beta"), [S1, S2], 10, 1 / (1 + 1 / math.log2(3))),
        # beyond k does not count
        (_u("zzz", "zzz", "alpha"), [S1], 2, 0.0),
        # nothing matches
        (_u("zzz"), [S1], 10, 0.0),
        # no sources
        (_u("alpha"), [], 10, 0.0),
        # IDCG is capped at k ideal positions: 3 sources, k=1, match at rank 1 → 1/1
        (_u("alpha"), [S1, S2, Source("d", "gamma")], 1, 1.0),
    ],
)
def test_ndcg_at(units: list[Unit], sources: list[Source], k: int, expected: float) -> None:
    assert m.ndcg_at(units, sources, k) == pytest.approx(expected)


def test_ndcg_hand_value() -> None:
    value = m.ndcg_at(_u("alpha", "zzz", "beta"), [S1, S2], 10)
    assert value == pytest.approx(0.9197, abs=1e-4)


# -- citations ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("citations", "sources", "expected"),
    [
        (_u("alpha", "zzz", "the beta line"), [S1, S2], [True, False, True]),
        ([Unit("x", "alpha")], [S1], [False]),
        ([], [S1], []),
        (_u("alpha"), [], [False]),
    ],
)
def test_citation_verdicts(citations: list[Unit], sources: list[Source], expected: list[bool]) -> None:
    assert m.citation_verdicts(citations, sources) == expected


@pytest.mark.parametrize(
    ("citations", "sources", "needs_all", "expected"),
    [
        (_u("alpha"), [S1, S2], False, 1.0),
        (_u("alpha"), [S1, S2], True, 0.0),
        (_u("alpha", "beta"), [S1, S2], True, 1.0),
        (_u("zzz"), [S1], False, 0.0),
        ([], [S1], False, 0.0),
        (_u("alpha"), [], False, 0.0),
        (_u("alpha"), [], True, 0.0),
        ([Unit("x", "alpha")], [S1], False, 0.0),
    ],
)
def test_citation_hit(citations: list[Unit], sources: list[Source], needs_all: bool, expected: float) -> None:
    assert m.citation_hit(citations, sources, needs_all) == expected


# -- facts ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "facts", "expected"),
    [
        ("We keep it for ten years.", [], None),
        ("We keep it for TEN\n years.", ["ten years"], 1.0),
        ("Visa and MasterCard", ["Visa", "MasterCard", "American Express"], 2 / 3),
        ("“quoted” words", ['"quoted"'], 1.0),
        ("ＡＢＣ", ["abc"], 1.0),
        ("nothing", ["ten years"], 0.0),
    ],
)
def test_fact_recall(answer: str, facts: list[str], expected: float | None) -> None:
    result = m.fact_recall(answer, facts)
    if expected is None:
        assert result is None
    else:
        assert result == pytest.approx(expected)


# -- sentence P/R/F1 --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("citations", "sources", "answerable", "expected"),
    [
        ([], [], False, (1.0, 1.0, 1.0)),
        (_u("alpha"), [], False, (0.0, 0.0, 0.0)),
        (_u("alpha", "zzz"), [S1, S2], True, (0.5, 0.5, 0.5)),
        (_u("alpha", "beta"), [S1, S2], True, (1.0, 1.0, 1.0)),
        (_u("alpha"), [S1, S2], True, (1.0, 0.5, 2 / 3)),
        (_u("alpha", "zzz", "yyy", "xxx"), [S1], True, (0.25, 1.0, 0.4)),
        (_u("zzz"), [S1], True, (0.0, 0.0, 0.0)),
        ([], [S1], True, (0.0, 0.0, 0.0)),
    ],
)
def test_sentence_prf(
    citations: list[Unit], sources: list[Source], answerable: bool, expected: tuple[float, float, float]
) -> None:
    assert m.sentence_prf(citations, sources, answerable) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("tp", "fp", "fn", "expected"),
    [
        (3, 1, 2, (0.75, 0.6, 2 * 0.75 * 0.6 / 1.35)),
        (0, 0, 0, (0.0, 0.0, 0.0)),
        (0, 3, 0, (0.0, 0.0, 0.0)),
        (2, 0, 0, (1.0, 1.0, 1.0)),
        (1, 1, 0, (0.5, 1.0, 2 / 3)),
    ],
)
def test_prf(tp: int, fp: int, fn: int, expected: tuple[float, float, float]) -> None:
    assert m.prf(tp, fp, fn) == pytest.approx(expected)


def test_prf_hand_value() -> None:
    assert m.prf(3, 1, 2) == pytest.approx((0.75, 0.6, 0.6667), abs=1e-4)


# -- percentile -----------------------------------------------------------------------------------


@pytest.mark.parametrize("values", [[5.0], [1.0, 2.0], [10.0, 20.0, 30.0, 40.0], [7.0, 1.0, 3.0, 9.5, 2.0, 2.0, 100.0]])
@pytest.mark.parametrize("q", [0, 5, 25, 50, 90, 95, 99, 100])
def test_percentile_matches_numpy(values: list[float], q: float) -> None:
    assert m.percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_hand_values() -> None:
    assert m.percentile([10, 20, 30, 40], 50) == pytest.approx(25.0)
    assert m.percentile([10, 20, 30, 40], 95) == pytest.approx(38.5)
    assert m.percentile([], 50) == 0.0


# -- cited_policy -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("citations", "sources", "abstained", "expected"),
    [
        ([Unit("a", "x")], [Source("a", "y")], False, 1.0),  # the right policy, even the wrong sentence
        ([Unit("b", "y")], [Source("a", "y")], False, 0.0),  # the wrong policy, even the same words
        ([Unit("b", "x"), Unit("a", "y")], [Source("a", "y")], False, 0.0),  # only the FIRST citation counts
        ([Unit("b", "x")], [Source("a", "y"), Source("b", "z")], False, 1.0),  # any gold policy will do
        ([], [Source("a", "y")], False, 0.0),  # answered without citing: a miss
        ([Unit("a", "x")], [Source("a", "y")], True, None),  # abstained: not counted
        ([Unit("a", "x")], [], False, None),  # no gold source: not counted
        ([Unit("a", "x")], [Source("", "y")], False, None),  # a source that names no document
    ],
)
def test_cited_policy(citations: list[Unit], sources: list[Source], abstained: bool, expected: float | None) -> None:
    assert m.cited_policy(citations, sources, abstained) == expected


def test_aggregate_cited_policy_share() -> None:
    """3 answerable items counted (answered, with a gold doc) of which 2 cite a gold policy first;
    the abstention and the unanswerable item are not counted."""
    a = Source("docA", "alpha")
    items = [_item(f"i{n}", True, (a,)) for n in range(4)] + [_item("u", False)]
    answers = [
        _answer("i0", "x", False, cited=(("docA", "alpha"),)),
        _answer("i1", "x", False, cited=(("docA", "other"),)),
        _answer("i2", "x", False, cited=(("docB", "alpha"), ("docA", "alpha"))),
        _answer("i3", ABSTAIN, True),
        _answer("u", "x", False, cited=(("docB", "z"),)),
    ]
    agg = aggregate([score_item(i, ans) for i, ans in zip(items, answers, strict=True)])
    assert agg["cited_policy"] == pytest.approx(2 / 3, abs=1e-4)
    assert "cited_policy" not in aggregate([score_item(items[3], answers[3])])  # nothing counted: no figure


# -- scoring aggregate ------------------------------------------------------------------------------


def _item(
    iid: str, answerable: bool, sources: tuple[Source, ...] = (), facts: tuple[str, ...] = (), needs_all: bool = False
) -> EvalItem:
    return EvalItem(
        id=iid,
        question=f"question {iid}",
        lang="en",
        persona="agent",
        answerable=answerable,
        filters={},
        sources=sources,
        needs_all=needs_all,
        answer_facts=facts,
        kind="k",
        split="t",
    )


def _answer(
    iid: str,
    text: str,
    abstained: bool,
    cited: tuple[tuple[str, str], ...] = (),
    retrieved: tuple[tuple[str, str], ...] = (),
    latency: float = 1.0,
) -> Answer:
    return Answer(
        id=iid,
        question=f"question {iid}",
        answer=text,
        abstained=abstained,
        citations=tuple(
            Citation(n=i, doc_id=d, clause_id=f"c{i}", section="s", quote=q, start=0, end=len(q), score=0.5)
            for i, (d, q) in enumerate(cited, 1)
        ),
        retrieved=tuple(
            Retrieved(doc_id=d, clause_id=f"r{i}", section="s", text=t, score=0.5) for i, (d, t) in enumerate(retrieved)
        ),
        latency_ms=latency,
    )


ABSTAIN = "The privacy notices don't cover this."


def _table() -> list:
    """4 items: A1 answered (rank 3, 3 citations of which 2 correct), A2 wrongly abstained,
    U1 and U2 rightly abstained."""
    a1 = _item("a1", True, (Source("docA", "alpha beta"),), facts=("Alpha",))
    a2 = _item("a2", True, (Source("docB", "gamma"),), facts=("gamma",))
    u1 = _item("u1", False)
    u2 = _item("u2", False)
    return [
        score_item(
            a1,
            _answer(
                "a1",
                "According to the policy: alpha beta [1] alpha beta delta [2] zzz [3]",
                False,
                cited=(("docA", "alpha beta"), ("docA", "the alpha beta delta"), ("docA", "zzz")),
                retrieved=(("docA", "zzz"), ("docB", "alpha beta"), ("docA", "x alpha beta y"), ("docA", "q")),
                latency=10.0,
            ),
        ),
        score_item(a2, _answer("a2", ABSTAIN, True, retrieved=(("docB", "delta"), ("docA", "gamma")), latency=20.0)),
        score_item(u1, _answer("u1", ABSTAIN, True, retrieved=(("docA", "alpha"),), latency=30.0)),
        score_item(u2, _answer("u2", ABSTAIN, True, latency=40.0)),
    ]


def test_score_item_fields() -> None:
    a1, a2, u1, u2 = _table()
    assert a1.rank == 3
    assert a1.ndcg == pytest.approx(0.5)  # 1/log2(4)
    assert (a1.citation_hit, a1.citation_correct, a1.citations) == (1.0, 2, 3)
    assert a1.fact_recall == 1.0
    assert a1.ok
    assert a2.rank is None  # gamma on the wrong document does not count
    assert a2.fact_recall == 0.0
    assert not a2.ok
    assert u1.fact_recall is None and u1.ok
    assert u1.sentence_f1 == 1.0
    assert u2.ok


EXPECTED = {
    "items": 4.0,
    "answerable": 2.0,
    "hit@1": 0.0,
    "hit@3": 0.5,
    "hit@5": 0.5,
    "hit@10": 0.5,
    "mrr@10": (1 / 3) / 2,
    "ndcg@10": 0.5 / 2,
    "citation_hit": 0.5,
    "citation_precision": 2 / 3,
    "cited_policy": 1.0,  # a1 answered and cites docA first; a2 abstained (not counted)
    "answer_fact_recall": 0.5,
    "abstain_precision": 2 / 3,  # tp=2 (u1, u2), fp=1 (a2), fn=0
    "abstain_recall": 1.0,
    "abstain_f1": 0.8,
    "false_abstention_rate": 0.5,
    "correct": 0.75,
    "latency_p50_ms": 25.0,
    "latency_p95_ms": 38.5,
}


@pytest.mark.parametrize("key", list(EXPECTED))
def test_aggregate_table(key: str) -> None:
    agg = aggregate(_table())
    assert agg[key] == pytest.approx(EXPECTED[key], abs=1e-4)


def test_aggregate_missed_abstention() -> None:
    """An unanswerable item answered with a citation: a false negative for abstention;
    its citation does not count in citation_precision (answerable items only)."""
    u = _item("u", False)
    a = _item("a", True, (Source("docA", "alpha"),))
    results = [
        score_item(u, _answer("u", "alpha [1]", False, cited=(("docA", "alpha"),))),
        score_item(a, _answer("a", "alpha [1] zzz [2]", False, cited=(("docA", "alpha"), ("docA", "zzz")))),
    ]
    agg = aggregate(results)
    assert agg["abstain_precision"] == 0.0
    assert agg["abstain_recall"] == 0.0
    assert agg["abstain_f1"] == 0.0
    assert agg["false_abstention_rate"] == 0.0
    assert agg["citation_precision"] == pytest.approx(0.5)
    assert not results[0].ok
    assert results[0].sentence_f1 == 0.0


def test_aggregate_empty() -> None:
    agg = aggregate([])
    assert agg["items"] == 0.0
    assert agg["hit@5"] == 0.0
    assert agg["latency_p50_ms"] == 0.0
    assert "answer_fact_recall" not in agg  # no facts to recall: no figure, not a zero


# -- load_eval_set errors -------------------------------------------------------------------------

GOOD = '{"id": "g1", "question": "Q?", "sources": [{"doc_id": "d", "quote": "q"}]}'


@pytest.mark.parametrize(
    ("bad_line", "needle"),
    [
        ('{"id": "g3", "question": ', "invalid JSON"),
        ('{"id": "g3"}', "question"),
        ('{"id": "g3", "question": 7}', "question"),
        ('{"question": "Q?"}', "id"),
        ('{"id": "g1", "question": "again"}', "duplicate"),
        ('{"id": "g3", "question": "Q?", "sources": {"doc_id": "d", "quote": "q"}}', "sources"),
        ('{"id": "g3", "question": "Q?", "sources": ["d"]}', "sources"),
        ('{"id": "g3", "question": "Q?", "sources": [{"doc_id": "d"}]}', "sources"),
        ('{"id": "g3", "question": "Q?", "answer_facts": "ten years"}', "answer_facts"),
        ('{"id": "g3", "question": "Q?", "filters": ["x"]}', "filters"),
        ('["not", "an", "object"]', "object"),
    ],
)
def test_load_eval_set_errors_name_file_and_line(tmp_path: Path, bad_line: str, needle: str) -> None:
    path = tmp_path / "file.jsonl"
    path.write_text("\n".join([GOOD, '{"id": "g2", "question": "Q2?"}', bad_line, GOOD.replace("g1", "g4")]) + "\n")
    with pytest.raises(InputError) as info:
        load_eval_set(path)
    message = str(info.value)
    assert "file.jsonl:3" in message
    assert needle in message
    assert "\n" not in message


def test_load_eval_set_line_numbers_count_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "file.jsonl"
    path.write_text(GOOD + "\n\n" + "{oops\n")
    with pytest.raises(InputError, match=r"file\.jsonl:3"):
        load_eval_set(path)


def test_load_eval_set_missing_and_empty(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot be read"):
        load_eval_set(tmp_path / "absent.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    with pytest.raises(InputError, match="empty"):
        load_eval_set(empty)


def test_load_eval_set_good(tmp_path: Path) -> None:
    path = tmp_path / "dev.jsonl"
    path.write_text(
        GOOD
        + "\n"
        + '{"id": "u1", "question": "PayPal?", "answerable": false, "lang": "zh", "persona": "customer",'
        + ' "needs_all": true, "answer_facts": ["x"], "kind": "payment", "filters": {"doc_id": "d"}}\n'
    )
    g, u = load_eval_set(path)
    assert g.answerable and g.sources == (Source("d", "q"),) and g.split == "dev" and g.lang == "en"
    assert g.doc == "d"
    assert not u.answerable and u.sources == () and u.doc == "(unanswerable)"
    assert (u.lang, u.persona, u.needs_all, u.answer_facts, u.kind, u.filters) == (
        "zh",
        "customer",
        True,
        ("x",),
        "payment",
        {"doc_id": "d"},
    )


@pytest.mark.parametrize("field", ["answerable", "needs_all"])
def test_load_eval_set_rejects_non_boolean_flags(tmp_path: Path, field: str) -> None:
    path = tmp_path / "file.jsonl"
    path.write_text(GOOD + "\n" + '{"id": "g2", "question": "Q?", "' + field + '": "false"}\n')
    with pytest.raises(InputError, match=rf"file\.jsonl:2.*{field}"):
        load_eval_set(path)
