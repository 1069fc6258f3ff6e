"""One benchmark record, the table that prints them, and results.json, which collects them by name."""
from __future__ import annotations

import json
import math
from pathlib import Path

from gan_lessons.files import atomic_write

RESULTS = Path(__file__).with_name("results.json")


def record(name: str, value: float, unit: str, target: float | None, better: str,
           baseline: float | None = None, note: str = "") -> dict:
    """A measurement; `baseline` is a reference measured in the same run (or None), `better` says which way is good."""
    if better not in ("higher", "lower"):
        raise ValueError(f"better={better!r} is not allowed; it must be 'higher' or 'lower'")
    if not (isinstance(value, (int, float)) and math.isfinite(value)):
        raise ValueError(f"value={value!r} is not allowed for {name}; it must be a finite number")
    return {"name": name, "value": round(float(value), 3), "unit": unit, "target": target, "better": better,
            "baseline": None if baseline is None else round(float(baseline), 3), "note": note}


def meets(rec: dict) -> bool | None:
    """Whether a record reaches its target (None without a target)."""
    if rec["target"] is None:
        return None
    return rec["value"] >= rec["target"] if rec["better"] == "higher" else rec["value"] <= rec["target"]


def table(records: list[dict]) -> str:
    """The records as a fixed-width text table."""
    rows = [("name", "value", "unit", "target", "met", "baseline")]
    for r in records:
        sign = "≥" if r["better"] == "higher" else "≤"
        target = "" if r["target"] is None else f"{sign} {r['target']:g}"
        met = {True: "yes", False: "NO", None: ""}[meets(r)]
        baseline = "" if r["baseline"] is None else f"{r['baseline']:g}"
        rows.append((r["name"], f"{r['value']:g}", r["unit"], target, met, baseline))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def merge(records: list[dict], path: Path = RESULTS) -> list[dict]:
    """Replace the records of the same name in `path` (keeping the others) and write it atomically."""
    path = Path(path)
    old = json.loads(path.read_text()) if path.exists() else []
    new_names = {r["name"] for r in records}
    merged = [r for r in old if r.get("name") not in new_names] + records
    write_json(path, merged)
    return merged


def write_json(path: Path, value) -> None:
    """`value` as JSON in `path`, written to a temporary file in the same folder and then renamed: a reader never
    sees half a file, and an interrupted write leaves the old one."""
    with atomic_write(path, "w") as f:
        json.dump(value, f, indent=2, ensure_ascii=False)
        f.write("\n")
