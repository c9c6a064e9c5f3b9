"""spam_metrics against values worked out by hand on a six-message example."""
import importlib.util

import numpy
import pytest

from spacy_ru_nn.spam_metrics import (
    binary_metrics,
    matthews_corrcoef,
    mean_and_sd,
    plot_curves,
    roc_auc,
    roc_curve,
)

# Positives score 0.9, 0.4, 0.7; negatives 0.35, 0.8, 0.1.
Y_TRUE = [1, 1, 0, 0, 1, 0]
SCORES = [0.9, 0.4, 0.35, 0.8, 0.7, 0.1]


def test_binary_metrics_by_hand():
    m = binary_metrics(Y_TRUE, SCORES, threshold=0.5)
    # Predicted spam: 0.9, 0.8, 0.7 -> tp 2 (0.9, 0.7), fp 1 (0.8), fn 1 (0.4), tn 2.
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (2, 1, 1, 2)
    assert m["confusion_matrix"] == [[2, 1], [1, 2]]
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    # (2*2 - 1*1) / sqrt(3*3*3*3) = 3 / 9
    assert m["mcc"] == pytest.approx(1 / 3)
    # Positive > negative pairs: 0.9 beats 3, 0.4 beats 2, 0.7 beats 2 -> 7 of 9.
    assert m["roc_auc"] == pytest.approx(7 / 9)
    # Ranked: P(1, R 1/3), N, P(2/3, R 2/3), P(3/4, R 1): 1/3 * (1 + 2/3 + 3/4) = 29/36.
    assert m["average_precision"] == pytest.approx(29 / 36)


def test_threshold_moves_the_decision():
    strict = binary_metrics(Y_TRUE, SCORES, threshold=0.85)
    assert (strict["tp"], strict["fp"], strict["fn"], strict["tn"]) == (1, 0, 2, 3)
    assert strict["precision"] == 1.0
    assert strict["roc_auc"] == pytest.approx(7 / 9)  # AUC does not depend on it


def test_auc_ties_count_half():
    assert roc_auc([1, 0], [0.5, 0.5]) == pytest.approx(0.5)
    assert roc_auc([1, 1, 0], [0.9, 0.5, 0.5]) == pytest.approx(0.75)
    assert roc_auc([0, 1], [0.2, 0.8]) == 1.0
    with pytest.raises(ValueError):
        roc_auc([1, 1], [0.2, 0.3])


def test_roc_curve_ends():
    fpr, tpr, thresholds = roc_curve(Y_TRUE, SCORES)
    assert (fpr[0], tpr[0]) == (0.0, 0.0)
    assert (fpr[-1], tpr[-1]) == (1.0, 1.0)
    assert numpy.all(numpy.diff(fpr) >= 0) and numpy.all(numpy.diff(tpr) >= 0)
    assert numpy.trapezoid(tpr, fpr) == pytest.approx(7 / 9)


def test_mcc_edge_cases():
    assert matthews_corrcoef(5, 0, 0, 5) == 1.0
    assert matthews_corrcoef(0, 5, 5, 0) == -1.0
    assert matthews_corrcoef(0, 0, 3, 7) == 0.0  # nothing predicted positive: undefined -> 0


def test_mean_and_sd():
    mean, sd = mean_and_sd([0.9, 0.95, 1.0])
    assert mean == pytest.approx(0.95)
    assert sd == pytest.approx(0.05)


@pytest.mark.skipif(importlib.util.find_spec("sklearn") is None, reason="needs scikit-learn")
def test_agrees_with_sklearn():
    from sklearn import metrics

    rng = numpy.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    scores = numpy.round(rng.random(200) * 0.6 + y * 0.3, 2)  # rounded: plenty of ties
    m = binary_metrics(y, scores, 0.5)
    pred = scores >= 0.5
    assert m["roc_auc"] == pytest.approx(metrics.roc_auc_score(y, scores))
    assert m["average_precision"] == pytest.approx(metrics.average_precision_score(y, scores))
    assert m["mcc"] == pytest.approx(metrics.matthews_corrcoef(y, pred))
    assert m["f1"] == pytest.approx(metrics.f1_score(y, pred))


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="needs matplotlib")
def test_plots_are_written(tmp_path):
    paths = plot_curves(Y_TRUE, SCORES, tmp_path, prefix="t")
    assert sorted(p.name for p in paths) == ["t_confusion.png", "t_pr.png", "t_roc.png"]
    assert all(p.stat().st_size > 1000 for p in paths)


def test_best_f1_threshold_sits_between_seen_scores():
    from spacy_ru_nn.spam_metrics import best_f1_threshold

    y = [0, 0, 1, 1, 0, 1]
    scores = [0.1, 0.2, 0.3, 0.8, 0.35, 0.9]
    # Calling 0.3 and up spam gives F1 6/7, the best; halfway to the next lower score is 0.25.
    assert best_f1_threshold(y, scores) == pytest.approx(0.25)
    assert best_f1_threshold([0, 1], [0.2, 0.9]) == pytest.approx(0.55)
