"""Documented settings of `bilstm_ner` that the other tests leave at their defaults: a softmax
output instead of the CRF, and navec vectors read from an explicit `.tar` path."""
import pytest
import spacy

from conftest import RU_SENTENCES, SMALL_NER_MODEL, TINY_NER_MODEL, make_ner_examples, train_ner


def entities(doc):
    return [(ent.start, ent.end, ent.label_) for ent in doc.ents]


def test_softmax_output_trains_predicts_and_round_trips():
    nlp = spacy.blank("ru")
    examples = make_ner_examples(nlp)
    model = {**TINY_NER_MODEL, "crf": False}
    nlp, losses = train_ner(nlp, examples, steps=80, model=model)
    ner = nlp.get_pipe("bilstm_ner")
    assert not ner.model.has_ref("crf")
    assert losses["bilstm_ner"] < 1.0
    predicted = [entities(doc) for doc in nlp.pipe(text for text, _ in RU_SENTENCES)]
    assert predicted == [sorted(ents) for _, ents in RU_SENTENCES]
    loaded = spacy.blank("ru")
    loaded.add_pipe("bilstm_ner", config={"model": model})
    loaded.from_bytes(nlp.to_bytes())
    assert [entities(doc) for doc in loaded.pipe(text for text, _ in RU_SENTENCES)] == predicted


def test_navec_vectors_from_a_tar_path_equal_natasha_s():
    natasha_data = pytest.importorskip("natasha.data")
    tables = []
    for source in ("natasha", str(natasha_data.NEWS_EMBEDDING)):
        nlp = spacy.blank("ru")
        nlp.add_pipe("bilstm_ner", config={"model": {**SMALL_NER_MODEL, "vectors": source}})
        nlp.initialize(lambda: make_ner_examples(nlp))
        model = nlp.get_pipe("bilstm_ner").model
        tables.append({name: param.detach().clone() for name, param in _torch_module(model).state_dict().items()
                       if "vector" in name or "codebook" in name or "codes" in name})
    assert tables[0] and tables[0].keys() == tables[1].keys()
    assert all((tables[0][name] == tables[1][name]).all() for name in tables[0])


def test_a_missing_navec_path_is_a_clear_error(tmp_path):
    nlp = spacy.blank("ru")
    missing = tmp_path / "navec.tar"
    nlp.add_pipe("bilstm_ner", config={"model": {**SMALL_NER_MODEL, "vectors": str(missing)}})
    with pytest.raises(FileNotFoundError, match="navec vectors not found"):
        nlp.initialize(lambda: make_ner_examples(nlp))


def _torch_module(model):
    from spacy_ru_nn.torch_glue import torch_module

    for node in model.walk():
        if node.shims:
            return torch_module(node)
    raise AssertionError("no torch module in the model")
