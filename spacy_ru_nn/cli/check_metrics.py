"""`check-metrics`: quality floors and ceilings on any metrics JSON, for CI and workflows."""
import json
from pathlib import Path
from typing import Any, List

import typer
from wasabi import msg

from ._app import app


@app.command("check-metrics")
def check_metrics(
    path: Path = typer.Argument(..., help="A metrics JSON file", exists=True, dir_okay=False),
    minimum: List[str] = typer.Option([], "--min", help="KEY=FLOOR, KEY dotted into nested dicts (e.g. spacy.cats_score=0.9); repeatable"),
    maximum: List[str] = typer.Option([], "--max", help="KEY=CEILING, for losses or error rates; repeatable"),
) -> None:
    """Fail (exit 1) when a metric is below its floor or above its ceiling, or missing."""
    try:
        data = json.loads(path.read_text(encoding="utf8"))
    except (OSError, ValueError) as err:
        msg.fail(f"Cannot read metrics from {path}", str(err), exits=1)
    failures = []
    for bound, specs in (("min", minimum), ("max", maximum)):
        for spec in specs:
            key, _, limit_text = spec.partition("=")
            try:
                limit = float(limit_text)
            except ValueError:
                msg.fail(f"--{bound} {spec!r}: expected KEY=NUMBER", exits=1)
            value = _lookup(data, key)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                failures.append(f"{key}: missing or not a number in {path} (got {value!r})")
            elif (bound == "min" and value < limit) or (bound == "max" and value > limit):
                relation = "below the floor" if bound == "min" else "above the ceiling"
                failures.append(f"{key} = {value:.4f} is {relation} {limit:g}")
            else:
                msg.good(f"{key} = {value:.4f} ({'>=' if bound == 'min' else '<='} {limit:g})")
    if failures:
        msg.fail(f"{path}: {len(failures)} metric check(s) failed", "\n".join(failures), exits=1)


def _lookup(data: Any, dotted_key: str) -> Any:
    for part in dotted_key.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data
