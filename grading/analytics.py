"""Class analytics beside the gradebook: charts (PNG, matplotlib Agg) and summary.md, which embeds them.

    scores.png          score distribution per module (percent of its points)
    hardest_tests.png   the 20 tests with the lowest pass rate, visible and hidden: where students struggle
    milestones.png      the milestone unlock funnel: graded, then milestone 1, 2, 3 unlocked
    on_time.png         per module: passed by the deadline, passed after it, not passed (AT=deadlines)

A test's pass rate counts the students who attempted its module (status passed, partial or
timeout): a module nobody has started yet is not "hard". The numbers are computed by the pure
functions below; the charts and summary.md only draw them.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from grading.book import DEADLINES, Book
from grading.report import num

ATTEMPTED = ("passed", "partial", "timeout")
LOOK_AT = ("timeout", "error", "policy")                 # module statuses a TA should read about
HARDEST = 20
CHARTS = {"scores": "scores.png", "hardest": "hardest_tests.png", "funnel": "milestones.png",
          "on_time": "on_time.png"}


@dataclass(frozen=True)
class TestRate:
    __test__ = False
    module: str
    name: str
    visibility: str
    passed: int
    total: int

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 0.0


# --------------------------------------------------------------------------- numbers


def score_fractions(book: Book) -> dict[str, list[float]]:
    """{module: [score / max of each graded student]}."""
    out: dict[str, list[float]] = {m: [] for m in book.module_ids()}
    for row in book.graded():
        for cell in row.cells:
            if cell.score is not None and cell.max:
                out.setdefault(cell.id, []).append(cell.score / cell.max)
    return out


def pass_rates(reports: list[dict]) -> list[TestRate]:
    """Every test's pass rate among the students who attempted its module, the hardest first."""
    counts: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for report in reports:
        for module in report.get("modules", []):
            if module.get("status") not in ATTEMPTED:
                continue
            for test in module.get("tests", []):
                count = counts[(module["id"], test["name"], test["visibility"])]
                count[0] += test["outcome"] == "passed"
                count[1] += 1
    rates = [TestRate(m, n, v, p, t) for (m, n, v), (p, t) in counts.items()]
    return sorted(rates, key=lambda r: (r.rate, -r.total, r.module, r.name))


def funnel(book: Book) -> list[tuple[str, int]]:
    """(stage, students): graded, then each milestone unlocked."""
    graded = book.graded()
    stages = [("graded", len(graded))]
    for ms in book.milestones:
        stages.append((f"milestone {ms['id']} {ms['slug']}", sum(bool(r.milestones.get(ms["id"])) for r in graded)))
    return stages


def on_time(book: Book) -> dict[str, tuple[int, int, int]]:
    """{module with a deadline: (passed by the deadline, passed after it, not passed)}."""
    out = {}
    for module in book.modules:
        if not module.get("deadline") or book.at != DEADLINES:
            continue
        cells = [c for r in book.graded() for c in r.cells if c.id == module["id"] and c.on_time is not None]
        early = sum(c.on_time >= c.max for c in cells)
        late = sum(c.on_time < c.max <= (c.at_head or 0) for c in cells)
        out[module["id"]] = (early, late, len(cells) - early - late)
    return out


def reports_of(book: Book, folder: Path) -> list[dict]:
    """The HEAD report.json of every graded student (unreadable ones are skipped)."""
    out = []
    for row in book.graded():
        try:
            out.append(json.loads((folder / row.report).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return out


# --------------------------------------------------------------------------- charts


def headless_pyplot():
    """pyplot on the Agg backend (no display needed; copydetect's report draws with it too)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    headless_pyplot().close(fig)
    return path


def chart_scores(book: Book, path: Path) -> Path:
    plt = headless_pyplot()
    data = score_fractions(book)
    ids = [m for m in book.module_ids() if data.get(m)]
    fig, ax = plt.subplots(figsize=(max(5, len(ids) * 0.7 + 2), 3.6))
    if ids:
        ax.boxplot([[100 * x for x in data[m]] for m in ids], showmeans=True)
        ax.set_xticks(range(1, len(ids) + 1), ids)
    ax.set(xlabel="module", ylabel="score (% of its points)", ylim=(-5, 105), title="Score distribution per module")
    return _save(fig, path)


def _short(name: str, width: int = 56) -> str:
    """A test name that fits a chart label, keeping a parametrization's end (`...[div]`)."""
    return name if len(name) <= width else name[: width - 12] + "..." + name[-9:]


def chart_hardest(rates: list[TestRate], path: Path) -> Path:
    plt = headless_pyplot()
    shown = rates[:HARDEST][::-1]
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.3 * len(shown) + 1)))
    colors = ["#b04a4a" if r.visibility == "hidden" else "#4a78b0" for r in shown]
    ax.barh(range(len(shown)), [100 * r.rate for r in shown], color=colors)     # positions: names may repeat
    ax.set_yticks(range(len(shown)), [f"{r.module} {_short(r.name)}" for r in shown])
    ax.set(xlabel="pass rate (%) among students who attempted the module (red: hidden)", xlim=(0, 100),
           title=f"The {len(shown)} hardest tests")
    ax.tick_params(axis="y", labelsize=7)
    return _save(fig, path)


def chart_funnel(stages: list[tuple[str, int]], path: Path) -> Path:
    plt = headless_pyplot()
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar([s for s, _ in stages], [n for _, n in stages], color="#4a78b0")
    for i, (_, n) in enumerate(stages):
        ax.annotate(str(n), (i, n), ha="center", va="bottom")
    ax.set(ylabel="students", title="Milestone unlock funnel")
    ax.tick_params(axis="x", labelsize=8)
    return _save(fig, path)


def chart_on_time(counts: dict[str, tuple[int, int, int]], path: Path) -> Path:
    plt = headless_pyplot()
    ids = list(counts)
    early, late, never = ([counts[m][i] for m in ids] for i in range(3))
    fig, ax = plt.subplots(figsize=(max(5, len(ids) * 0.7 + 2), 3.4))
    ax.bar(ids, early, label="passed by the deadline", color="#4a9b5a")
    ax.bar(ids, late, bottom=early, label="passed after it", color="#d8a03a")
    ax.bar(ids, never, bottom=[a + b for a, b in zip(early, late)], label="not passed", color="#b0b0b0")
    ax.set(xlabel="module", ylabel="students", title="On time and late")
    ax.legend(fontsize=8)
    return _save(fig, path)


# --------------------------------------------------------------------------- summary.md


def _module_table(book: Book) -> list[str]:
    data = score_fractions(book)
    lines = ["| module | deadline | points | mean | median | passed | graded |", "|---|---|---:|---:|---:|---:|---:|"]
    for m in book.modules:
        xs = data.get(m["id"], [])
        passed = sum(c.status == "passed" for r in book.graded() for c in r.cells if c.id == m["id"])
        mean = f"{100 * statistics.mean(xs):.0f}%" if xs else ""
        median = f"{100 * statistics.median(xs):.0f}%" if xs else ""
        lines.append(f"| {m['id']} {m['slug']} | {m.get('deadline') or ''} | {num(m['points'])} | {mean} | {median} "
                     f"| {passed} | {len(xs)} |")
    return lines


def _attention(book: Book) -> list[str]:
    """Rows a TA should open: not graded, graded with another grader, or a module that hung, erred or
    broke the rules (their staff.md says more)."""
    lines = [f"- **{r.student}** ({r.status}): {r.message}" for r in book.rows if r.status != "graded"]
    lines += [f"- **{r.student}**: {r.provenance}" for r in book.rows if r.provenance]
    for r in book.graded():
        odd = [f"{c.id} {c.status}" for c in r.cells if c.status in LOOK_AT]
        if odd:
            lines.append(f"- **{r.student}**: {', '.join(odd)} (see {Path(r.report).parent.as_posix()}/staff.md)")
    return lines or ["- nothing: every student was graded, with the same grader and tests"]


def summary(book: Book, rates: list[TestRate], charts: dict[str, Path]) -> str:
    graded = book.graded()
    totals = [r.total for r in graded]
    mode = ("at the deadlines (late policy: " + ", ".join(f"{k} {v}" for k, v in book.late_policy.items()) + ")"
            if book.at == DEADLINES else "at HEAD (`AT=deadlines` grades each module at its deadline)")
    lines = ["# Class gradebook", "", f"{len(book.rows)} students, {len(graded)} graded {mode}; generated "
             f"{book.generated_at}.", ""]
    if totals:
        lines += [f"Total: mean {statistics.mean(totals):.1f}, median {statistics.median(totals):.1f} of "
                  f"{num(graded[0].max)}.", ""]
    lines += _module_table(book) + ["", f"![Score distribution per module]({charts['scores'].name})", ""]
    lines += ["## Where students struggle", "", f"The {min(HARDEST, len(rates))} tests with the lowest pass rate "
              "among the students who attempted their module:", "",
              "| module | test | visibility | passed | rate |", "|---|---|---|---:|---:|"]
    lines += [f"| {r.module} | `{r.name}` | {r.visibility} | {r.passed}/{r.total} | {100 * r.rate:.0f}% |"
              for r in rates[:HARDEST]]
    lines += ["", f"![The hardest tests]({charts['hardest'].name})", "", "## Milestones", "",
              "| stage | students |", "|---|---:|"] + [f"| {s} | {n} |" for s, n in funnel(book)]
    lines += ["", f"![Milestone unlock funnel]({charts['funnel'].name})", ""]
    if "on_time" in charts:
        lines += ["## On time and late", "", "| module | passed by the deadline | passed after it | not passed |",
                  "|---|---:|---:|---:|"] + [f"| {m} | {a} | {b} | {c} |" for m, (a, b, c) in on_time(book).items()]
        lines += ["", f"![On time and late]({charts['on_time'].name})", ""]
    return "\n".join(lines + ["## Rows that need a look", "", *_attention(book)]) + "\n"


def write(book: Book, out: Path) -> list[Path]:
    """The charts and summary.md in `out` (beside gradebook.csv); returns their paths."""
    rates = pass_rates(reports_of(book, out))
    charts = {"scores": chart_scores(book, out / CHARTS["scores"]),
              "hardest": chart_hardest(rates, out / CHARTS["hardest"]),
              "funnel": chart_funnel(funnel(book), out / CHARTS["funnel"])}
    counts = on_time(book)
    if counts:
        charts["on_time"] = chart_on_time(counts, out / CHARTS["on_time"])
    path = out / "summary.md"
    path.write_text(summary(book, rates, charts), encoding="utf-8")
    return [*charts.values(), path]


def cmd_analytics(args) -> int:
    from grading.book import from_json
    out = Path(args.out)
    try:
        book = from_json(json.loads((out / "gradebook.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {out}/gradebook.json cannot be read ({exc}); run make gradebook first")
        return 2
    paths = write(book, out)
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("analytics", help="the charts and summary.md of a gradebook (make gradebook writes them)")
    p.add_argument("out", help="the gradebook's folder (holds gradebook.json)")
    p.set_defaults(func=cmd_analytics)
