"""Training and scoring spaCy spam pipelines for the spam experiments: the same steps for every
system of a benchmark and every fold of a cross-validation."""
import contextlib
import io
import json
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import spacy
from spacy.language import Language
from spacy.util import minibatch
from wasabi import msg

from spacy_ru_nn.corpora.sms import POSITIVE_LABEL
from spacy_ru_nn.spam_metrics import (
    binary_metrics,
    interleaved_throughput,
    read_gold,
    spacy_spam_scores,
    spam_threshold,
)
from .training_log import best_evaluation, fresh_log_path, read_training_log

# The logger that writes the JSONL log plot-training and the epoch counts read.
JSONL_LOGGER = "spacy.ConsoleLogger.v3"
# The speed ceiling of any spaCy text classifier: the same nlp.pipe with no component run.
TOKENIZER_ONLY = "spaCy tokenizer only (no model)"
# The ceiling of a component that reads docs in batches, as spaCy's trainable pipes do: the
# docs of a batch are all alive at once, and holding them costs time of its own.
TOKENIZER_BATCHED = "spaCy tokenizer, docs held in batches (no model)"
# Docs per nlp.pipe batch in every speed measurement (spaCy's default nlp.batch_size).
SPEED_BATCH_SIZE = 1000
from spacy_ru_nn.tables import markdown_table
from ._stats import mean_sd


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
    model-best and the seconds spent in initialize + training (dev evaluations included).
    With spacy.ConsoleLogger.v3 the evaluations are logged to output_dir/train_log.jsonl."""
    from spacy.training.initialize import init_nlp
    from spacy.training.loop import train as train_nlp

    overrides = {
        "paths.train": str(corpus_dir / "train.spacy"),
        "paths.dev": str(corpus_dir / "dev.spacy"),
        **(overrides or {}),
    }
    output_dir.mkdir(parents=True, exist_ok=True)
    config = spacy.util.load_config(config_path, overrides=overrides, interpolate=False)
    if config["training"]["logger"].get("@loggers") == JSONL_LOGGER:
        overrides["training.logger.output_file"] = str(fresh_log_path(output_dir))
        config = spacy.util.load_config(config_path, overrides=overrides, interpolate=False)
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
    the test texts and the metrics, with the training seconds and, where the training was
    logged, the step and the (1-based) epoch of model-best."""
    nlp, seconds = train_spacy(config_path, split_dir, output_dir, quiet=True, overrides=overrides)
    texts, y_true = read_gold(split_dir / "test.spacy", nlp)
    metrics = binary_metrics(y_true, spacy_spam_scores(nlp, texts), spam_threshold(nlp))
    metrics["train_seconds"] = seconds
    log_path = output_dir / "train_log.jsonl"
    if log_path.exists():
        best = best_evaluation(read_training_log(log_path))
        metrics["best_step"] = best.step
        metrics["best_epoch"] = best.epoch + 1
    return nlp, texts, metrics


def train_and_score_spacy(
    config_path: Path,
    corpus_dir: Path,
    folds: Sequence[Path],
    output_dir: Path,
    overrides: Optional[Dict[str, Any]] = None,
) -> Tuple[Language, List[str], Dict[str, Any]]:
    """Train a spaCy spam pipeline on the split and on each fold: the split's pipeline and test
    texts (for timing), and its test metrics and each fold's, the same for every system of a
    benchmark."""
    nlp, texts, test = train_and_test_spacy(config_path, corpus_dir, output_dir / "split", overrides)
    folds_metrics = [train_and_test_spacy(config_path, fold, output_dir / fold.name, overrides)[2] for fold in folds]
    return nlp, texts, {"test": test, "folds": folds_metrics}


def measure_speeds(
    systems: Dict[str, Dict[str, Any]],
    pipelines: Dict[str, Language],
    texts: Sequence[str],
    others: Optional[Dict[str, Callable[[Sequence[str]], Any]]] = None,
) -> None:
    """Time every system on the same texts in turns and store its msgs/s in its test metrics;
    the first pipeline also runs with its components disabled, as the tokenizer-only row, and
    with the docs held in batches as a component would hold them (see TOKENIZER_BATCHED)."""
    predictors: Dict[str, Callable[[Sequence[str]], Any]] = {
        name: (lambda batch, nlp=nlp: spacy_spam_scores(nlp, batch, SPEED_BATCH_SIZE)) for name, nlp in pipelines.items()
    }
    tokenizer = next(iter(pipelines.values()))

    def tokenize(batch: Sequence[str]) -> Iterator[Any]:
        return tokenizer.pipe(batch, batch_size=SPEED_BATCH_SIZE, disable=tokenizer.pipe_names)

    predictors[TOKENIZER_ONLY] = lambda batch: [doc.cats.get(POSITIVE_LABEL, 0.0) for doc in tokenize(batch)]
    predictors[TOKENIZER_BATCHED] = lambda batch: [
        doc.cats.get(POSITIVE_LABEL, 0.0) for docs in minibatch(tokenize(batch), SPEED_BATCH_SIZE) for doc in docs
    ]
    predictors.update(others or {})
    for name, speed in interleaved_throughput(predictors, texts).items():
        systems.setdefault(name, {"test": {}, "folds": []})["test"]["messages_per_second"] = speed


def speed_ratios(systems: Dict[str, Dict[str, Any]], system: str, others: Sequence[str]) -> Dict[str, float]:
    """msgs/s of `system` divided by that of each of `others` (measured in the same turns)."""
    speed = systems[system]["test"]["messages_per_second"]
    return {other: speed / systems[other]["test"]["messages_per_second"] for other in others}


def write_benchmark(
    systems: Dict[str, Dict[str, Any]], n_folds: int, note: str, output: Path, json_output: Optional[Path]
) -> None:
    """Print the spam benchmarks' table and write it as Markdown, with a note on how it was
    measured, and every number as JSON."""
    header, rows = benchmark_rows(systems, n_folds)
    msg.table(rows, header=header, divider=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(markdown_table(header, rows) + "\n" + note + "\n", encoding="utf8")
    msg.good(f"Saved {output}")
    if json_output is not None:
        json_output.parent.mkdir(parents=True, exist_ok=True)
        json_output.write_text(json.dumps(systems, indent=2), encoding="utf8")
        msg.good(f"Saved {json_output}")


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
        if "f1" not in test:
            # A speed-only row, such as the tokenizer alone.
            row: Tuple[str, ...] = (name, *["–"] * (len(header) - 2), f"{test['messages_per_second']:,.0f}")
            rows.append(row)
            continue
        row = (name, f"{test['f1']:.3f}", f"{test['roc_auc']:.4f}", f"{test['mcc']:.3f}")
        if n_folds:
            row += (mean_sd([m["f1"] for m in result["folds"]]), mean_sd([m["roc_auc"] for m in result["folds"]], ".4f"))
        row += (f"{test['train_seconds']:.2f}", f"{test['messages_per_second']:,.0f}")
        rows.append(row)
    return header, rows
