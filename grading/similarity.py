"""Code similarity between the students of a class, module by module, with copydetect (MOSS's winnowing).

    python -m grading similarity DIR [--roster CSV] [--out reports/similarity] [--modules 01,02]

For each module, every student's file is compared with every other student's. copydetect
tokenizes the code (names become V, F and O, strings S; layout and comments disappear), takes
winnowed fingerprints of its k-grams, and counts the code two files share, so renamed variables
and reformatted lines do not hide a copy. The module's stub (this checkout's
assignments/NN_slug/slug.py) is boilerplate: what every student was given never counts. A file
that is missing, a link or the untouched stub is left out.

    similarity.csv              student_a, student_b, module, similarity, a_in_b, b_in_a, tokens,
                                highest first; similarity is the larger of the two shares (a_in_b:
                                the share of a's code found in b), so a copied part of a longer
                                file still ranks high
    similarity-NN_slug.html     copydetect's report for that module: the pairs above the display
                                threshold, with the shared code highlighted

A high score is a reason to read two files side by side, not a verdict: students who follow the
same docstring closely write alike, and short modules leave little room to differ.
"""

from __future__ import annotations

import csv
import io
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from grading.roster import RosterError, Student, discover
from grading.sandbox import read_student_file
from tinytorch.manifest import Course, Module, load_course

DEFAULT_OUT = "reports/similarity"
DISPLAY_THRESHOLD = 0.5          # pairs above this share appear in the HTML reports
SHOWN = 10                       # pairs printed on the terminal


@dataclass(frozen=True)
class Pair:
    student_a: str
    student_b: str
    module: str
    a_in_b: float
    b_in_a: float
    tokens: int

    @property
    def similarity(self) -> float:
        return max(self.a_in_b, self.b_in_a)


def module_files(students: list[Student], module: Module, stub: bytes) -> list[tuple[str, Path]]:
    """(student, file) of every student who changed the module's file (regular files only, no links)."""
    found = []
    for student in students:
        data, _ = read_student_file(student.folder, module.student_file) if student.folder else (None, "")
        if data is not None and data != stub:
            found.append((student.key, student.folder / module.student_file))
    return found


def compare(files: list[tuple[str, Path]], boilerplate: Path, module: str, html: Path | None = None,
            threshold: float = DISPLAY_THRESHOLD) -> list[Pair]:
    """Every pair of `files` compared by copydetect, `boilerplate` excluded; its HTML report into `html`."""
    if len(files) < 2:
        return []
    from grading.analytics import headless_pyplot
    headless_pyplot()                       # copydetect draws its report with pyplot: no display
    from copydetect import CopyDetector
    detector = CopyDetector(extensions=["py"], autoopen=False, silent=True, display_t=threshold, truncate=True,
                            out_file=str(html or Path(tempfile.gettempdir()) / "similarity.html"))   # unused then
    for _, path in files:
        detector.add_file(str(path))
    detector.add_file(str(boilerplate), type="boilerplate")
    detector.run()
    owner = {str(path): key for key, path in files}
    names = [owner[f] for f in detector.test_files]
    pairs = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            a_in_b, b_in_a = (float(max(0.0, x)) for x in detector.similarity_matrix[i, j])
            pairs.append(Pair(names[i], names[j], module, round(a_in_b, 4), round(b_in_a, 4),
                              int(max(0, detector.token_overlap_matrix[i, j]))))
    if html is not None:
        detector.generate_html_report()
    return pairs


def ranked(pairs: list[Pair]) -> list[Pair]:
    return sorted(pairs, key=lambda p: (-p.similarity, p.module, p.student_a, p.student_b))


def to_csv(pairs: list[Pair]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student_a", "student_b", "module", "similarity", "a_in_b", "b_in_a", "tokens"])
    for p in ranked(pairs):
        writer.writerow([p.student_a, p.student_b, p.module, f"{p.similarity:.4f}", f"{p.a_in_b:.4f}",
                         f"{p.b_in_a:.4f}", p.tokens])
    return out.getvalue()


def class_similarity(course: Course, students: list[Student], out: Path, modules: list[str] | None = None,
                     threshold: float = DISPLAY_THRESHOLD) -> list[Pair]:
    """Compare the class module by module; write similarity.csv and one HTML report per module into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    pairs: list[Pair] = []
    for module in course.modules:
        if modules and module.id not in modules:
            continue
        stub = course.root / module.student_file
        files = module_files(students, module, stub.read_bytes())
        pairs += compare(files, stub, module.id, out / f"similarity-{module.folder}.html", threshold)
    (out / "similarity.csv").write_text(to_csv(pairs), encoding="utf-8")
    return ranked(pairs)


def cmd_similarity(args) -> int:
    course = load_course()
    try:
        students = discover(Path(args.dir), Path(args.roster) if args.roster else None)
        modules = [course.module(m).id for m in args.modules.split(",")] if args.modules else None
    except (RosterError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        pairs = class_similarity(course, students, Path(args.out), modules, args.threshold)
    except ImportError:
        print("error: copydetect is not installed: `make similarity` installs it (pyproject.toml, extra tools)",
              file=sys.stderr)
        return 2
    print(f"{len(pairs)} pairs compared across {len(students)} students; the most similar:")
    for p in pairs[:SHOWN]:
        print(f"  {p.similarity:6.1%}  {p.module}  {p.student_a} ~ {p.student_b}  ({p.tokens} tokens shared)")
    print(f"Written: {args.out}/similarity.csv and similarity-NN_slug.html (pairs above {args.threshold:.0%})")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("similarity", help="code similarity between students, module by module (copydetect)")
    p.add_argument("dir", help="one folder per student")
    p.add_argument("--roster")
    p.add_argument("--out", default=DEFAULT_OUT)
    p.add_argument("--modules", help="only these modules, e.g. 01,02")
    p.add_argument("--threshold", type=float, default=DISPLAY_THRESHOLD,
                   help=f"share above which a pair is shown in the HTML reports (default {DISPLAY_THRESHOLD})")
    p.set_defaults(func=cmd_similarity)
