"""Scoring a spam pipeline: gold labels and scores of a converted split, binary metrics, speed
and plots.

spaCy's scorer gives P/R/F and ROC AUC per label; a spam filter is also judged by its
confusion matrix, MCC (which, unlike accuracy, is not flattered by 87% ham) and the
ROC / precision-recall curves. scikit-learn is only a benchmark extra, so the metrics
are computed here; matplotlib is imported only when a plot is drawn.
"""
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Tuple

import numpy
from spacy.language import Language
from spacy.tokens import DocBin

from .components.textcat import BoWTextCategorizer
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
    repeated = list(texts) * max(1, -(-min_messages // max(len(texts), 1)))
    predict(repeated[:500])  # warm-up: lazy allocations, caches
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        predict(repeated)
        best = min(best, time.perf_counter() - start)
    return len(repeated) / best


def confusion_counts(y_true: Sequence[int], y_pred: Sequence[int]) -> Dict[str, int]:
    """Counts of true/false positives/negatives for 0/1 labels (1 = positive)."""
    truth = numpy.asarray(y_true, dtype=bool)
    pred = numpy.asarray(y_pred, dtype=bool)
    return {
        "tp": int((truth & pred).sum()),
        "fp": int((~truth & pred).sum()),
        "fn": int((truth & ~pred).sum()),
        "tn": int((~truth & ~pred).sum()),
    }


def matthews_corrcoef(tp: int, fp: int, fn: int, tn: int) -> float:
    """MCC = (tp*tn - fp*fn) / sqrt((tp+fp)(tp+fn)(tn+fp)(tn+fn)); 0.0 when undefined."""
    denominator = float(tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)
    if denominator == 0.0:
        return 0.0
    return float(tp * tn - fp * fn) / denominator**0.5


def roc_auc(y_true: Sequence[int], scores: Sequence[float]) -> float:
    """Area under the ROC curve: the probability that a random positive outscores a
    random negative, ties counting one half (Mann-Whitney U with average ranks)."""
    truth = numpy.asarray(y_true, dtype=bool)
    n_pos = int(truth.sum())
    n_neg = len(truth) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ROC AUC needs at least one positive and one negative example")
    ranks = _average_ranks(numpy.asarray(scores, dtype="float64"))
    return float((ranks[truth].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _average_ranks(values: numpy.ndarray) -> numpy.ndarray:
    order = numpy.argsort(values, kind="mergesort")
    sorted_values = values[order]
    # Runs of equal values share the mean of the 1-based ranks they span.
    starts = numpy.flatnonzero(numpy.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = numpy.r_[starts[1:], len(values)]
    mean_ranks = (starts + 1 + ends) / 2.0
    ranks = numpy.empty(len(values), dtype="float64")
    ranks[order] = numpy.repeat(mean_ranks, ends - starts)
    return ranks


def _threshold_sweep(
    y_true: Sequence[int], scores: Sequence[float]
) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """Cumulative tp and fp when predicting positive for score >= each distinct threshold."""
    truth = numpy.asarray(y_true, dtype=bool)
    values = numpy.asarray(scores, dtype="float64")
    order = numpy.argsort(-values, kind="mergesort")
    values, truth = values[order], truth[order]
    last_of_run = numpy.r_[values[1:] != values[:-1], True]
    tps = numpy.cumsum(truth)[last_of_run]
    fps = numpy.cumsum(~truth)[last_of_run]
    return tps, fps, values[last_of_run]


def roc_curve(
    y_true: Sequence[int], scores: Sequence[float]
) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """False and true positive rates at each distinct threshold, starting at (0, 0)."""
    tps, fps, thresholds = _threshold_sweep(y_true, scores)
    tpr = numpy.r_[0.0, tps / max(tps[-1], 1)]
    fpr = numpy.r_[0.0, fps / max(fps[-1], 1)]
    return fpr, tpr, numpy.r_[numpy.inf, thresholds]


def precision_recall_curve(
    y_true: Sequence[int], scores: Sequence[float]
) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """Precision and recall at each distinct threshold, from the highest score down."""
    tps, fps, thresholds = _threshold_sweep(y_true, scores)
    precision = tps / numpy.maximum(tps + fps, 1)
    recall = tps / max(tps[-1], 1)
    return precision, recall, thresholds


def average_precision(y_true: Sequence[int], scores: Sequence[float]) -> float:
    """Area under the precision-recall curve as a step sum: sum (R_k - R_k-1) * P_k."""
    precision, recall, _ = precision_recall_curve(y_true, scores)
    return float(numpy.sum(numpy.diff(numpy.r_[0.0, recall]) * precision))


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
    values = numpy.asarray(scores, dtype="float64")
    counts = confusion_counts(y_true, values >= threshold)
    tp, fp, fn, tn = counts["tp"], counts["fp"], counts["fn"], counts["tn"]
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "n": len(values),
        "threshold": threshold,
        "accuracy": (tp + tn) / len(values) if len(values) else 0.0,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "mcc": matthews_corrcoef(tp, fp, fn, tn),
        "roc_auc": roc_auc(y_true, values),
        "average_precision": average_precision(y_true, values),
        **counts,
        "confusion_matrix": [[tn, fp], [fn, tp]],
    }


def mean_and_sd(values: Sequence[float]) -> Tuple[float, float]:
    """Mean and sample standard deviation (ddof=1) of fold scores."""
    array = numpy.asarray(values, dtype="float64")
    sd = float(array.std(ddof=1)) if len(array) > 1 else 0.0
    return float(array.mean()), sd


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as err:  # pragma: no cover - depends on the extra
        raise ImportError(
            "Plots need matplotlib: pip install 'spacy-ru-nn[plots]'"
        ) from err
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
    """Write ROC curve, precision-recall curve and confusion matrix PNGs.

    RETURNS (List[Path]): The written files.
    """
    plt = _pyplot()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    metrics = binary_metrics(y_true, scores, threshold)
    written = []

    fpr, tpr, _ = roc_curve(y_true, scores)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot(fpr, tpr, drawstyle="steps-post", label=f"AUC = {metrics['roc_auc']:.4f}")
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey")
    ax.set(xlabel="False positive rate", ylabel="True positive rate", title="ROC curve")
    ax.legend(loc="lower right")
    written.append(_save(fig, output_dir / f"{prefix}_roc.png"))

    precision, recall, _ = precision_recall_curve(y_true, scores)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot(
        numpy.r_[0.0, recall],
        numpy.r_[1.0, precision],
        drawstyle="steps-post",
        label=f"AP = {metrics['average_precision']:.4f}",
    )
    ax.scatter(
        [metrics["recall"]], [metrics["precision"]], color="C3", zorder=3,
        label=f"threshold {threshold:g}",
    )
    ax.set(xlabel="Recall", ylabel="Precision", title="Precision-recall curve")
    ax.set_ylim(0.0, 1.02)
    ax.legend(loc="lower left")
    written.append(_save(fig, output_dir / f"{prefix}_pr.png"))

    matrix = numpy.asarray(metrics["confusion_matrix"])
    fig, ax = plt.subplots(figsize=(4, 3.6))
    ax.imshow(matrix, cmap="Blues")
    for (row, col), value in numpy.ndenumerate(matrix):
        color = "white" if value > matrix.max() / 2 else "black"
        ax.text(col, row, str(value), ha="center", va="center", color=color)
    ax.set_xticks([0, 1], labels=list(labels))
    ax.set_yticks([0, 1], labels=list(labels))
    ax.set(xlabel="Predicted", ylabel="Gold", title=f"Confusion matrix (p >= {threshold:g})")
    written.append(_save(fig, output_dir / f"{prefix}_confusion.png"))
    return written


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    fig.clf()
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
