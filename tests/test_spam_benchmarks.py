"""The spam benchmark commands end to end on the 20-message fixture: every system trains on the
split and on each fold, and gets a row in the table and its numbers in the JSON."""
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spacy_ru_nn.experiments import app

ROOT = Path(__file__).parent.parent
CONFIGS = ROOT / "configs"
SAMPLE = Path(__file__).parent / "fixtures" / "sms_sample.tsv"
runner = CliRunner()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    corpus_dir = tmp_path_factory.mktemp("spam_corpus")
    result = runner.invoke(app, ["convert", "sms", str(SAMPLE), str(corpus_dir), "--folds", "2"])
    assert result.exit_code == 0, result.output
    return corpus_dir


def run_benchmark(command: str, configs, corpus: Path, out: Path, *options: str) -> dict:
    table, numbers = out / "table.md", out / "numbers.json"
    args = [command, *(str(CONFIGS / name) for name in configs), str(corpus)]
    args += ["--training-dir", str(out / "training"), "--output", str(table), "--json", str(numbers), *options]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    systems = json.loads(numbers.read_text("utf8"))
    for name in systems:
        assert name in table.read_text("utf8")
    return systems


def assert_scored(system: dict, n_folds: int) -> None:
    assert 0.0 <= system["test"]["f1"] <= 1.0
    assert 0.0 <= system["test"]["roc_auc"] <= 1.0
    assert system["test"]["train_seconds"] > 0
    assert len(system["folds"]) == n_folds


def test_benchmark_spam(corpus, tmp_path):
    pytest.importorskip("sklearn")
    systems = run_benchmark("benchmark-spam", ["spam.cfg", "spam_textcatbow.cfg"], corpus, tmp_path)
    assert set(systems) == {
        "nn_textcat (BoWPerceptron)",
        "spaCy textcat (TextCatBOW.v3)",
        "sklearn CountVectorizer + MultinomialNB",
        "sklearn TF-IDF + LinearSVC",
    }
    for system in systems.values():
        assert_scored(system, n_folds=2)
    assert (tmp_path / "training" / "spam" / "fold1" / "model-best").is_dir()


def test_benchmark_spam_bilstm_trains_the_chosen_pooling_on_the_chosen_folds(corpus, tmp_path):
    configs = ["spam.cfg", "spam_textcatbow.cfg", "spam_bilstm.cfg"]
    systems = run_benchmark("benchmark-spam-bilstm", configs, corpus, tmp_path, "--pooling", "max", "--n-folds", "1")
    assert set(systems) == {
        "nn_textcat (BoWPerceptron)",
        "spaCy textcat (TextCatBOW.v3)",
        "nn_textcat (BiLSTM, max pooling)",
    }
    for system in systems.values():
        assert_scored(system, n_folds=1)
    # The pooling override reached the trained pipeline.
    config = (tmp_path / "training" / "spam_bilstm_max" / "split" / "model-best" / "config.cfg").read_text("utf8")
    assert 'pooling = "max"' in config
