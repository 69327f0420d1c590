"""The table on the terminal and the figures in ``perf.json``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OK = "ok"
MISS = "MISS"
NA = "n/a"
INFO = "info"


@dataclass(frozen=True)
class Row:
    metric: str
    app: str
    baseline: str
    ratio: str
    target: str
    verdict: str


def fmt(value: float | None, digits: int = 1, unit: str = "") -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}f}{unit}"


def ratio_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


def verdict(passed: bool | None) -> str:
    if passed is None:
        return NA
    return OK if passed else MISS


def table(rows: Sequence[Row]) -> str:
    header = Row("metric", "app", "floor / baseline", "ratio", "target", "verdict")
    cells = [header, *rows]
    widths = [max(len(getattr(row, name)) for row in cells) for name in Row.__dataclass_fields__]

    def line(row: Row) -> str:
        values = [getattr(row, name) for name in Row.__dataclass_fields__]
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def write_json(path: Path, figures: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
