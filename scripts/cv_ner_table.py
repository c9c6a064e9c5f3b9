"""`cv-ner-table`: the cross-validation results of several NER configurations in one table.

Each row is one `cv-ner --output FILE.json` run, named by its file or by `NAME=FILE`: the mean
dev scores of the folds at its last step, and the step where the mean dev curve peaks. Model
selection reads this table; the testset is not in it.
"""
import json
from pathlib import Path
from typing import Dict, List, Optional

import typer
from wasabi import msg

from ._app import app
from spacy_ru_nn.tables import markdown_table
from ._stats import mean_sd

LABELS = ("PER", "LOC", "ORG")


def cv_row(name: str, result: Dict) -> List[str]:
    """One table row from `cv-ner`'s JSON output."""
    summary, folds = result["summary"], result["folds"]
    curve = {int(step): score for step, score in summary["mean_curve"].items()}
    best = int(summary["best_step"])
    per_type = [
        mean_sd([fold["token_io"]["per_type"].get(label, {}).get("f", 0.0) for fold in folds]) for label in LABELS
    ]
    return [
        name,
        str(summary["steps"]),
        mean_sd(summary["entity_f"]),
        f"{best} ({curve[best]:.3f})",
        *per_type,
    ]


@app.command("cv-ner-table")
def cv_ner_table(
    results: List[str] = typer.Argument(..., help="cv-ner --output JSON files (FILE or NAME=FILE), one per configuration"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Markdown table"),
) -> None:
    """One row per `cv-ner` run: mean dev entity F1 at the last step, the best step of the
    mean dev curve, token-level F1 per type."""
    header = ("configuration", "steps", "dev entity F", "best step (mean dev F)", *(f"dev IO F {label}" for label in LABELS))
    rows = []
    for spec in results:
        name, _, path_text = spec.rpartition("=")
        path = Path(path_text)
        if not path.is_file():
            msg.fail(f"No cv-ner result at {path}", exits=1)
        rows.append(cv_row(name or path.stem, json.loads(path.read_text(encoding="utf8"))))
    msg.table(rows, header=header, divider=True)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(markdown_table(header, rows), encoding="utf8")
        msg.good(f"Saved the table to {output}")
