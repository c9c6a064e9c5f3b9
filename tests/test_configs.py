"""What the shipped configs report: scores a user can act on, nothing else."""
from pathlib import Path

from spacy.util import load_config, load_model_from_config

from conftest import make_ner_examples

CONFIGS = Path(__file__).parent.parent / "configs"
TINY_NER = {
    "components.bilstm_ner.model.encode.width": 16,
    "components.bilstm_ner.model.embed.vectors": None,
    "components.bilstm_ner.model.embed.lexicon": False,
    "components.bilstm_ner.model.embed.pretrained": [],
    "components.bilstm_ner.model.embed.pretrained_skip": False,
}


def test_ner_pipeline_reports_entities_not_sentences():
    """The sentencizer only cuts what the BiLSTM reads; `spacy evaluate` and the training log
    show no sentence score for it, even where the gold data has sentence boundaries."""
    nlp = load_model_from_config(load_config(CONFIGS / "ner.cfg", overrides=TINY_NER), auto_fill=True)
    examples = make_ner_examples(nlp)
    for eg in examples:
        for token in eg.reference:
            token.is_sent_start = token.i == 0
    nlp.initialize(lambda: examples)
    scores = nlp.evaluate(examples)
    assert "ents_f" in scores
    assert not [key for key in scores if key.startswith("sents_")]
