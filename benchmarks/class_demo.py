"""Time `make gradebook` on a generated class of 30: JOBS=1, JOBS=2, a resumed run, and one hang's cost.

    make class-demo [OUT=build/class-demo]          (about 15 minutes on 2 cores)

Builds the class with tests/fakeclass.py (`demo_class`: the ten cases of the test class, among
them a hang in Tensor.__init__, a hostile file, an empty repository, a folder that is not a
repository and a disguised copy, then students at every stage of the course, with dated commits),
and runs `python -m grading gradebook` on every module with the course's own limits:

    1. JOBS=1 into a fresh OUT
    2. JOBS=2 into a fresh OUT
    3. JOBS=2 again into (2)'s OUT: nothing changed, everything is reused
    4. JOBS=2 on the class without the hanging student, into a fresh OUT: the hang costs (2) - (4)
    5. make similarity on the class

It prints the figures and writes them to OUT/class-demo.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fakeclass import build_class, demo_class  # noqa: E402

HANG = "eli"


def timed(argv: list[str], log: Path) -> float:
    """Run a grader command from the course folder; its output goes to `log`; return the wall time."""
    started = time.monotonic()
    with log.open("w") as fh:
        proc = subprocess.run([sys.executable, "-m", "grading", *argv], cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed (exit {proc.returncode}); see {log}")
    return time.monotonic() - started


def student_seconds(out: Path) -> dict[str, float]:
    """How long each student's grading took (key.json records it; a reused row says 0)."""
    return {p.parent.name: json.loads(p.read_text())["seconds"] for p in out.glob("*/key.json")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="build/class-demo")
    parser.add_argument("--size", type=int, default=30)
    args = parser.parse_args()
    out = (ROOT / args.out).resolve()
    shutil.rmtree(out, ignore_errors=True)
    started = time.monotonic()
    build_class(out / "submissions", demo_class(args.size))
    built = time.monotonic() - started
    print(f"built {args.size} student repositories in {built:.0f} s under {out}/submissions", flush=True)
    shutil.copytree(out / "submissions", out / "no-hang", symlinks=True, ignore=shutil.ignore_patterns(HANG))
    figures = {"students": args.size, "cores": os.cpu_count(), "build_s": round(built, 1)}
    runs = [("jobs1_s", ["gradebook", "submissions", "--jobs", "1", "--out", "jobs1"]),
            ("jobs2_s", ["gradebook", "submissions", "--jobs", "2", "--out", "jobs2"]),
            ("resumed_s", ["gradebook", "submissions", "--jobs", "2", "--out", "jobs2"]),
            ("no_hang_jobs2_s", ["gradebook", "no-hang", "--jobs", "2", "--out", "no-hang-out"]),
            ("similarity_s", ["similarity", "submissions", "--out", "similarity"])]
    folders = ("submissions", "jobs1", "jobs2", "no-hang", "no-hang-out", "similarity")
    for key, (command, *argv) in runs:
        argv = [command, *(str(out / a) if a in folders else a for a in argv)]
        figures[key] = round(timed(argv, out / f"{key}.log"), 1)
        print(f"  {key:<16} {figures[key]:7.1f} s", flush=True)
    seconds = student_seconds(out / "jobs2")
    figures["hang_student_s"] = round(seconds[HANG], 1)
    figures["hang_costs_run_s"] = round(figures["jobs2_s"] - figures["no_hang_jobs2_s"], 1)
    figures["slowest_other_s"] = round(max(v for k, v in seconds.items() if k != HANG), 1)
    figures["student_mean_s"] = round(sum(seconds.values()) / len(seconds), 1)
    figures["load_average"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    (out / "class-demo.json").write_text(json.dumps(figures, indent=1) + "\n")
    print(json.dumps(figures, indent=1))
    print(f"gradebook: {out}/jobs2/gradebook.csv and summary.md; similarity: {out}/similarity/similarity.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
