"""Scoring a spam pipeline: gold labels and scores of a converted split, binary metrics, speed
and plots.

spaCy's scorer gives P/R/F and ROC AUC per label; a spam filter is also judged by its
confusion matrix, MCC (which, unlike accuracy, is not flattered by 87% ham) and the ROC and
precision-recall curves. They come from `sklearn.metrics`, imported when first needed:
scikit-learn is a dependency of the evaluation commands, not of the pipelines, which load
without it.
"""
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Tuple

import numpy
from spacy.language import Language
from spacy.tokens import DocBin

from .textcat.component import BoWTextCategorizer
from .corpora.sms import POSITIVE_LABEL


def read_gold(path: Path, nlp: Language) -> Tuple[List[str], numpy.ndarray]:
    """Texts and 0/1 spam labels of a converted split."""
    docs = list(DocBin().from_disk(path).get_docs(nlp.vocab))
    labels = [doc.cats.get(POSITIVE_LABEL, 0.0) >= 0.5 for doc in docs]
    return [doc.text for doc in docs], numpy.asarray(labels, dtype="int64")


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
    return interleaved_throughput({"": predict}, texts, min_messages, repeats)[""]


def interleaved_throughput(
    predictors: Dict[str, Callable[[Sequence[str]], Any]],
    texts: Sequence[str],
    min_messages: int = 20000,
    repeats: int = 5,
) -> Dict[str, float]:
    """Messages per second of each predictor, timed in turns (A, B, C, A, B, C, ...) so that
    a slow patch of a shared machine hits every system alike; the best of `repeats` turns
    each, as timeit does, since slower runs measure interference."""
    repeated = list(texts) * max(1, -(-min_messages // max(len(texts), 1)))
    for predict in predictors.values():
        predict(repeated[:500])  # warm-up: lazy allocations, caches
    best = {name: float("inf") for name in predictors}
    for _ in range(repeats):
        for name, predict in predictors.items():
            start = time.perf_counter()
            predict(repeated)
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: len(repeated) / seconds for name, seconds in best.items()}


def sklearn_metrics() -> Any:
    """`sklearn.metrics`, or an ImportError that says how to install it."""
    try:
        from sklearn import metrics
    except ImportError as err:
        raise ImportError(
            "The spam metrics come from scikit-learn, which is not installed: "
            "pip install scikit-learn (or spacy-ru-nn[project])"
        ) from err
    return metrics


def binary_metrics(
    y_true: Sequence[int], scores: Sequence[float], threshold: float = 0.5
) -> Dict[str, Any]:
    """All the numbers reported for a binary classifier on one test set.

    y_true (Sequence[int]): 1 for the positive class (spam), 0 otherwise.
    scores (Sequence[float]): Positive-class scores; higher means more positive.
    threshold (float): Predict positive when score >= threshold.
    RETURNS (Dict[str, Any]): accuracy, precision, recall, f1, mcc, roc_auc,
        average_precision, counts and the confusion matrix [[tn, fp], [fn, tp]].
    """
    metrics = sklearn_metrics()
    truth = numpy.asarray(y_true, dtype="int64")
    values = numpy.asarray(scores, dtype="float64")
    if len(set(truth.tolist())) < 2:
        # scikit-learn would warn and give NaN, which is not JSON.
        raise ValueError("ROC AUC needs at least one positive and one negative example")
    predicted = (values >= threshold).astype("int64")
    (tn, fp), (fn, tp) = metrics.confusion_matrix(truth, predicted, labels=[0, 1]).tolist()
    precision, recall, f1, _ = metrics.precision_recall_fscore_support(
        truth, predicted, average="binary", zero_division=0.0
    )
    return {
        "n": len(values),
        "threshold": threshold,
        "accuracy": float(metrics.accuracy_score(truth, predicted)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "mcc": float(metrics.matthews_corrcoef(truth, predicted)),
        "roc_auc": float(metrics.roc_auc_score(truth, values)),
        "average_precision": float(metrics.average_precision_score(truth, values)),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "confusion_matrix": [[tn, fp], [fn, tp]],
    }


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend, or an ImportError that says how to install it."""
    try:
        import matplotlib
    except ImportError as err:
        raise ImportError("Plots need matplotlib: pip install 'spacy-ru-nn[plots]'") from err
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curves(
    y_true: Sequence[int],
    scores: Sequence[float],
    output_dir: Path,
    *,
    prefix: str = "spam",
    threshold: float = 0.5,
    labels: Tuple[str, str] = ("ham", "spam"),
) -> List[Path]:
    """Write ROC curve, precision-recall curve and confusion matrix PNGs (scikit-learn's
    displays), the precision-recall curve marked at the threshold.

    RETURNS (List[Path]): The written files.
    """
    plt = pyplot()
    metrics = sklearn_metrics()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    values = numpy.asarray(scores, dtype="float64")
    at_threshold = binary_metrics(y_true, values, threshold)
    written = []

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    metrics.RocCurveDisplay.from_predictions(y_true, values, ax=ax, name=labels[1], plot_chance_level=True)
    ax.set(xlabel="False positive rate", ylabel="True positive rate", title="ROC curve")
    written.append(_save(plt, fig, output_dir / f"{prefix}_roc.png"))

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    metrics.PrecisionRecallDisplay.from_predictions(y_true, values, ax=ax, name=labels[1])
    ax.scatter(
        [at_threshold["recall"]], [at_threshold["precision"]], color="C3", zorder=3,
        label=f"threshold {threshold:g}",
    )
    ax.set(xlabel="Recall", ylabel="Precision", title="Precision-recall curve", ylim=(0.0, 1.02))
    ax.legend(loc="lower left")
    written.append(_save(plt, fig, output_dir / f"{prefix}_pr.png"))

    fig, ax = plt.subplots(figsize=(4, 3.6))
    metrics.ConfusionMatrixDisplay(
        numpy.asarray(at_threshold["confusion_matrix"]), display_labels=list(labels)
    ).plot(ax=ax, cmap="Blues", colorbar=False)
    ax.set(xlabel="Predicted", ylabel="Gold", title=f"Confusion matrix (p >= {threshold:g})")
    written.append(_save(plt, fig, output_dir / f"{prefix}_confusion.png"))
    return written


def _save(plt: Any, fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
