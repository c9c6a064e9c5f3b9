"""`benchmark-spam-models`: logistic regression to three hidden layers on the same split and folds, in one
run: logistic regression; 1, 2 and 3 hidden layers with ReLU and with tanh; and, for the
shipped shape, SGD against Adam and a zero start against a random one. Each is the shipped
config (configs/spam.cfg) with only that setting changed, keeping the checkpoint with the best
dev score.

    python -m scripts benchmark-spam-models configs/spam.cfg corpus/spam --jobs 2 \\
        --output metrics/spam_models.md --json metrics/spam_models.json
"""
import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Dict, List, Optional

import spacy
import torch
import typer
from wasabi import msg

from ._app import app
from ._stats import mean_and_sd
from spacy_ru_nn.tables import markdown_table
from ._spam_training import fold_dirs, train_and_test_spacy
from ._subprocess import ONE_THREAD

MODEL = "components.textcat.model"
ACTIVATION_NAMES = {"relu": "ReLU", "tanh": "tanh"}


@dataclass
class Variant:
    """One row: a name, a short key for its folder and its overrides of the shipped config."""

    name: str
    slug: str
    overrides: Dict[str, Any]


def model_family_variants(config: Dict[str, Any], sgd_learn_rate: float, adam_learn_rate: float) -> List[Variant]:
    """The rows, from logistic regression up. The shipped shape's row is the shipped config itself;
    the optimizer row trains it with the other of SGD and Adam."""
    model = config["components"]["textcat"]["model"]
    shipped = (model["depth"], model["activation"])
    optimizer = config["training"]["optimizer"]
    shipped_sgd = optimizer["@optimizers"].startswith("SGD")
    init = "zero" if model.get("init") == "zeros" else "random"
    variants = [Variant("logistic regression (no hidden layer)", "logreg", {f"{MODEL}.depth": 0})]
    for depth in (1, 2, 3):
        for activation in ("relu", "tanh"):
            name = f"{_layers(depth)}, {ACTIVATION_NAMES[activation]}"
            if (depth, activation) == shipped:
                name += f" (shipped: {'SGD' if shipped_sgd else 'Adam'}, {init} init)"
            overrides = {f"{MODEL}.depth": depth, f"{MODEL}.activation": activation}
            variants.append(Variant(name, f"depth{depth}_{activation}", overrides))
    shape = f"{_layers(shipped[0])}, {ACTIVATION_NAMES[shipped[1]]}"
    common = {
        "grad_clip": optimizer.get("grad_clip", 1.0),
        "use_averages": optimizer.get("use_averages", False),
        "L2_is_weight_decay": True,
    }
    if shipped_sgd:
        other = {"@optimizers": "Adam.v1", "learn_rate": adam_learn_rate, "L2": 0.0, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, **common}
        variants.append(Variant(f"{shape}, Adam (learn rate {adam_learn_rate:g})", "adam", {"training.optimizer": other}))
    else:
        other = {"@optimizers": "SGD.v1", "learn_rate": sgd_learn_rate, "L2": 0.0, **common}
        variants.append(Variant(f"{shape}, SGD (learn rate {sgd_learn_rate:g})", "sgd", {"training.optimizer": other}))
    other_init = "random" if init == "zero" else "zero"
    variants.append(Variant(f"{shape}, {other_init} init", f"{other_init}_init", {f"{MODEL}.init": "default" if init == "zero" else "zeros"}))
    return variants


def _layers(depth: int) -> str:
    return "1 hidden layer" if depth == 1 else f"{depth} hidden layers"


def _train_and_test(config_path: Path, split_dir: Path, output_dir: Path, overrides: Dict[str, Any]) -> Dict[str, Any]:
    """One training and its test scores, in a worker process with one torch thread."""
    torch.set_num_threads(1)
    return train_and_test_spacy(config_path, split_dir, output_dir, overrides)[2]


@app.command("benchmark-spam-models")
def benchmark_spam_models(
    config_path: Path = typer.Argument(..., help="The shipped config, configs/spam.cfg", exists=True, dir_okay=False),
    corpus_dir: Path = typer.Argument(
        ..., help="corpus/spam: train/dev/test.spacy and folds/", exists=True, file_okay=False
    ),
    training_dir: Path = typer.Option(Path("training/spam_models"), help="Where the trained models go"),
    output: Path = typer.Option(Path("metrics/spam_models.md"), "--output", "-o", help="Markdown table"),
    json_output: Optional[Path] = typer.Option(None, "--json", help="All numbers as JSON"),
    n_folds: Optional[int] = typer.Option(None, "--n-folds", help="Use only the first N folds; all by default"),
    only: List[str] = typer.Option([], "--only", help="Train only the rows with this folder name, e.g. logreg (repeatable)"),
    sgd_learn_rate: float = typer.Option(0.5, help="Learning rate of the SGD row, when the config trains with Adam"),
    adam_learn_rate: float = typer.Option(0.003, help="Learning rate of the Adam row, when the config trains with SGD"),
    jobs: int = typer.Option(1, help="Trainings run at once, one CPU thread each"),
) -> None:
    """One table, one run: every model from logistic regression to three hidden layers on the same split (test F1/AUC, the epoch
    early stopping kept, training seconds) and the same folds (F1 and AUC mean ± sd)."""
    torch.set_num_threads(1)
    config = spacy.util.load_config(config_path, interpolate=False)
    variants = model_family_variants(config, sgd_learn_rate, adam_learn_rate)
    if only:
        unknown = set(only) - {v.slug for v in variants}
        if unknown:
            msg.fail(f"--only: no rows {sorted(unknown)}; the rows are {[v.slug for v in variants]}", exits=1)
        variants = [v for v in variants if v.slug in only]
    folds = fold_dirs(corpus_dir / "folds")[:n_folds]
    splits = [("split", corpus_dir), *((fold.name, fold) for fold in folds)]
    tasks = [(variant, name, split) for variant in variants for name, split in splits]
    msg.text(f"{len(variants)} models x {len(splits)} trainings (the split and {len(folds)} folds), {jobs} at a time ...")
    results: Dict[str, Dict[str, Any]] = {v.name: {"test": {}, "folds": [], "overrides": v.overrides} for v in variants}
    # Native thread pools read these at start-up, so set them before the workers start.
    saved_env = {name: os.environ.get(name) for name in ONE_THREAD}
    os.environ.update(ONE_THREAD)
    try:
        with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=get_context("spawn")) as pool:
            futures = [
                pool.submit(_train_and_test, config_path, split, training_dir / variant.slug / name, variant.overrides)
                for variant, name, split in tasks
            ]
            for (variant, name, _), future in zip(tasks, futures):
                metrics = future.result()
                if name == "split":
                    results[variant.name]["test"] = metrics
                else:
                    results[variant.name]["folds"].append(metrics)
                msg.good(f"{variant.name}, {name}: F1 {metrics['f1']:.3f}, AUC {metrics['roc_auc']:.4f}")
    finally:
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    header, rows = model_rows(results, len(folds))
    msg.table(rows, header=header, divider=True)
    note = (
        f"\nEach row is {config_path.name} with only the named setting changed, keeping the "
        "checkpoint with the best dev score. Test: the duplicate-aware 70/15/15 split; "
        f"{len(folds)}-fold: the duplicate-aware folds (mean ± sd). Epoch: the epoch of the kept model (model-best) on "
        "the split, and its mean over the folds. Train s: the split's training, one thread.\n"
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(markdown_table(header, rows) + note, encoding="utf8")
    msg.good(f"Saved {output}")
    if json_output is not None:
        json_output.parent.mkdir(parents=True, exist_ok=True)
        json_output.write_text(json.dumps(results, indent=2), encoding="utf8")
        msg.good(f"Saved {json_output}")


def model_rows(results: Dict[str, Dict[str, Any]], n_folds: int):
    """The table: test F1/AUC, the folds' F1/AUC mean ± sd, kept epoch and training seconds."""
    header = ("model", "test F1", "test AUC", f"{n_folds}-fold F1", f"{n_folds}-fold AUC", "epoch (split / folds)", "train s")
    rows = []
    for name, result in results.items():
        test, folds = result["test"], result["folds"]
        f1_mean, f1_sd = mean_and_sd([m["f1"] for m in folds]) if folds else (float("nan"), 0.0)
        auc_mean, auc_sd = mean_and_sd([m["roc_auc"] for m in folds]) if folds else (float("nan"), 0.0)
        fold_epochs = [m["best_epoch"] for m in folds if "best_epoch" in m]
        epochs = f"{test.get('best_epoch', '–')} / {sum(fold_epochs) / len(fold_epochs):.1f}" if fold_epochs else f"{test.get('best_epoch', '–')}"
        rows.append(
            (
                name,
                f"{test['f1']:.3f}",
                f"{test['roc_auc']:.4f}",
                f"{f1_mean:.3f} ± {f1_sd:.3f}",
                f"{auc_mean:.4f} ± {auc_sd:.4f}",
                epochs,
                f"{test['train_seconds']:.1f}",
            )
        )
    return header, rows
