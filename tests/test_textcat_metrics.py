"""spam_metrics against values worked out by hand on a six-message example, and what happens
without scikit-learn."""
import importlib.util
import sys

import pytest
from typer.testing import CliRunner

from spacy_ru_nn.spam_metrics import binary_metrics, plot_curves
from scripts._stats import mean_and_sd

pytest.importorskip("sklearn")

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
    # Plain Python numbers: the metrics go to JSON.
    assert all(type(m[key]) is int for key in ("tp", "fp", "fn", "tn"))
    assert all(type(m[key]) is float for key in ("precision", "mcc", "roc_auc"))


def test_threshold_moves_the_decision():
    strict = binary_metrics(Y_TRUE, SCORES, threshold=0.85)
    assert (strict["tp"], strict["fp"], strict["fn"], strict["tn"]) == (1, 0, 2, 3)
    assert strict["precision"] == 1.0
    assert strict["roc_auc"] == pytest.approx(7 / 9)  # AUC does not depend on it


def test_nothing_predicted_positive_scores_zero_not_nan():
    m = binary_metrics([1, 0, 1, 0], [0.1, 0.2, 0.3, 0.05], threshold=0.5)
    assert (m["precision"], m["f1"], m["mcc"]) == (0.0, 0.0, 0.0)


def test_auc_ties_count_half():
    assert binary_metrics([1, 0], [0.5, 0.5])["roc_auc"] == pytest.approx(0.5)
    assert binary_metrics([1, 1, 0], [0.9, 0.5, 0.5])["roc_auc"] == pytest.approx(0.75)
    with pytest.raises(ValueError):
        binary_metrics([1, 1], [0.2, 0.3])


def test_mean_and_sd():
    mean, sd = mean_and_sd([0.9, 0.95, 1.0])
    assert mean == pytest.approx(0.95)
    assert sd == pytest.approx(0.05)


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="needs matplotlib")
def test_plots_are_written(tmp_path):
    paths = plot_curves(Y_TRUE, SCORES, tmp_path, prefix="t")
    assert sorted(p.name for p in paths) == ["t_confusion.png", "t_pr.png", "t_roc.png"]
    assert all(p.stat().st_size > 1000 for p in paths)


def test_best_f1_threshold_sits_between_seen_scores():
    from scripts._stats import best_f1_threshold

    y = [0, 0, 1, 1, 0, 1]
    scores = [0.1, 0.2, 0.3, 0.8, 0.35, 0.9]
    # Calling 0.3 and up spam gives F1 6/7, the best; halfway to the next lower score is 0.25.
    assert best_f1_threshold(y, scores) == pytest.approx(0.25)
    assert best_f1_threshold([0, 1], [0.2, 0.9]) == pytest.approx(0.55)


def test_evaluate_spam_without_sklearn_says_what_to_install(monkeypatch, tmp_path):
    from spacy_ru_nn.cli import app

    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn now raises ImportError
    data = tmp_path / "test.spacy"
    data.write_bytes(b"")
    result = CliRunner().invoke(app, ["evaluate-spam", "no-such-model", str(data)])
    assert result.exit_code == 1
    assert "pip install scikit-learn" in " ".join(result.output.split())
