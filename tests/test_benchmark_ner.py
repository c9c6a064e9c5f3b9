import json
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin
from typer.testing import CliRunner

from scripts import app
from spacy_ru_nn.cli import app as user_app
from scripts.benchmark_ner import _table, median_run
from spacy_ru_nn.corpora.factru import convert_folder

FIXTURE = Path(__file__).parent / "fixtures" / "factru"


def test_slovnet_is_scored_on_spacy_tokens(tmp_path):
    docs, _ = convert_folder(spacy.blank("ru"), FIXTURE / "devset")
    DocBin(docs=docs).to_disk(tmp_path / "gold.spacy")
    args = ["benchmark-ner-one", "slovnet", str(tmp_path / "gold.spacy"), "--train-path", str(tmp_path / "gold.spacy")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output.strip().splitlines()[-1])
    # Every gold mention is in the "training" data here.
    assert scores["errors"]["total"]["unseen"] == 0
    assert scores["errors"]["per_type"]["PER"]["seen_recall"] == 1.0
    assert scores["words"] == sum(len(doc) for doc in docs)
    # slovnet finds "Александр Пушкин" and "Москве" exactly as the gold has them.
    assert scores["entity"]["ents_per_type"]["PER"]["f"] == 1.0
    assert 0.0 < scores["entity"]["ents_f"] <= 1.0
    assert scores["words_per_second"] > 0 and scores["size_mb"] > 20


def test_table_reports_speed_relative_to_slovnet():
    def fake(f, speed):
        prf = {"p": f, "r": f, "f": f}
        return {
            "entity": {"ents_p": f, "ents_r": f, "ents_f": f, "ents_per_type": {"PER": prf}},
            "token_io": {"per_type": {"PER": prf}},
            "words_per_second": speed, "load_seconds": 1.0, "size_mb": 30.0, "peak_rss_mb": 500.0,
        }

    header, rows = _table({"ours": fake(0.8, 30000.0), "natasha/slovnet": fake(0.9, 20000.0)})
    ratio = header.index("x slovnet")
    assert rows[0][ratio] == "1.50" and rows[1][ratio] == "1.00"
    assert rows[0][header.index("F ORG")] == "0.000"


def test_median_run_keeps_every_speed():
    runs = [{"words_per_second": speed, "load_seconds": speed / 1000} for speed in (300.0, 100.0, 200.0)]
    median = median_run(runs)
    assert median["words_per_second"] == 200.0 and median["load_seconds"] == 0.2
    assert median["words_per_second_runs"] == [300.0, 100.0, 200.0]


def test_ablation_row_reports_mean_and_spread_over_seeds():
    from scripts.ablate_ner import _row

    def run(f, speed):
        return {"entity": {"ents_f": f}, "token_io": {"per_type": {"PER": {"f": f}}}, "words_per_second": speed}

    assert _row("one", [run(0.8, 20000.0)]) == ("one", "0.800", "0.800", "0.000", "0.000", "20,000")
    three = _row("three", [run(0.80, 20000.0), run(0.81, 22000.0), run(0.79, 21000.0)])
    assert three[1] == "0.800 ± 0.010" and three[-1] == "21,000 ± 1,000"


def test_config_overrides_reach_the_pipeline(tmp_path):
    docs, _ = convert_folder(spacy.blank("ru"), FIXTURE / "devset")
    DocBin(docs=docs).to_disk(tmp_path / "gold.spacy")
    nlp = spacy.blank("ru")
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "PER", "pattern": "Александр Пушкин"}])
    nlp.to_disk(tmp_path / "ruler")

    def per_f(*overrides):
        args = ["benchmark-ner-one", str(tmp_path / "ruler"), str(tmp_path / "gold.spacy")]
        result = CliRunner().invoke(app, [*args, *(a for o in overrides for a in ("--override", o))])
        assert result.exit_code == 0, result.output
        return json.loads(result.output.strip().splitlines()[-1])["entity"]["ents_per_type"].get("PER", {}).get("f", 0.0)

    assert per_f() == 1.0
    assert per_f('nlp.disabled=["entity_ruler"]') == 0.0
    args = ["benchmark-ner-one", str(tmp_path / "ruler"), str(tmp_path / "gold.spacy"), "--exclude", "entity_ruler"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["entity"]["ents_per_type"]["PER"]["f"] == 0.0


def test_override_of_an_unknown_pipeline_is_a_clear_error(tmp_path):
    DocBin().to_disk(tmp_path / "gold.spacy")
    args = ["benchmark-ner", str(tmp_path / "gold.spacy"), "--pipeline", "ours=x", "--override", "theirs:a.b=1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert "expected NAME:section.key=value" in result.output
    args = ["benchmark-ner", str(tmp_path / "gold.spacy"), "--pipeline", "ours=x", "--exclude", "theirs:ner"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert "expected NAME:component" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["evaluate-ner", "model", "{missing}"],
        ["evaluate-ner", "model", "{gold}", "--train-path", "{missing}"],
        ["benchmark-ner", "{missing}"],
        ["convert", "factru", "{missing}", "out"],
        ["check-metrics", "{missing}"],
    ],
)
def test_a_missing_input_file_is_named_before_any_work(tmp_path, monkeypatch, args):
    # Relative paths: typer's error box wraps long ones.
    monkeypatch.chdir(tmp_path)
    DocBin().to_disk("gold.spacy")
    command_app = app if args[0] == "benchmark-ner" else user_app
    result = CliRunner().invoke(command_app, [arg.format(missing="missing.spacy", gold="gold.spacy") for arg in args])
    assert result.exit_code == 2
    assert "'missing.spacy' does not exist" in result.output


def test_ablation_reuses_a_run_only_when_config_data_and_command_are_unchanged(tmp_path):
    from scripts.ablate_ner import RECIPE_FILE, read_recipe, training_recipe

    config, data = tmp_path / "ner.cfg", tmp_path / "devset.spacy"
    config.write_text("[training]\nmax_steps = 1000\n", encoding="utf8")
    data.write_bytes(b"docs")
    cmd = ["python", "-m", "spacy", "train", str(config), "--training.max_steps", "1000"]
    recipe = training_recipe(cmd, config, data)
    assert read_recipe(tmp_path) is None
    (tmp_path / RECIPE_FILE).write_text(json.dumps(recipe), encoding="utf8")
    assert read_recipe(tmp_path) == training_recipe(["/other/venv/python", *cmd[1:]], config, data)
    assert read_recipe(tmp_path) != training_recipe([*cmd[:-1], "700"], config, data)
    config.write_text("[training]\nmax_steps = 1000\ndropout = 0.3\n", encoding="utf8")
    assert read_recipe(tmp_path) != training_recipe(cmd, config, data)
    config.write_text("[training]\nmax_steps = 1000\n", encoding="utf8")
    data.write_bytes(b"other docs")
    assert read_recipe(tmp_path) != training_recipe(cmd, config, data)
