"""The spam benchmark commands end to end on the 20-message fixture: every system trains on the
split and on each fold, and gets a row in the table and its numbers in the JSON."""
import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scripts import app
from spacy_ru_nn.cli import app as user_app

ROOT = Path(__file__).parent.parent
CONFIGS = ROOT / "configs"
SAMPLE = Path(__file__).parent / "fixtures" / "sms_sample.tsv"
runner = CliRunner()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    corpus_dir = tmp_path_factory.mktemp("spam_corpus")
    result = runner.invoke(user_app, ["convert", "sms", str(SAMPLE), str(corpus_dir), "--folds", "2"])
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
        "spaCy tokenizer only (no model)",
        "spaCy tokenizer, docs held in batches (no model)",
    }
    for row in ("spaCy tokenizer only (no model)", "spaCy tokenizer, docs held in batches (no model)"):
        tokenizer = systems.pop(row)
        assert tokenizer["folds"] == [] and tokenizer["test"]["messages_per_second"] > 0
    for system in systems.values():
        assert_scored(system, n_folds=2)
        assert system["test"]["messages_per_second"] > 0
    ratios = systems["nn_textcat (BoWPerceptron)"]["test"]["speed_ratios"]
    assert set(ratios) == {
        "spaCy textcat (TextCatBOW.v3)",
        "spaCy tokenizer only (no model)",
        "spaCy tokenizer, docs held in batches (no model)",
    }
    # Ratios of two timings: reported, never compared here (a loaded machine moves them).
    assert all(math.isfinite(ratio) and ratio > 0 for ratio in ratios.values())
    assert (tmp_path / "training" / "spam" / "fold1" / "model-best").is_dir()
    # profile-spam times the stages of the pipeline the benchmark trained.
    profile = tmp_path / "profile.md"
    model = tmp_path / "training" / "spam" / "split" / "model-best"
    args = ["profile-spam", str(model), str(corpus / "test.spacy"), "--min-messages", "40", "--repeats", "1", "-o", str(profile)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = [line.split(" | ") for line in profile.read_text("utf8").splitlines() if line.startswith("| ")]
    stages = {row[0].lstrip("| "): float(row[1]) for row in rows[1:]}
    assert len(stages) == 7 and all(us > 0 for us in stages.values())
    assert rows[1][2].strip(" |") == "100%"
    result = runner.invoke(app, [*args, "--freeze-gc"])
    assert result.exit_code == 0, result.output
    assert "--freeze-gc" in profile.read_text("utf8")


def test_benchmark_spam_bilstm_trains_the_chosen_pooling_on_the_chosen_folds(corpus, tmp_path):
    configs = ["spam.cfg", "spam_textcatbow.cfg", "spam_bilstm.cfg"]
    systems = run_benchmark("benchmark-spam-bilstm", configs, corpus, tmp_path, "--pooling", "max", "--n-folds", "1")
    assert set(systems) == {
        "nn_textcat (BoWPerceptron)",
        "spaCy textcat (TextCatBOW.v3)",
        "nn_textcat (BiLSTM, max pooling)",
        "spaCy tokenizer only (no model)",
        "spaCy tokenizer, docs held in batches (no model)",
    }
    del systems["spaCy tokenizer only (no model)"], systems["spaCy tokenizer, docs held in batches (no model)"]
    for system in systems.values():
        assert_scored(system, n_folds=1)
    # The pooling override reached the trained pipeline.
    config = (tmp_path / "training" / "spam_bilstm_max" / "split" / "model-best" / "config.cfg").read_text("utf8")
    assert 'pooling = "max"' in config


def test_benchmark_spam_models_trains_the_chosen_rows_on_the_split_and_folds(corpus, tmp_path):
    table, numbers = tmp_path / "models.md", tmp_path / "models.json"
    args = [
        "benchmark-spam-models", str(CONFIGS / "spam.cfg"), str(corpus), "--training-dir", str(tmp_path / "training"),
        "--output", str(table), "--json", str(numbers), "--n-folds", "1", "--only", "logreg", "--only", "zero_init",
        "--jobs", "2",
    ]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    systems = json.loads(numbers.read_text("utf8"))
    assert list(systems) == ["logistic regression (no hidden layer)", "1 hidden layer, ReLU, zero init"]
    for system in systems.values():
        assert_scored(system, n_folds=1)
        assert system["test"]["best_epoch"] >= 1
    assert systems["logistic regression (no hidden layer)"]["overrides"] == {"components.textcat.model.depth": 0}
    # The overrides reached the trained pipelines.
    config = (tmp_path / "training" / "zero_init" / "fold0" / "model-best" / "config.cfg").read_text("utf8")
    assert 'init = "zeros"' in config
    assert (tmp_path / "training" / "logreg" / "split" / "train_log.jsonl").exists()
    text = table.read_text("utf8")
    assert "logistic regression" in text and "1-fold F1" in text


def test_benchmark_spam_models_lists_the_model_family_rows():
    import spacy

    from scripts.benchmark_spam_models import model_family_variants

    config = spacy.util.load_config(CONFIGS / "spam.cfg", interpolate=False)
    variants = model_family_variants(config, sgd_learn_rate=0.5, adam_learn_rate=0.003)
    slugs = [v.slug for v in variants]
    assert slugs[:7] == ["logreg", "depth1_relu", "depth1_tanh", "depth2_relu", "depth2_tanh", "depth3_relu", "depth3_tanh"]
    assert slugs[-1] == "zero_init"
    assert sum("shipped" in v.name for v in variants) == 1
    # The optimizer row trains the shipped shape with the optimizer the config does not use.
    shipped = config["training"]["optimizer"]["@optimizers"]
    other = variants[-2].overrides["training.optimizer"]["@optimizers"]
    assert {shipped.split(".")[0], other.split(".")[0]} == {"SGD", "Adam"}


def test_cv_spam_with_overrides_and_the_dev_threshold(corpus, tmp_path):
    output = tmp_path / "cv.json"
    args = [
        "cv-spam", str(CONFIGS / "spam.cfg"), str(corpus / "folds"), "--training-dir", str(tmp_path / "cv"),
        "--dev-threshold", "--output", str(output), "--components.textcat.model.depth", "0",
    ]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    numbers = json.loads(output.read_text("utf8"))
    assert numbers["overrides"] == {"components.textcat.model.depth": 0}
    assert len(numbers["folds"]) == len(numbers["dev_threshold"]["folds"]) == 2
    assert 0.0 <= numbers["dev_threshold"]["summary"]["f1"]["mean"] <= 1.0
    assert 'depth = 0' in (tmp_path / "cv" / "fold0" / "model-best" / "config.cfg").read_text("utf8")
