"""The training log spaCy writes, read back: losses per update, the kept step, the plot."""
import srsly
import pytest
from typer.testing import CliRunner

from scripts import app
from scripts.training_log import best_evaluation, fresh_log_path, read_training_log

LINES = [
    {"epoch": 0, "step": 0, "losses": {"textcat": 0.7}, "scores": {"cats_score": 20.0}, "score": 0.2},
    {"epoch": 0, "step": 100, "losses": {"textcat": 30.0}, "scores": {"cats_score": 90.0}, "score": 0.9},
    {"epoch": 1, "step": 200, "losses": {"textcat": 5.0}, "scores": {"cats_score": 95.0}, "score": 0.95},
    {"epoch": 2, "step": 300, "losses": {"textcat": 2.0}, "scores": {"cats_score": 95.0}, "score": 0.95},
    {"epoch": 3, "step": 400, "losses": {"textcat": 1.0}, "scores": {"cats_score": 94.0}, "score": 0.94},
]


@pytest.fixture
def log_path(tmp_path):
    path = tmp_path / "train_log.jsonl"
    srsly.write_jsonl(path, LINES)
    return path


def test_losses_are_per_update_and_the_later_tie_is_kept(log_path):
    evaluations = read_training_log(log_path)
    assert [e.loss for e in evaluations] == pytest.approx([0.7, 0.3, 0.05, 0.02, 0.01])
    # spaCy saves model-best again at every evaluation that ties the best score.
    best = best_evaluation(evaluations)
    assert (best.step, best.epoch) == (300, 2)


def test_fresh_log_path_removes_the_old_log(log_path):
    assert fresh_log_path(log_path.parent) == log_path
    assert not log_path.exists()


def test_empty_log_is_an_error(tmp_path):
    (tmp_path / "empty.jsonl").write_text("", encoding="utf8")
    with pytest.raises(ValueError, match="no evaluation"):
        read_training_log(tmp_path / "empty.jsonl")


@pytest.mark.parametrize("kept,step", [("best", 300), ("last", 400)])
def test_plot_training_writes_a_png_and_names_the_kept_step(log_path, tmp_path, kept, step):
    pytest.importorskip("matplotlib")
    output = tmp_path / "curve.png"
    result = CliRunner().invoke(app, ["plot-training", str(log_path), "--output", str(output), "--kept", kept])
    assert result.exit_code == 0, result.output
    assert output.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"model-{kept} at step {step}" in result.output


def test_plot_training_rejects_a_file_that_is_not_a_log(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"step": 1}\n', encoding="utf8")
    result = CliRunner().invoke(app, ["plot-training", str(bad), "--output", str(tmp_path / "x.png")])
    assert result.exit_code == 1
    assert "Cannot read the training log" in result.output
