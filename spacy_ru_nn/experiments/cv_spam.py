"""`cv-spam`: k-fold cross-validation of a spam config on the duplicate-aware folds."""
import json
from pathlib import Path
from typing import Optional

import torch
import typer
from wasabi import msg

from ..cli._app import app
from ..spam_metrics import mean_and_sd
from ._spam_training import fold_dirs, train_and_test_spacy

SUMMARY_KEYS = ("f1", "roc_auc", "mcc", "precision", "recall", "accuracy")


@app.command("cv-spam")
def cv_spam(
    config_path: Path = typer.Argument(..., help="Training config, e.g. configs/spam.cfg", exists=True, dir_okay=False),
    folds_dir: Path = typer.Argument(..., help="corpus/spam/folds from `convert sms`", exists=True, file_okay=False),
    training_dir: Path = typer.Option(Path("training/spam_cv"), help="Where each fold's model goes"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Per-fold and mean metrics JSON"),
) -> None:
    """k-fold cross-validation on duplicate-aware folds: train, early-stop on the fold's dev
    slice, score the held-out fold."""
    torch.set_num_threads(1)
    per_fold = []
    for fold in fold_dirs(folds_dir):
        _, _, metrics = train_and_test_spacy(config_path, fold, training_dir / fold.name)
        per_fold.append(metrics)
        msg.good(
            f"{fold.name}: F1 {metrics['f1']:.4f}  AUC {metrics['roc_auc']:.4f}  MCC {metrics['mcc']:.4f}  "
            f"({metrics['train_seconds']:.1f} s)"
        )
    summary = {key: dict(zip(("mean", "sd"), mean_and_sd([m[key] for m in per_fold]))) for key in SUMMARY_KEYS}
    msg.table(
        [(key, f"{value['mean']:.4f} ± {value['sd']:.4f}") for key, value in summary.items()],
        header=(f"{len(per_fold)}-fold", "mean ± sd"),
        divider=True,
    )
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps({"summary": summary, "folds": per_fold}, indent=2), encoding="utf8")
        msg.good(f"Saved metrics to {output}")
