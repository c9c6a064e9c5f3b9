"""Pipelines users already have keep loading and predict what they predicted when saved: one
small pipeline per registered architecture version, saved once under fixtures/legacy/ by
`fixtures/legacy/make_pipelines.py` and never regenerated."""
import json
from pathlib import Path

import pytest
import spacy

LEGACY = Path(__file__).parent / "fixtures" / "legacy"
PIPELINES = sorted(path.name for path in LEGACY.iterdir() if (path / "config.cfg").exists())


def test_every_architecture_version_has_a_saved_pipeline():
    architectures = set()
    for name in PIPELINES:
        config = spacy.util.load_config(LEGACY / name / "config.cfg")
        architectures |= {component["model"]["@architectures"] for component in config["components"].values()
                          if "model" in component}
    assert {
        "spacy-ru-nn.BiLSTMTagger.v1", "spacy-ru-nn.BiLSTMTagger.v2", "spacy-ru-nn.BoWPerceptron.v1",
        "spacy-ru-nn.BoWPerceptron.v2", "spacy-ru-nn.BiLSTMClassifier.v1",
    } <= architectures  # fmt: skip


@pytest.mark.parametrize("name", PIPELINES)
def test_a_saved_pipeline_predicts_what_it_predicted(name):
    expected = json.loads((LEGACY / name / "expected.json").read_text(encoding="utf8"))
    nlp = spacy.load(LEGACY / name)
    for doc, want in zip(nlp.pipe(expected["texts"]), expected["predictions"]):
        assert [[ent.start_char, ent.end_char, ent.label_] for ent in doc.ents] == want["ents"], doc.text
        assert doc.cats.keys() == want["cats"].keys()
        for label, score in want["cats"].items():
            assert doc.cats[label] == pytest.approx(score, abs=1e-6), doc.text
