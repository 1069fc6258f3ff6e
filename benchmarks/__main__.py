"""`python -m benchmarks [--quick] [--out PATH] [NAME ...]`: run the benchmarks, print a table, merge the records."""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

from . import dcgan_mnist, lab_2d, time_to_digits
from .records import RESULTS, merge, table

BENCHMARKS = {  # one module per benchmark; each returns a list of records
    "lab_2d": lab_2d.run,
    "dcgan_mnist": dcgan_mnist.run,
    "time_to_digits": time_to_digits.run,
}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="tiny durations: checks that it runs, measures nothing")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"the JSON file to merge into (default {RESULTS}; with --quick, none unless given)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    os.environ["GAN_LESSONS_FAST"] = "0"  # the lab must run its real training thread here
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average {load:.2f} at start")
    records: list[dict] = []
    for name in args.names or list(BENCHMARKS):
        start = time.perf_counter()
        records += BENCHMARKS[name](quick=args.quick)
        print(f"{name}: {time.perf_counter() - start:.0f} s", file=sys.stderr)
    print(table(records))
    if args.quick and args.out is None:  # quick figures measure nothing: never over the real ones by default
        print("--quick: nothing written (pass --out PATH to write the records)")
        return records
    merge(records, args.out or RESULTS)
    print(f"written to {args.out or RESULTS}")
    return records


if __name__ == "__main__":
    main()
