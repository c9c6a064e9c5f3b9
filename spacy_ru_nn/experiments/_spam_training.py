"""Training and scoring spaCy spam pipelines for the spam experiments: the same steps for every
system of a benchmark and every fold of a cross-validation."""
import contextlib
import io
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import spacy
from spacy.language import Language
from wasabi import msg

from ..spam_metrics import binary_metrics, mean_and_sd, read_gold, spacy_spam_scores, spam_threshold, throughput


def fold_dirs(folds_dir: Path) -> List[Path]:
    """The fold*/ folders that `convert sms --folds` wrote, in fold order; exits if there are none."""
    folds = sorted((p for p in folds_dir.glob("fold*") if p.is_dir()), key=lambda p: int(p.name[4:]))
    if not folds:
        msg.fail(f"No fold*/ folders in {folds_dir}; run `convert sms` with --folds", exits=1)
    return folds


@contextlib.contextmanager
def _quiet(enabled: bool) -> Iterator[io.StringIO]:
    sink = io.StringIO()
    if not enabled:
        yield sink
        return
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        yield sink


def train_spacy(
    config_path: Path,
    corpus_dir: Path,
    output_dir: Path,
    *,
    quiet: bool = False,
    overrides: Optional[Dict[str, Any]] = None,
) -> Tuple[Language, float]:
    """`spacy train` on corpus_dir/{train,dev}.spacy, with optional config overrides; returns
    model-best and the seconds spent in initialize + training (dev evaluations included)."""
    from spacy.training.initialize import init_nlp
    from spacy.training.loop import train as train_nlp

    overrides = {
        "paths.train": str(corpus_dir / "train.spacy"),
        "paths.dev": str(corpus_dir / "dev.spacy"),
        **(overrides or {}),
    }
    config = spacy.util.load_config(config_path, overrides=overrides, interpolate=False)
    output_dir.mkdir(parents=True, exist_ok=True)
    with _quiet(quiet) as log:
        start = time.perf_counter()
        nlp = init_nlp(config, use_gpu=-1)
        train_nlp(nlp, output_dir, use_gpu=-1, stdout=log if quiet else None, stderr=log if quiet else None)
        seconds = time.perf_counter() - start
    return spacy.load(output_dir / "model-best"), seconds


def train_and_test_spacy(
    config_path: Path, split_dir: Path, output_dir: Path, overrides: Optional[Dict[str, Any]] = None
) -> Tuple[Language, List[str], Dict[str, Any]]:
    """Train quietly on split_dir/{train,dev}.spacy and score split_dir/test.spacy: the pipeline,
    the test texts and the metrics, with the training seconds."""
    nlp, seconds = train_spacy(config_path, split_dir, output_dir, quiet=True, overrides=overrides)
    texts, y_true = read_gold(split_dir / "test.spacy", nlp)
    metrics = binary_metrics(y_true, spacy_spam_scores(nlp, texts), spam_threshold(nlp))
    metrics["train_seconds"] = seconds
    return nlp, texts, metrics


def train_and_score_spacy(
    config_path: Path,
    corpus_dir: Path,
    folds: Sequence[Path],
    output_dir: Path,
    overrides: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]:
    """Train a spaCy spam pipeline on the split and on each fold; its test metrics (with
    messages/s) and each fold's metrics, the same for every system of a benchmark."""
    nlp, texts, test = train_and_test_spacy(config_path, corpus_dir, output_dir / "split", overrides)
    test["messages_per_second"] = throughput(lambda batch: spacy_spam_scores(nlp, batch), texts)
    folds_metrics = [train_and_test_spacy(config_path, fold, output_dir / fold.name, overrides)[2] for fold in folds]
    return {"test": test, "folds": folds_metrics}


def benchmark_rows(systems: Dict[str, Dict[str, Any]], n_folds: int) -> Tuple[Tuple[str, ...], List[Tuple[str, ...]]]:
    """The spam benchmarks' table: one row per system with its test scores, the folds' mean ±
    sd (when there are folds), its training seconds and messages/s."""
    header: Tuple[str, ...] = ("system", "test F1", "test AUC", "test MCC")
    if n_folds:
        header += (f"{n_folds}-fold F1", f"{n_folds}-fold AUC")
    header += ("train s", "msgs/s")
    rows = []
    for name, result in systems.items():
        test = result["test"]
        row: Tuple[str, ...] = (name, f"{test['f1']:.3f}", f"{test['roc_auc']:.4f}", f"{test['mcc']:.3f}")
        if n_folds:
            f1_mean, f1_sd = mean_and_sd([m["f1"] for m in result["folds"]])
            auc_mean, auc_sd = mean_and_sd([m["roc_auc"] for m in result["folds"]])
            row += (f"{f1_mean:.3f} ± {f1_sd:.3f}", f"{auc_mean:.4f} ± {auc_sd:.4f}")
        row += (f"{test['train_seconds']:.2f}", f"{test['messages_per_second']:,.0f}")
        rows.append(row)
    return header, rows
