"""`cv-ner`: k-fold cross-validation of an NER config on the devset, for model selection.

The testset never takes part: each fold trains on the other devset documents for a fixed
number of steps and is scored on its own documents. The mean dev F1 at every evaluation step,
across folds, picks the step count of the final fit on the whole devset.
"""
import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from statistics import mean
from typing import Any, Dict, Optional

import srsly
import typer
from spacy_ru_nn.compat import parse_config_overrides
from wasabi import msg

from ._app import app
from spacy_ru_nn.tables import markdown_table
from ._stats import mean_sd
from ._subprocess import evaluate_in_subprocess, one_thread_env, train_command

LABELS = ("PER", "LOC", "ORG")


def _train_fold(config: Path, fold_dir: Path, out_dir: Path, steps: int, eval_frequency: int, overrides: Dict[str, Any]) -> None:
    cmd = train_command(config, out_dir, fold_dir / "train.spacy", fold_dir / "dev.spacy", steps, overrides)
    cmd += ["--training.eval_frequency", str(eval_frequency), "--training.logger.output_file", str(out_dir / "scores.jsonl")]
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "train.log").open("w", encoding="utf8") as log:
        subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT, env=one_thread_env())


def _curve(scores_path: Path) -> Dict[int, float]:
    # ConsoleLogger.v3 writes scores as percentages.
    return {row["step"]: row["scores"]["ents_f"] / 100 for row in srsly.read_jsonl(scores_path) if row["step"]}


@app.command(
    "cv-ner",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def cv_ner(
    ctx: typer.Context,
    config: Path = typer.Argument(..., help="The NER training config", exists=True, dir_okay=False),
    folds_dir: Path = typer.Argument(..., help="corpus/ner/folds from `convert factru`", exists=True, file_okay=False),
    training_dir: Path = typer.Option(Path("training/ner-cv"), help="Where each fold's model goes"),
    steps: int = typer.Option(1500, help="Training steps per fold (no early stopping)"),
    eval_frequency: int = typer.Option(100, help="Steps between dev evaluations of the curve"),
    jobs: int = typer.Option(1, help="Folds trained at once, one CPU thread each"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Per-fold, mean and curve JSON"),
) -> None:
    """Train and score every fold; extra `--section.key value` arguments override the config,
    as with `spacy train`."""
    overrides = parse_config_overrides(ctx.args)
    fold_dirs = sorted(p for p in folds_dir.iterdir() if (p / "train.spacy").exists())
    if len(fold_dirs) < 2:
        msg.fail(f"No folds in {folds_dir}: run `convert factru` with --n-folds", exits=1)
    out_dirs = [training_dir / fold.name for fold in fold_dirs]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(lambda pair: _train_fold(config, pair[0], pair[1], steps, eval_frequency, overrides), zip(fold_dirs, out_dirs)))
    folds = []
    for fold, out_dir in zip(fold_dirs, out_dirs):
        result = evaluate_in_subprocess(out_dir / "model-last", fold / "dev.spacy", out_dir / "dev_metrics.json")
        folds.append({"fold": fold.name, "curve": _curve(out_dir / "scores.jsonl"), **result})
    steps_seen = sorted(set.intersection(*(set(f["curve"]) for f in folds)))
    mean_curve = {step: mean(f["curve"][step] for f in folds) for step in steps_seen}
    best_step = max(mean_curve, key=lambda step: (round(mean_curve[step], 4), -step))
    entity_f = [f["entity"]["ents_f"] for f in folds]
    rows = [("entity F (micro)", mean_sd(entity_f))]
    for label in LABELS:
        rows.append((f"entity F {label}", mean_sd([f["entity"]["ents_per_type"].get(label, {}).get("f", 0.0) for f in folds])))
    for label in LABELS:
        rows.append((f"token-IO F {label}", mean_sd([f["token_io"]["per_type"].get(label, {}).get("f", 0.0) for f in folds])))
    rows.append(("best mean dev F step", f"{best_step} ({mean_curve[best_step]:.3f})"))
    header = (f"{len(folds)}-fold at {steps} steps", "mean ± sd")
    msg.table(rows, header=header, divider=True)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        summary = {"steps": steps, "overrides": overrides, "entity_f": entity_f, "mean_curve": mean_curve, "best_step": best_step}
        output.write_text(json.dumps({"summary": summary, "folds": folds}, indent=2, ensure_ascii=False), encoding="utf8")
        output.with_suffix(".md").write_text(markdown_table(header, rows), encoding="utf8")
        msg.good(f"Saved {output} and {output.with_suffix('.md')}")
