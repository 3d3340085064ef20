"""The report written out: CSV (one file per table, spreadsheet-safe cells), JSON (the whole
report), a summary table for a terminal or an e-mail, and the volume plot as a PNG
(matplotlib's Agg backend, imported on first use)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from app.feedback import _cell
from app.insights.report import ClauseStat, Report, week_of

GROUP_COLUMNS = ("group", "exchanges", "share", "referred", "disliked", "low_confidence", "questions", "weekly",
                 "examples")  # fmt: skip
CLAUSE_COLUMNS = ("table", "clause_id", "doc_id", "cited", "thumbs_up", "thumbs_down", "down_ratio")
VOLUME_COLUMNS = ("day", "exchanges", "referred", "referral_rate")


def report_json(report: Report) -> str:
    """The whole report as JSON (every table, with the period and policy it covers)."""
    data: dict[str, Any] = asdict(report)
    data["referral_rate"] = round(report.referral_rate, 4)
    for key, stats in (("most_cited", report.most_cited), ("worst_rated", report.worst_rated)):
        for row, stat in zip(data[key], stats, strict=True):
            row["down_ratio"] = round(stat.down_ratio, 4)
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def groups_csv(report: Report) -> str:
    """The topic groups, one row each (weekly counts and examples joined in one cell)."""
    rows = [
        [_cell(g.name), g.count, f"{g.share:.4f}", g.referred, g.disliked, g.low_confidence, g.questions,
         " ".join(f"{w}:{n}" for w, n in g.weekly), _cell(" | ".join(g.examples))]
        for g in report.groups
    ]  # fmt: skip
    return _csv(GROUP_COLUMNS, rows)


def clauses_csv(report: Report) -> str:
    """The clauses most cited and those worst rated, one table (its first column says which)."""
    rows = [_clause_row("most cited", s) for s in report.most_cited]
    rows += [_clause_row("worst rated", s) for s in report.worst_rated]
    return _csv(CLAUSE_COLUMNS, rows)


def volume_csv(report: Report) -> str:
    return _csv(VOLUME_COLUMNS, [[v.day, v.exchanges, v.referred, f"{v.referral_rate:.4f}"] for v in report.volume])


def _clause_row(table: str, s: ClauseStat) -> list[object]:
    return [table, s.clause_id, s.doc_id, s.cited, s.up, s.down, f"{s.down_ratio:.4f}"]


def _csv(header: tuple[str, ...], rows: list[list[object]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def summary(report: Report, width: int = 100) -> str:
    """The report as plain text: the period, the totals, then the groups and clauses as tables."""
    period = f"{report.since or 'the start'} to {report.until or 'today'}"
    lines = [
        f"Insights, {period}" + (f", policy {report.doc_id}" if report.doc_id else ", all policies"),
        f"{report.exchanges:,} exchanges; {report.referred:,} referred ({report.referral_rate:.1%}); "
        f"{report.low_confidence:,} answered with low confidence; thumbs {report.thumbs_up:,} up, "
        f"{report.thumbs_down:,} down",
        f"{report.attention:,} need a look, in {len(report.groups)} groups"
        + (f" (grouped {report.grouped_questions:,} of {report.distinct_questions:,} distinct questions,"
           " counts estimated)" if report.sampled else ""),
        "",
        f"{'group (most central question)':<{width - 34}} {'count':>6} {'share':>6} {'ref':>5} {'down':>5} {'weak':>5}",
    ]  # fmt: skip
    for g in report.groups:
        lines.append(f"{_clip(g.name, width - 34):<{width - 34}} {g.count:>6} {g.share:>6.1%} {g.referred:>5} "
                     f"{g.disliked:>5} {g.low_confidence:>5}")  # fmt: skip
    for title, stats in (("clauses most cited", report.most_cited), ("clauses worst rated", report.worst_rated)):
        lines += ["", f"{title:<{width - 24}} {'cited':>6} {'up':>5} {'down':>5} {'down%':>6}"]
        lines += [f"{_clip(s.clause_id, width - 24, middle=True):<{width - 24}} {s.cited:>6} {s.up:>5} {s.down:>5} "
                  f"{s.down_ratio:>6.0%}" for s in stats] or ["(none)"]  # fmt: skip
    return "\n".join(lines) + "\n"


def _clip(text: str, width: int, middle: bool = False) -> str:
    """One line of at most `width` characters; `middle`: cut in the middle (a clause id's policy
    and ordinal both matter)."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    if middle:
        half = (width - 1) // 2
        return text[:half] + "…" + text[len(text) - (width - 1 - half) :]
    return text[: width - 1] + "…"


def volume_png(report: Report) -> bytes:
    """Exchanges (bars) and referral rate (line) by day, or by week over more than two months."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    labels, exchanges, referred = _buckets(report)
    fig = Figure(figsize=(8, 3.2), dpi=100)
    ax = fig.add_subplot()
    xs = range(len(labels))
    ax.bar(xs, exchanges, color="#94a3b8", label="exchanges")
    ax.set_ylabel("exchanges")
    rate = ax.twinx()
    rate.plot(xs, [r / n if n else 0 for r, n in zip(referred, exchanges, strict=True)], color="#c2410c",
              marker="o", label="referral rate")  # fmt: skip
    rate.set_ylim(0, 1)
    rate.set_ylabel("referral rate")
    step = max(1, len(labels) // 8)
    ax.set_xticks(list(xs)[::step], labels[::step], fontsize=8)
    ax.set_title("Volume and referral rate" + (" by week" if len(report.volume) > 62 else " by day"), fontsize=10)
    bars, line = ax.get_legend_handles_labels(), rate.get_legend_handles_labels()
    ax.legend(bars[0] + line[0], bars[1] + line[1], loc="upper left", fontsize=8, framealpha=0.8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _buckets(report: Report) -> tuple[list[str], list[int], list[int]]:
    weekly = len(report.volume) > 62
    buckets: dict[str, list[int]] = {}
    for v in report.volume:
        key = week_of(v.day) if weekly else v.day
        total = buckets.setdefault(key, [0, 0])
        total[0] += v.exchanges
        total[1] += v.referred
    keys = sorted(buckets)
    return keys, [buckets[k][0] for k in keys], [buckets[k][1] for k in keys]


def write_folder(report: Report, folder: Path) -> list[Path]:
    """The report as files in `folder`: summary.txt, report.json, three CSV files, volume.png."""
    folder.mkdir(parents=True, exist_ok=True)
    texts = {"summary.txt": summary(report), "report.json": report_json(report), "groups.csv": groups_csv(report),
             "clauses.csv": clauses_csv(report), "volume.csv": volume_csv(report)}  # fmt: skip
    written = []
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
        written.append(folder / name)
    (folder / "volume.png").write_bytes(volume_png(report))
    return [*written, folder / "volume.png"]
