"""What each lesson costs a seat: seconds to run it top to bottom, and the kernel's peak memory.

    python -m benchmarks.lesson_costs                   # every lesson, full mode (about 45 minutes on a 2-core laptop)
    python -m benchmarks.lesson_costs 05 07 --fast      # some lessons, in the tests' fast mode

Each lesson runs in a fresh process (`jupyter nbconvert --execute`, the kernel its child) with one torch thread,
as a student's laptop runs it beside a browser; the seconds of each code cell are kept too (by cell id), for the
teacher's guide's plans. The peak memory is the largest resident set of that process tree,
sampled every 0.2 s (psutil). Results go to benchmarks/lesson_costs.json and .md, merged by lesson, after each
lesson, so that an interrupted run keeps what it measured, and into the cost table of docs/teaching.md
(tests/test_teaching.py checks the table and the guide's plans against the cells' seconds).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "lesson_costs"


def tree_rss(process: psutil.Process) -> int:
    """Resident bytes of a process and all its children."""
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def run_lesson(path: Path, fast: bool) -> dict:
    """Execute one lesson in a fresh nbconvert process; its seconds, peak memory and exit status."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GAN_LESSONS_FAST": "1" if fast else "0"}
    env.pop("MPLBACKEND", None)  # the kernel's inline backend, as for a reader
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                   "--ExecutePreprocessor.timeout=3600", "--output-dir", out, str(path)]
        start, peak = time.perf_counter(), 0
        process = subprocess.Popen(command, cwd=path.parent, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
        watched = psutil.Process(process.pid)
        while process.poll() is None:
            peak = max(peak, tree_rss(watched))
            time.sleep(0.2)
        seconds = time.perf_counter() - start
        error = process.stderr.read()[-2000:] if process.returncode else ""
        executed = Path(out, path.name)
        cells = cell_seconds(json.loads(executed.read_text(encoding="utf-8"))) if executed.exists() else {}
    return {"lesson": path.stem, "mode": "fast" if fast else "full", "seconds": round(seconds, 1),
            "peak_mib": round(peak / 2**20), "ok": process.returncode == 0, "error": error, "cells": cells}


def cell_seconds(notebook: dict) -> dict[str, float]:
    """{cell id: seconds from the kernel starting the cell to its reply}, from the timings nbconvert records."""
    seconds = {}
    for cell in notebook["cells"]:
        timing = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            begin, end = (datetime.fromisoformat(timing[k].replace("Z", "+00:00"))
                          for k in ("iopub.execute_input", "shell.execute_reply"))
            seconds[cell["id"]] = round((end - begin).total_seconds(), 2)
    return seconds


def write(results: dict) -> None:
    """Merge into lesson_costs.json and rewrite lesson_costs.md from it."""
    OUT.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")
    lines = ["# What each lesson costs a seat", "",
             "`python -m benchmarks.lesson_costs` (one torch thread, a fresh kernel per lesson; "
             f"{platform.machine()}, {psutil.cpu_count()} cores). Peak memory: the nbconvert process and its "
             "kernel together, sampled every 0.2 s.", "",
             "| lesson | mode | minutes | peak memory (MiB) | ran |", "|---|---|---|---|---|"]
    for key in sorted(results):
        r = results[key]
        lines.append(f"| {r['lesson']} | {r['mode']} | {r['seconds'] / 60:.1f} | {r['peak_mib']} | "
                     f"{'yes' if r['ok'] else 'FAILED'} |")
    OUT.with_suffix(".md").write_text("\n".join(lines) + "\n")


GUIDE = ROOT / "docs" / "teaching.md"
TABLE_HEADER = "| lesson | full mode: minutes | fast mode: minutes | peak memory, full mode (MiB) |"


def guide_table(results: dict) -> str:
    """The cost table of docs/teaching.md: a row per lesson measured in full mode."""
    rows = [TABLE_HEADER, "|---|---|---|---|"]
    for key in sorted(k for k in results if k.endswith("/full")):
        full, fast = results[key], results.get(key.replace("/full", "/fast"))
        fast_minutes = f"{fast['seconds'] / 60:.1f}" if fast and fast["ok"] else "not measured"
        minutes = f"{full['seconds'] / 60:.1f}" if full["ok"] else "FAILED"
        rows.append(f"| {full['lesson']} | {minutes} | {fast_minutes} | {full['peak_mib']} |")
    return "\n".join(rows)


def update_guide(results: dict) -> None:
    """Replace the cost table in docs/teaching.md (the lines from its header to the next blank line)."""
    text = GUIDE.read_text(encoding="utf-8")
    start = text.index("| lesson | full mode")
    end = text.index("\n\n", start)
    GUIDE.write_text(text[:start] + guide_table(results) + text[end:], encoding="utf-8")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", help="lesson numbers (00 to 11); all when none")
    parser.add_argument("--fast", action="store_true", help="the tests' fast mode instead of the full lessons")
    parser.add_argument("--guide", action="store_true",
                        help="only write the measured costs into docs/teaching.md's table (it also follows each run)")
    args = parser.parse_args(argv)
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    known = {p.name[:2]: p for p in notebooks}
    unknown = [n for n in args.lessons if n not in known]
    if unknown:
        parser.error(f"lessons {unknown} are not allowed; allowed: {', '.join(known)}")
    chosen = [known[n] for n in args.lessons] if args.lessons else notebooks
    path = OUT.with_suffix(".json")
    results = json.loads(path.read_text()) if path.exists() else {}
    if args.guide:
        update_guide(results)
        return results
    for notebook in chosen:
        result = run_lesson(notebook, args.fast)
        results[f"{result['lesson']}/{result['mode']}"] = result
        write(results)
        update_guide(results)
        print(f"{result['lesson']} ({result['mode']}): {result['seconds'] / 60:.1f} min, "
              f"peak {result['peak_mib']} MiB, {'ok' if result['ok'] else 'FAILED'}", flush=True)
    return results


if __name__ == "__main__":
    main()
