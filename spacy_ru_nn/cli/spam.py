"""Spam commands: SMS conversion, evaluation, cross-validation, benchmark and metric floors.

    python -m spacy_ru_nn convert sms assets/sms_spam/SMSSpamCollection corpus/spam
    python -m spacy_ru_nn evaluate-spam training/spam/model-best corpus/spam/test.spacy -o metrics/spam.json
    python -m spacy_ru_nn cv-spam configs/spam.cfg corpus/spam/folds -o metrics/spam_cv.json
    python -m spacy_ru_nn benchmark-spam configs/spam.cfg configs/spam_textcatbow.cfg corpus/spam
    python -m spacy_ru_nn check-metrics metrics/spam.json --min f1=0.9 --min roc_auc=0.97
"""
import contextlib
import io
import json
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy
import spacy
import typer
from spacy.language import Language
from spacy.tokens import DocBin
from spacy.training import Example
from wasabi import msg

from ..components.textcat import BoWTextCategorizer
from ..corpora.sms import (
    POSITIVE_LABEL,
    MalformedLineError,
    cross_validation_splits,
    describe,
    leaked_texts,
    messages_to_docbin,
    read_sms_tsv,
    split_groups,
)
from ..spam_metrics import binary_metrics, mean_and_sd, plot_curves
from ._app import app, convert_app
from ._tables import markdown_table

SPLITS = ("train", "dev", "test")


@convert_app.command("sms")
def convert_sms(
    source: Path = typer.Argument(
        ..., help="SMS Spam Collection TSV: label<TAB>text, no header", exists=True, dir_okay=False
    ),
    output_dir: Path = typer.Argument(..., help="Where train/dev/test.spacy and folds/ go"),
    lang: str = typer.Option("en", help="Language of the blank tokenizer"),
    seed: int = typer.Option(0, help="Seed of the stratified group shuffle"),
    n_folds: int = typer.Option(5, "--folds", help="Cross-validation folds written to OUTPUT_DIR/folds (0: none)"),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Skip malformed lines (counted) instead of stopping"),
) -> None:
    """Split 70/15/15 by groups of identical texts (stratified, seeded) and write DocBins."""
    try:
        messages, n_skipped = read_sms_tsv(source, skip_bad=skip_bad)
    except MalformedLineError as err:
        msg.fail("Cannot convert the SMS collection", str(err), exits=1)
    except OSError as err:
        msg.fail(f"Cannot read {source}", str(err), exits=1)
    if n_skipped:
        msg.warn(f"Skipped {n_skipped} malformed line(s) of {source}")
    if not messages:
        msg.fail(f"No messages in {source}", exits=1)
    total = describe(messages)
    msg.info(
        f"{source}: {total['messages']} messages, {total['distinct']} distinct texts "
        f"({total['messages'] - total['distinct']} duplicates kept with their group)"
    )
    nlp = spacy.blank(lang)
    parts = dict(zip(SPLITS, split_groups(messages, (0.7, 0.15, 0.15), seed=seed)))
    _write_split(nlp, parts, output_dir)
    for held_out in ("dev", "test"):
        if leaked_texts(parts["train"], parts[held_out]):
            msg.fail(f"Texts shared by train and {held_out}: the group split is broken", exits=1)
    if n_folds:
        for k, (train, dev, test) in enumerate(
            cross_validation_splits(messages, n_folds, seed=seed)
        ):
            msg.divider(f"fold {k}")
            _write_split(nlp, {"train": train, "dev": dev, "test": test}, output_dir / "folds" / f"fold{k}")


def _write_split(nlp: Language, parts: Dict[str, Sequence], output_dir: Path) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, part in parts.items():
        path = output_dir / f"{name}.spacy"
        messages_to_docbin(nlp, part).to_disk(path)
        counts = describe(part)
        rows.append((name, counts["messages"], counts["distinct"], counts["ham"], counts["spam"], str(path)))
    msg.table(rows, header=("split", "messages", "distinct", "ham", "spam", "file"), divider=True)


# --- scoring spaCy pipelines and the sklearn baselines --------------------------------


def read_gold(path: Path, nlp: Language) -> Tuple[List[str], numpy.ndarray]:
    """Texts and 0/1 spam labels of a converted split."""
    docs = list(DocBin().from_disk(path).get_docs(nlp.vocab))
    return [doc.text for doc in docs], numpy.asarray([doc.cats.get(POSITIVE_LABEL, 0.0) >= 0.5 for doc in docs], dtype="int64")


def spam_threshold(nlp: Language) -> float:
    """The decision threshold of the pipeline's spam classifier.

    nn_textcat keeps its own (`threshold` in its cfg); spaCy's exclusive textcat takes
    the argmax, which for two labels is p(spam) >= 0.5.
    """
    for _, pipe in nlp.pipeline:
        if isinstance(pipe, BoWTextCategorizer) and POSITIVE_LABEL in pipe.labels:
            return float(pipe.cfg["threshold"])
    return 0.5


def spacy_spam_scores(nlp: Language, texts: Sequence[str], batch_size: int = 1000) -> numpy.ndarray:
    """p(spam) for each text through `nlp.pipe`."""
    return numpy.asarray([doc.cats[POSITIVE_LABEL] for doc in nlp.pipe(texts, batch_size=batch_size)])


def throughput(
    predict: Callable[[Sequence[str]], Any],
    texts: Sequence[str],
    min_messages: int = 20000,
    repeats: int = 3,
) -> float:
    """Messages per second of `predict` over `texts` repeated to at least min_messages;
    the best of `repeats` runs, as timeit does, since slower runs measure interference."""
    repeated = list(texts) * max(1, -(-min_messages // max(len(texts), 1)))
    predict(repeated[:500])  # warm-up: lazy allocations, caches
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        predict(repeated)
        best = min(best, time.perf_counter() - start)
    return len(repeated) / best


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


def _set_torch_threads(n_threads: int) -> None:
    import torch

    torch.set_num_threads(n_threads)


@app.command("evaluate-spam")
def evaluate_spam(
    model: str = typer.Argument(..., help="Pipeline name or path"),
    data_path: Path = typer.Argument(
        ..., help="Converted split, e.g. corpus/spam/test.spacy", exists=True, dir_okay=False
    ),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Metrics JSON"),
    plots_dir: Optional[Path] = typer.Option(None, "--plots", help="Folder for ROC, PR and confusion PNGs"),
    threshold: Optional[float] = typer.Option(None, help="Override the component's threshold"),
) -> None:
    """Accuracy, P/R/F1, ROC AUC, MCC and confusion matrix for spam, plus spaCy's scores."""
    _set_torch_threads(1)
    nlp = spacy.load(model)
    texts, y_true = read_gold(data_path, nlp)
    threshold = spam_threshold(nlp) if threshold is None else threshold
    scores = spacy_spam_scores(nlp, texts)
    result = binary_metrics(y_true, scores, threshold)
    gold_docs = DocBin().from_disk(data_path).get_docs(nlp.vocab)
    examples = [Example(doc, gold) for doc, gold in zip(nlp.pipe(texts), gold_docs)]
    result["spacy"] = {k: v for k, v in nlp.evaluate(examples).items() if k.startswith("cats_")}
    result["messages_per_second"] = throughput(lambda batch: spacy_spam_scores(nlp, batch), texts)
    _print_binary(result)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(result, indent=2), encoding="utf8")
        msg.good(f"Saved metrics to {output}")
    if plots_dir is not None:
        for path in plot_curves(y_true, scores, plots_dir, threshold=threshold):
            msg.good(f"Saved {path}")


def _print_binary(result: Dict[str, Any]) -> None:
    keys = ("accuracy", "precision", "recall", "f1", "mcc", "roc_auc", "average_precision")
    msg.table([(key, f"{result[key]:.4f}") for key in keys], header=("metric (spam)", "value"), divider=True)
    (tn, fp), (fn, tp) = result["confusion_matrix"]
    msg.table([("gold ham", tn, fp), ("gold spam", fn, tp)], header=("", "pred ham", "pred spam"), divider=True)
    if "messages_per_second" in result:
        msg.info(f"{result['n']} messages, threshold {result['threshold']:g}, {result['messages_per_second']:.0f} messages/s through nlp.pipe")


def _fold_dirs(folds_dir: Path) -> List[Path]:
    folds = sorted((p for p in folds_dir.glob("fold*") if p.is_dir()), key=lambda p: int(p.name[4:]))
    if not folds:
        msg.fail(f"No fold*/ folders in {folds_dir}; run `convert sms` with --folds", exits=1)
    return folds


@app.command("cv-spam")
def cv_spam(
    config_path: Path = typer.Argument(..., help="Training config, e.g. configs/spam.cfg", exists=True, dir_okay=False),
    folds_dir: Path = typer.Argument(..., help="corpus/spam/folds from `convert sms`", exists=True, file_okay=False),
    training_dir: Path = typer.Option(Path("training/spam_cv"), help="Where each fold's model goes"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Per-fold and mean metrics JSON"),
) -> None:
    """k-fold cross-validation on duplicate-aware folds: train, early-stop on the fold's dev
    slice, score the held-out fold."""
    _set_torch_threads(1)
    per_fold = []
    for fold in _fold_dirs(folds_dir):
        _, _, metrics = train_and_test_spacy(config_path, fold, training_dir / fold.name)
        per_fold.append(metrics)
        msg.good(
            f"{fold.name}: F1 {metrics['f1']:.4f}  AUC {metrics['roc_auc']:.4f}  MCC {metrics['mcc']:.4f}  "
            f"({metrics['train_seconds']:.1f} s)"
        )
    summary = {key: dict(zip(("mean", "sd"), mean_and_sd([m[key] for m in per_fold]))) for key in ("f1", "roc_auc", "mcc", "precision", "recall", "accuracy")}
    msg.table(
        [(key, f"{value['mean']:.4f} ± {value['sd']:.4f}") for key, value in summary.items()],
        header=(f"{len(per_fold)}-fold", "mean ± sd"),
        divider=True,
    )
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps({"summary": summary, "folds": per_fold}, indent=2), encoding="utf8")
        msg.good(f"Saved metrics to {output}")


def _sklearn_systems() -> Dict[str, Callable[[], Any]]:
    try:
        from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
        from sklearn.naive_bayes import MultinomialNB
        from sklearn.pipeline import make_pipeline
        from sklearn.svm import LinearSVC
    except ImportError as err:
        raise ImportError("The benchmark needs scikit-learn: pip install 'spacy-ru-nn[benchmark]'") from err
    return {
        "sklearn CountVectorizer + MultinomialNB": lambda: make_pipeline(CountVectorizer(), MultinomialNB()),
        "sklearn TF-IDF + LinearSVC": lambda: make_pipeline(TfidfVectorizer(), LinearSVC(random_state=0)),
    }


def _sklearn_scores(pipeline: Any, texts: Sequence[str]) -> numpy.ndarray:
    # NB has calibrated-ish probabilities; the SVM's margin ranks just as well for AUC.
    if hasattr(pipeline, "predict_proba"):
        return pipeline.predict_proba(texts)[:, 1]
    return pipeline.decision_function(texts)


def _run_sklearn(make: Callable[[], Any], split_dir: Path, nlp: Language) -> Tuple[Dict[str, Any], Any, List[str]]:
    texts, y = read_gold(split_dir / "train.spacy", nlp)
    test_texts, y_test = read_gold(split_dir / "test.spacy", nlp)
    pipeline = make()
    start = time.perf_counter()
    pipeline.fit(texts, y)
    seconds = time.perf_counter() - start
    scores = _sklearn_scores(pipeline, test_texts)
    # Threshold 0.5 on NB's probability, 0.0 on the SVM's margin: their predict().
    threshold = 0.5 if hasattr(pipeline, "predict_proba") else 0.0
    metrics = binary_metrics(y_test, scores, threshold)
    metrics["train_seconds"] = seconds
    return metrics, pipeline, test_texts


@app.command("benchmark-spam")
def benchmark_spam(
    config_path: Path = typer.Argument(..., help="nn_textcat config, configs/spam.cfg", exists=True, dir_okay=False),
    baseline_config: Path = typer.Argument(
        ..., help="spaCy textcat config, configs/spam_textcatbow.cfg", exists=True, dir_okay=False
    ),
    corpus_dir: Path = typer.Argument(
        ..., help="corpus/spam: train/dev/test.spacy and folds/", exists=True, file_okay=False
    ),
    training_dir: Path = typer.Option(Path("training/spam_benchmark"), help="Where the trained models go"),
    output: Path = typer.Option(Path("metrics/spam_benchmark.md"), "--output", "-o", help="Markdown table"),
    json_output: Optional[Path] = typer.Option(None, "--json", help="All numbers as JSON"),
) -> None:
    """One table, one run: nn_textcat, spaCy TextCatBOW and two sklearn baselines on the same
    split (test F1/AUC/MCC, training seconds, messages/s) and the same folds (F1 mean ± sd)."""
    _set_torch_threads(1)
    blank = spacy.blank("en")
    folds = _fold_dirs(corpus_dir / "folds")
    systems: Dict[str, Dict[str, Any]] = {}
    for name, config in (("nn_textcat (BoWPerceptron)", config_path), ("spaCy textcat (TextCatBOW.v3)", baseline_config)):
        msg.text(f"Training {name} on the split and {len(folds)} folds ...")
        systems[name] = train_and_score_spacy(config, corpus_dir, folds, training_dir / config.stem)
    for name, make in _sklearn_systems().items():
        msg.text(f"Fitting {name} ...")
        test, pipeline, texts = _run_sklearn(make, corpus_dir, blank)
        test["messages_per_second"] = throughput(lambda batch: _sklearn_scores(pipeline, batch), texts)
        systems[name] = {"test": test, "folds": [_run_sklearn(make, fold, blank)[0] for fold in folds]}
    header, rows = _benchmark_rows(systems)
    msg.table(rows, header=header, divider=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(_markdown_table(header, rows, n_folds=len(folds)), encoding="utf8")
    msg.good(f"Saved {output}")
    if json_output is not None:
        json_output.write_text(json.dumps(systems, indent=2), encoding="utf8")
        msg.good(f"Saved {json_output}")


def _benchmark_rows(systems: Dict[str, Dict[str, Any]]) -> Tuple[Tuple[str, ...], List[Tuple[str, ...]]]:
    n_folds = len(next(iter(systems.values()))["folds"])
    header = ("system", "test F1", "test AUC", "test MCC", f"{n_folds}-fold F1", f"{n_folds}-fold AUC", "train s", "msgs/s")
    rows = []
    for name, result in systems.items():
        test = result["test"]
        f1_mean, f1_sd = mean_and_sd([m["f1"] for m in result["folds"]])
        auc_mean, auc_sd = mean_and_sd([m["roc_auc"] for m in result["folds"]])
        rows.append(
            (
                name,
                f"{test['f1']:.3f}",
                f"{test['roc_auc']:.4f}",
                f"{test['mcc']:.3f}",
                f"{f1_mean:.3f} ± {f1_sd:.3f}",
                f"{auc_mean:.4f} ± {auc_sd:.4f}",
                f"{test['train_seconds']:.2f}",
                f"{test['messages_per_second']:,.0f}",
            )
        )
    return header, rows


def _markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]], n_folds: int) -> str:
    note = (
        f"\nTest: the duplicate-aware 70/15/15 split; {n_folds}-fold: the duplicate-aware folds "
        "(mean ± sd). spaCy pipelines early-stop on dev; sklearn fits the same train part. "
        "msgs/s: `nlp.pipe` on raw texts (tokenization included) or sklearn vectorize + "
        "predict, one thread.\n"
    )
    return markdown_table(header, rows) + note


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
