"""`cv-spam`: k-fold cross-validation of a spam config on the duplicate-aware folds.

    python -m scripts cv-spam configs/spam.cfg corpus/spam/folds --output metrics/spam_cv.json
    python -m scripts cv-spam configs/spam.cfg corpus/spam/folds --dev-threshold \\
        --components.textcat.model.vectorizer.char_ngram_range "[2, 5]"
"""
import json
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch
import typer
from spacy_ru_nn.compat import parse_config_overrides
from wasabi import msg

from ._app import app
from spacy_ru_nn.tables import markdown_table
from spacy_ru_nn.spam_metrics import binary_metrics, read_gold, spacy_spam_scores
from ._stats import best_f1_threshold, mean_and_sd
from ._spam_training import fold_dirs, train_and_test_spacy

SUMMARY_KEYS = ("f1", "roc_auc", "mcc", "precision", "recall", "accuracy")


@app.command("cv-spam", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def cv_spam(
    ctx: typer.Context,
    config_path: Path = typer.Argument(..., help="Training config, e.g. configs/spam.cfg", exists=True, dir_okay=False),
    folds_dir: Path = typer.Argument(..., help="corpus/spam/folds from `convert sms`", exists=True, file_okay=False),
    training_dir: Path = typer.Option(Path("training/spam_cv"), help="Where each fold's model goes"),
    dev_threshold: bool = typer.Option(
        False, "--dev-threshold", help="Also score each fold at the threshold with the best F1 on its dev slice"
    ),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Per-fold and mean metrics JSON"),
) -> None:
    """k-fold cross-validation on duplicate-aware folds: train, early-stop on the fold's dev
    slice, score the held-out fold. Extra `--section.key value` arguments override the config,
    as with `spacy train`."""
    torch.set_num_threads(1)
    overrides = parse_config_overrides(ctx.args)
    per_fold: List[Dict[str, Any]] = []
    at_dev_threshold: List[Dict[str, Any]] = []
    for fold in fold_dirs(folds_dir):
        nlp, texts, metrics = train_and_test_spacy(config_path, fold, training_dir / fold.name, overrides)
        per_fold.append(metrics)
        line = f"{fold.name}: F1 {metrics['f1']:.4f}  AUC {metrics['roc_auc']:.4f}  MCC {metrics['mcc']:.4f}"
        if dev_threshold:
            dev_texts, dev_gold = read_gold(fold / "dev.spacy", nlp)
            threshold = best_f1_threshold(dev_gold, spacy_spam_scores(nlp, dev_texts))
            _, test_gold = read_gold(fold / "test.spacy", nlp)
            at_dev_threshold.append(binary_metrics(test_gold, spacy_spam_scores(nlp, texts), threshold))
            line += f"  F1 at dev threshold {threshold:.3f}: {at_dev_threshold[-1]['f1']:.4f}"
        msg.good(f"{line}  ({metrics['train_seconds']:.1f} s)")
    result: Dict[str, Any] = {"overrides": overrides, "summary": _summary(per_fold), "folds": per_fold}
    rows = [(key, f"{value['mean']:.4f} ± {value['sd']:.4f}") for key, value in result["summary"].items()]
    if dev_threshold:
        result["dev_threshold"] = {"summary": _summary(at_dev_threshold), "folds": at_dev_threshold}
        f1 = result["dev_threshold"]["summary"]["f1"]
        rows.append(("f1 at dev threshold", f"{f1['mean']:.4f} ± {f1['sd']:.4f}"))
    msg.table(rows, header=(f"{len(per_fold)}-fold", "mean ± sd"), divider=True)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(result, indent=2), encoding="utf8")
        msg.good(f"Saved metrics to {output}")


def _summary(per_fold: List[Dict[str, Any]]) -> Dict[str, Dict[str, float]]:
    return {key: dict(zip(("mean", "sd"), mean_and_sd([m[key] for m in per_fold]))) for key in SUMMARY_KEYS}


@app.command("cv-spam-table")
def cv_spam_table(
    results: List[str] = typer.Argument(..., help="cv-spam --output JSON files as NAME=FILE, one per configuration"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Markdown table"),
) -> None:
    """One row per cross-validated configuration: the folds' F1, ROC AUC and MCC (mean ± sd),
    F1 at the threshold chosen on each fold's dev slice (when cv-spam measured it) and the
    mean training seconds, so that every screened change reads against the same folds."""
    header = ("configuration", "F1", "ROC AUC", "MCC", "F1 at dev threshold", "train s")
    rows = []
    for item in results:
        name, _, path = item.rpartition("=")
        result = json.loads(Path(path).read_text(encoding="utf8"))
        summary = result["summary"]
        cells = [f"{summary[key]['mean']:.4f} ± {summary[key]['sd']:.4f}" for key in ("f1", "roc_auc", "mcc")]
        at_threshold = result.get("dev_threshold", {}).get("summary", {}).get("f1")
        cells.append(f"{at_threshold['mean']:.4f} ± {at_threshold['sd']:.4f}" if at_threshold else "–")
        seconds = [fold["train_seconds"] for fold in result["folds"]]
        cells.append(f"{sum(seconds) / len(seconds):.0f}")
        rows.append((name or Path(path).stem, *cells))
    msg.table(rows, header=header, divider=True)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(markdown_table(header, rows), encoding="utf8")
        msg.good(f"Saved {output}")
