"""The component on the legacy single-builder model (`spacy-ru-nn.BiLSTMTagger.v1`/`.v2`),
through the adapter that gives it the new model's `predict_tags`/`get_loss`/`set_tags`: it
still trains, with and without its CRF, and grows for a new label."""
import pytest
import spacy

from conftest import LEGACY_NER_MODEL, RU_SENTENCES, make_ner_examples, train_ner


def entities(nlp):
    return [[(e.text, e.label_) for e in doc.ents] for doc in nlp.pipe(text for text, _ in RU_SENTENCES)]


def gold_entities(nlp):
    return [[(nlp.make_doc(text)[s:e].text, label) for s, e, label in ents] for text, ents in RU_SENTENCES]


@pytest.mark.parametrize("crf", [True, False])
def test_legacy_model_trains_and_grows(crf):
    nlp = spacy.blank("ru")
    model = {**LEGACY_NER_MODEL, "crf": crf}
    nlp, losses = train_ner(nlp, make_ner_examples(nlp), steps=60, model=model)
    ner = nlp.get_pipe("bilstm_ner")
    assert ner.model.name == "bilstm_tagger" and ner.model.has_ref("crf") == crf
    assert losses["bilstm_ner"] < 1.0
    before = entities(nlp)
    assert before == gold_entities(nlp)
    assert ner.add_label("MISC") == 1
    assert ner.model.get_ref("output_layer").get_dim("nO") == len(ner.tags) == 9
    assert entities(nlp) == before
