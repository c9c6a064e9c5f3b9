"""`benchmark-spam-bilstm`: the perceptron, spaCy's TextCatBOW and the BiLSTM classifier with
each pooling, on the same split and folds, in one run.

    python -m scripts benchmark-spam-bilstm configs/spam.cfg configs/spam_textcatbow.cfg \\
        configs/spam_bilstm.cfg corpus/spam --output metrics/spam_bilstm_benchmark.md
"""
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import torch
import typer
from wasabi import msg

from ._app import app
from spacy_ru_nn.textcat.bilstm import POOLINGS
from ._spam_training import fold_dirs, measure_speeds, train_and_score_spacy, write_benchmark


@app.command("benchmark-spam-bilstm")
def benchmark_spam_bilstm(
    config_path: Path = typer.Argument(
        ..., help="nn_textcat perceptron config, configs/spam.cfg", exists=True, dir_okay=False
    ),
    baseline_config: Path = typer.Argument(
        ..., help="spaCy textcat config, configs/spam_textcatbow.cfg", exists=True, dir_okay=False
    ),
    bilstm_config: Path = typer.Argument(
        ..., help="BiLSTM config, configs/spam_bilstm.cfg", exists=True, dir_okay=False
    ),
    corpus_dir: Path = typer.Argument(
        ..., help="corpus/spam: train/dev/test.spacy and folds/", exists=True, file_okay=False
    ),
    poolings: List[str] = typer.Option(list(POOLINGS), "--pooling", help="BiLSTM pooling to train (repeatable); all four by default"),
    n_folds: Optional[int] = typer.Option(None, "--n-folds", help="Use only the first N folds (0: test split only); all by default"),
    training_dir: Path = typer.Option(Path("training/spam_bilstm_benchmark"), help="Where the trained models go"),
    output: Path = typer.Option(Path("metrics/spam_bilstm_benchmark.md"), "--output", "-o", help="Markdown table"),
    json_output: Optional[Path] = typer.Option(None, "--json", help="All numbers as JSON"),
) -> None:
    """One table, one run: the perceptron, spaCy TextCatBOW and the BiLSTM with each pooling on
    the same split (test F1/AUC/MCC, training seconds, messages/s) and the same folds."""
    for pooling in poolings:
        if pooling not in POOLINGS:
            msg.fail(f"--pooling must be one of {POOLINGS}, got {pooling!r}", exits=1)
    torch.set_num_threads(1)
    folds = fold_dirs(corpus_dir / "folds") if n_folds != 0 else []
    if n_folds:
        folds = folds[:n_folds]
    runs: List[Tuple[str, Path, Dict[str, Any], str]] = [
        ("nn_textcat (BoWPerceptron)", config_path, {}, config_path.stem),
        ("spaCy textcat (TextCatBOW.v3)", baseline_config, {}, baseline_config.stem),
    ]
    runs += [
        (f"nn_textcat (BiLSTM, {pooling} pooling)", bilstm_config, {"components.textcat.model.pooling": pooling}, f"{bilstm_config.stem}_{pooling}")
        for pooling in poolings
    ]
    systems: Dict[str, Dict[str, Any]] = {}
    pipelines = {}
    for name, config, overrides, slug in runs:
        msg.text(f"Training {name} on the split and {len(folds)} folds ...")
        pipelines[name], texts, systems[name] = train_and_score_spacy(config, corpus_dir, folds, training_dir / slug, overrides)
        test = systems[name]["test"]
        msg.good(f"{name}: test F1 {test['f1']:.3f}, AUC {test['roc_auc']:.4f}, {test['train_seconds']:.1f} s")
    measure_speeds(systems, pipelines, texts)
    note = (
        f"Test: the duplicate-aware 70/15/15 split; {len(folds)}-fold: the duplicate-aware folds "
        "(mean ± sd). Every system early-stops on dev. msgs/s: `nlp.pipe` on raw texts "
        "(tokenization included), one torch thread, every system timed in turns, best of 5."
    )
    write_benchmark(systems, len(folds), note, output, json_output)
