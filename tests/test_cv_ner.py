"""`cv-ner` end to end on the two-document fixture: folds, per-fold scores, the mean curve."""
import json
from pathlib import Path

from typer.testing import CliRunner

from scripts import app
from spacy_ru_nn.cli import app as user_app

FIXTURE = Path(__file__).parent / "fixtures" / "factru"
CONFIG = Path(__file__).parent.parent / "configs" / "ner.cfg"
TINY = [
    "--components.bilstm_ner.model.encode.width", "16",
    "--components.bilstm_ner.model.embed.vectors", "null",
    "--components.bilstm_ner.model.embed.pretrained", "[]",
    "--components.bilstm_ner.model.embed.pretrained_skip", "false",
    "--components.bilstm_ner.model.embed.lexicon", "false",
    "--components.bilstm_ner.model.embed.char_filters", "0",
    "--training.batcher.size", "50",
]  # fmt: skip


def test_cv_ner_scores_each_fold_and_picks_a_step(tmp_path):
    runner = CliRunner()
    converted = runner.invoke(user_app, ["convert", "factru", str(FIXTURE), str(tmp_path / "corpus"), "--n-folds", "2"])
    assert converted.exit_code == 0, converted.output
    output = tmp_path / "cv.json"
    args = [
        "cv-ner", str(CONFIG), str(tmp_path / "corpus" / "folds"),
        "--training-dir", str(tmp_path / "training"), "--steps", "4", "--eval-frequency", "2",
        "--jobs", "2", "--output", str(output), *TINY,
    ]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(output.read_text(encoding="utf8"))
    assert [fold["fold"] for fold in report["folds"]] == ["fold_0", "fold_1"]
    assert report["summary"]["overrides"]["components.bilstm_ner.model.encode.width"] == 16
    assert sorted(report["summary"]["mean_curve"]) == ["2", "4"]
    assert report["summary"]["best_step"] in (2, 4)
    assert len(report["summary"]["entity_f"]) == 2
    for fold in report["folds"]:
        assert 0.0 <= fold["entity"]["ents_f"] <= 1.0
        assert (tmp_path / "training" / fold["fold"] / "model-last").is_dir()
    assert output.with_suffix(".md").read_text(encoding="utf8").startswith("|")

    table = tmp_path / "variants.md"
    result = runner.invoke(app, ["cv-ner-table", str(output), f"tiny=width 16={output}", "--output", str(table)])
    assert result.exit_code == 0, result.output
    header, _, by_file, by_name = table.read_text(encoding="utf8").splitlines()
    cells = [cell.strip() for cell in by_file.strip("|").split("|")]
    assert cells[0] == "cv" and cells[1] == "4"
    assert by_name.startswith("| tiny=width 16 |")
    mean_f = sum(report["summary"]["entity_f"]) / 2
    assert cells[2].startswith(f"{mean_f:.3f} ± ")
    assert cells[3] == f"{report['summary']['best_step']} ({report['summary']['mean_curve'][str(report['summary']['best_step'])]:.3f})"


def test_cv_ner_without_folds_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(app, ["cv-ner", str(CONFIG), str(tmp_path)])
    assert result.exit_code == 1
    assert "No folds" in result.output


def test_cv_ner_table_names_a_missing_result(tmp_path):
    result = CliRunner().invoke(app, ["cv-ner-table", f"x={tmp_path / 'none.json'}"])
    assert result.exit_code == 1
    assert "none.json" in result.output
