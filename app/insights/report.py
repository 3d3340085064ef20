"""The insights report, as frozen records computed from the feedback store for a period and a
policy: the questions that need a look grouped by topic, the clauses most cited and worst
rated, and the volume and referral rate by day.

Only the questions that need a look are embedded, each distinct text once (ignoring case,
digits and spacing), in batches. Over `cap` distinct texts the report groups a stratified
sample and says so: the `cap // 2` most asked are always in (they carry most of the volume),
the rest is a uniform sample of the others (a stable hash of the text picks it, so the same
data gives the same report), each sampled question standing for its share of the unsampled
ones; the groups' counts are then estimates and `Report.sampled` is true."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from app.feedback import inert
from app.insights import queries
from app.insights.queries import Asked, Scope
from app.insights.topics import DISTANCE, Embed, embed_in_batches, group
from app.redact import redact_text
from app.sqldb import Database

log = logging.getLogger(__name__)

CAP = 2000  # distinct questions grouped at most (embedding and clustering stay in seconds)
EXAMPLES = 3
MIN_RATINGS = 2  # a clause needs this many ratings before its thumbs ratio is ranked


@dataclass(frozen=True)
class TopicGroup:
    """Questions on one topic: named by its most central question."""

    name: str
    count: int  # exchanges (an estimate when the report is sampled)
    share: float  # of all exchanges that need a look
    referred: int
    disliked: int
    low_confidence: int
    questions: int  # distinct texts
    weekly: tuple[tuple[str, int], ...]  # (Monday of the week, exchanges), every week of the period
    examples: tuple[str, ...]  # other redacted questions of the group, most asked first


@dataclass(frozen=True)
class ClauseStat:
    clause_id: str
    doc_id: str
    cited: int
    up: int
    down: int

    @property
    def down_ratio(self) -> float:
        """Share of thumbs down among its ratings (0 when never rated)."""
        return self.down / (self.up + self.down) if self.up + self.down else 0.0


@dataclass(frozen=True)
class DayVolume:
    day: str
    exchanges: int
    referred: int

    @property
    def referral_rate(self) -> float:
        return self.referred / self.exchanges if self.exchanges else 0.0


@dataclass(frozen=True)
class Report:
    """Everything the Insights tab and `privacy-assistant insights` show."""

    since: str  # "" when open
    until: str
    doc_id: str
    generated_at: str
    exchanges: int
    referred: int
    low_confidence: int
    thumbs_up: int
    thumbs_down: int
    attention: int  # exchanges that need a look (referred, weak or disliked)
    groups: tuple[TopicGroup, ...]
    most_cited: tuple[ClauseStat, ...]
    worst_rated: tuple[ClauseStat, ...]
    volume: tuple[DayVolume, ...]
    distinct_questions: int
    grouped_questions: int
    sampled: bool
    seconds: float

    @property
    def referral_rate(self) -> float:
        return self.referred / self.exchanges if self.exchanges else 0.0


def build_report(
    db: Database, scope: Scope, embed: Embed, *, cap: int = CAP, top: int = 10, max_groups: int = 20,
    distance: float = DISTANCE,
) -> Report:
    """The report for `scope`; `embed`: the index's encoder (unit vectors, one row per text);
    `top`: clauses per table; `max_groups`: the largest groups kept."""
    started = time.perf_counter()
    volume = tuple(DayVolume(str(d), int(n), int(r or 0)) for d, n, r in queries.daily_volume(db, scope))
    asked = queries.attention(db, scope)
    groups, distinct, grouped = _groups(asked, scope, embed, cap, distance)
    up, down = queries.ratings(db, scope)
    most_cited, worst = _clauses(db, scope, top)
    seconds = time.perf_counter() - started
    log.info("insights report: %d exchanges, %d groups in %.2f s", sum(v.exchanges for v in volume), len(groups),
             seconds)  # fmt: skip
    return Report(
        since=scope.since.isoformat() if scope.since else "", until=scope.until.isoformat() if scope.until else "",
        doc_id=scope.doc_id, generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        exchanges=sum(v.exchanges for v in volume), referred=sum(v.referred for v in volume),
        low_confidence=sum(a.count for a in asked if a.reason == "low confidence"), thumbs_up=up, thumbs_down=down,
        attention=sum(a.count for a in asked), groups=tuple(groups[:max_groups]), most_cited=most_cited,
        worst_rated=worst, volume=volume, distinct_questions=distinct, grouped_questions=grouped,
        sampled=grouped < distinct, seconds=round(seconds, 3),
    )  # fmt: skip


def _groups(
    asked: Sequence[Asked], scope: Scope, embed: Embed, cap: int, distance: float
) -> tuple[list[TopicGroup], int, int]:
    """The groups, largest first; the number of distinct questions, and of those grouped."""
    tally = _Tally.of(asked)
    keys, weights = _sample(tally.counts, cap)
    if not keys:
        return [], len(tally.counts), 0
    shown = [tally.wording(k) for k in keys]
    vectors = embed_in_batches(embed, shown)
    topics = group(vectors, [tally.counts[k] for k in keys], distance)
    total, weeks = sum(tally.counts.values()), _weeks(scope, asked)
    out = []
    for topic in topics:
        members = [keys[i] for i in topic.members]
        rows = [(a, weights[k]) for k in members for a in tally.rows[k]]
        per = {reason: round(sum(a.count * w for a, w in rows if a.reason == reason)) for reason in queries.REASONS}
        weekly: dict[str, float] = defaultdict(float)
        for a, w in rows:
            weekly[week_of(a.day)] += a.count * w
        count = sum(per.values())
        examples = sorted(members[1:], key=lambda k: (-tally.counts[k], k))[:EXAMPLES]
        out.append(TopicGroup(
            name=_shown(tally.wording(members[0])), count=count, share=round(count / total, 4) if total else 0.0,
            referred=per["referred"], disliked=per["disliked"], low_confidence=per["low confidence"],
            questions=len(members), weekly=tuple((w, round(weekly[w])) for w in weeks),
            examples=tuple(_shown(tally.wording(k)) for k in examples),
        ))  # fmt: skip
    out.sort(key=lambda g: (-g.count, g.name))
    return out, len(tally.counts), len(keys)


@dataclass(frozen=True)
class _Tally:
    """The questions that need a look, by their key (the text without case, digits or extra
    spaces: "order 1234" and "Order 98" ask the same thing and are embedded once)."""

    counts: Counter[str]
    rows: dict[str, list[Asked]]
    texts: dict[str, Counter[str]]  # key -> its wordings as asked, and how often

    @classmethod
    def of(cls, asked: Sequence[Asked]) -> _Tally:
        tally = cls(Counter(), defaultdict(list), defaultdict(Counter))
        for a in asked:
            key = _KEY_SPACE.sub(" ", _KEY_DIGITS.sub("0", a.question.casefold())).strip(" ?!.。？！")
            tally.counts[key] += a.count
            tally.rows[key].append(a)
            tally.texts[key][a.question] += a.count
        return tally

    def wording(self, key: str) -> str:
        """The key's most asked wording (what is embedded and shown)."""
        return min(self.texts[key].items(), key=lambda kv: (-kv[1], kv[0]))[0]


_KEY_DIGITS, _KEY_SPACE = re.compile(r"\d+"), re.compile(r"\s+")


def _sample(counts: Counter[str], cap: int) -> tuple[list[str], dict[str, float]]:
    """The keys to group and the weight of each (1, or the unsampled share it stands for)."""
    ranked = sorted(counts, key=lambda t: (-counts[t], t))
    if len(ranked) <= cap:
        return ranked, dict.fromkeys(ranked, 1.0)
    head, rest = ranked[: cap // 2], ranked[cap // 2 :]
    tail = sorted(rest, key=lambda t: hashlib.blake2b(t.encode("utf-8"), digest_size=8).digest())[: cap - len(head)]
    weight = sum(counts[t] for t in rest) / sum(counts[t] for t in tail)
    log.info("insights: %d distinct questions, grouping %d (the %d most asked and a sample)", len(ranked), cap,
             len(head))  # fmt: skip
    return head + tail, {**dict.fromkeys(head, 1.0), **dict.fromkeys(tail, weight)}


def _clauses(db: Database, scope: Scope, top: int) -> tuple[tuple[ClauseStat, ...], tuple[ClauseStat, ...]]:
    rated = {str(c): (int(u or 0), int(d or 0)) for c, u, d in queries.rated_clauses(db, scope)}
    cited = queries.cited_clauses(db, scope, top)
    most = tuple(ClauseStat(str(c), _doc(str(c)), int(n), *rated.get(str(c), (0, 0))) for c, n in cited)
    times = dict(((str(c), int(n)) for c, n in cited))
    candidates = [ClauseStat(c, _doc(c), times.get(c, 0), u, d) for c, (u, d) in rated.items()
                  if u + d >= MIN_RATINGS and d > 0]  # fmt: skip
    worst = sorted(candidates, key=lambda s: (-s.down_ratio, -s.down, s.clause_id))[:top]
    return most, tuple(worst)


def _doc(clause_id: str) -> str:
    return clause_id.split(":", 1)[0]


def _shown(text: str) -> str:
    """A stored question as the report shows it: redacted again (rows stored by an older
    release, or by a hand) and made inert, whatever the store held."""
    return inert(redact_text(text))


def week_of(day: str) -> str:
    """The Monday of the week a day (YYYY-MM-DD) falls in."""
    d = date.fromisoformat(day)
    return (d - timedelta(days=d.weekday())).isoformat()


def _weeks(scope: Scope, asked: Sequence[Asked]) -> list[str]:
    """Every week (its Monday) from the period's first to its last (or the data's)."""
    days = sorted({a.day for a in asked})
    first = scope.since or (date.fromisoformat(days[0]) if days else None)
    last = scope.until or (date.fromisoformat(days[-1]) if days else None)
    if first is None or last is None:
        return []
    start, end = date.fromisoformat(week_of(first.isoformat())), date.fromisoformat(week_of(last.isoformat()))
    return [(start + timedelta(weeks=i)).isoformat() for i in range((end - start).days // 7 + 1)]
