import json

from typer.testing import CliRunner

from spacy_ru_nn.cli import app

TEST_SCORES = {
    "ents_p": 0.80, "ents_r": 0.79, "ents_f": 0.795,
    "ents_per_type": {"PER": {"p": 0.9, "r": 0.9, "f": 0.9}},
}  # fmt: skip


def test_package_meta_reports_testset_scores_and_keeps_the_meta_fields(tmp_path):
    (tmp_path / "meta.json").write_text(json.dumps({"license": "MIT", "performance": {"ents_f": 0.98}}))
    (tmp_path / "ner.json").write_text(json.dumps({"entity": TEST_SCORES, "token_io": {}}))
    args = ["ner-package-meta", str(tmp_path / "meta.json"), str(tmp_path / "ner.json"), "-o", str(tmp_path / "out.json")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "out.json").read_text())
    assert meta["license"] == "MIT"
    assert meta["performance"] == TEST_SCORES


def test_package_meta_without_entity_scores_is_a_clear_error(tmp_path):
    (tmp_path / "meta.json").write_text("{}")
    (tmp_path / "spam.json").write_text(json.dumps({"f1": 0.94}))
    args = ["ner-package-meta", str(tmp_path / "meta.json"), str(tmp_path / "spam.json"), "-o", str(tmp_path / "out.json")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert "No entity scores" in result.output
    assert not (tmp_path / "out.json").exists()
