"""Statistics of the research scripts: means and spreads over folds and seeds, and the F1-best
threshold that cross-validation picks on each dev fold."""
from statistics import mean, stdev
from typing import Sequence, Tuple

import numpy

from spacy_ru_nn.spam_metrics import sklearn_metrics


def mean_sd(values: Sequence[float], fmt: str = ".3f") -> str:
    """One cell for a score over several runs or folds: "mean ± sd" (sample sd), or the value
    alone when there is one run."""
    if len(values) == 1:
        return format(values[0], fmt)
    return f"{mean(values):{fmt}} ± {stdev(values):{fmt}}"


def mean_and_sd(values: Sequence[float]) -> Tuple[float, float]:
    """Mean and sample standard deviation (ddof=1) of fold scores."""
    array = numpy.asarray(values, dtype="float64")
    sd = float(array.std(ddof=1)) if len(array) > 1 else 0.0
    return float(array.mean()), sd


def best_f1_threshold(y_true: Sequence[int], scores: Sequence[float]) -> float:
    """The decision threshold with the highest F1 on these scores (the highest such threshold
    on ties): halfway between the lowest score it calls positive and the next lower score, so
    that it does not sit on a seen value."""
    precision, recall, thresholds = sklearn_metrics().precision_recall_curve(y_true, scores)
    precision, recall = precision[:-1], recall[:-1]
    f1 = 2 * precision * recall / numpy.maximum(precision + recall, 1e-12)
    best = len(f1) - 1 - int(numpy.argmax(f1[::-1]))
    seen = numpy.unique(numpy.asarray(scores, dtype="float64"))
    position = int(numpy.searchsorted(seen, thresholds[best]))
    if position > 0:
        return float((seen[position] + seen[position - 1]) / 2)
    return float(thresholds[best])
