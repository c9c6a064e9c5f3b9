"""Documented settings of `bilstm_ner` that the other tests leave at their defaults: a softmax
output instead of the CRF, another encoder, the devset-only embed, and navec vectors read from
an explicit `.tar` path. Each swaps one block of the model, as a user edits one config block."""
from pathlib import Path

import pytest
import spacy
from spacy.util import load_config

from conftest import RU_SENTENCES, SOFTMAX_OUTPUT, TINY_NER_MODEL, make_ner_examples, ner_model, train_ner
from spacy_ru_nn.torch_glue import torch_module

CONFIGS = Path(__file__).parent.parent / "configs"


def entities(doc):
    return [(ent.start, ent.end, ent.label_) for ent in doc.ents]


def trains_predicts_and_round_trips(model, steps=80):
    """Train on RU_SENTENCES; the entities come back, and again after a bytes round trip."""
    nlp = spacy.blank("ru")
    nlp, losses = train_ner(nlp, make_ner_examples(nlp), steps=steps, model=model)
    assert losses["bilstm_ner"] < 1.0
    predicted = [entities(doc) for doc in nlp.pipe(text for text, _ in RU_SENTENCES)]
    assert predicted == [sorted(ents) for _, ents in RU_SENTENCES]
    loaded = spacy.blank("ru")
    loaded.add_pipe("bilstm_ner", config={"model": model})
    loaded.from_bytes(nlp.to_bytes())
    assert [entities(doc) for doc in loaded.pipe(text for text, _ in RU_SENTENCES)] == predicted
    return nlp.get_pipe("bilstm_ner").model


def test_softmax_output_trains_predicts_and_round_trips():
    model = trains_predicts_and_round_trips({**TINY_NER_MODEL, "output": SOFTMAX_OUTPUT})
    output = model.get_ref("output_layer")
    assert output.name == "softmax_tag_output"
    assert not [name for name, _ in torch_module(output.get_ref("torch_layer")).named_parameters() if "crf" in name]


@pytest.mark.parametrize("width,depth", [(32, 2), (96, 1)])
def test_another_encoder_trains_predicts_and_round_trips(width, depth):
    """The encode block swapped: the embed follows its width (as `${...encode.width}` in the
    configs), the output layer reads what the encoder gives."""
    encode = {"@architectures": "spacy-ru-nn.BiLSTMEncoder.v1", "width": width, "depth": depth, "inference_precision": "float32"}
    model = trains_predicts_and_round_trips(ner_model(embed={**TINY_NER_MODEL["embed"], "width": width}, encode=encode))
    lstm = torch_module(model.get_ref("encode").get_ref("torch_layer")).lstm
    assert len(lstm.forward_layers) == depth and lstm.forward_layers[0].hidden_size == width // 2
    assert model.get_ref("output_layer").get_dim("nI") == width


def test_an_embed_and_encoder_of_different_widths_is_a_clear_error():
    encode = {"@architectures": "spacy-ru-nn.BiLSTMEncoder.v1", "width": 32, "depth": 1, "inference_precision": "float32"}
    with pytest.raises(ValueError, match="give both the same width"):
        spacy.blank("ru").add_pipe("bilstm_ner", config={"model": ner_model(encode=encode)})


def test_the_devset_only_embed_trains_predicts_and_round_trips():
    """configs/ner_devset_only.cfg's embed block (no pretrained encoder) at its shipped
    settings, under the test's encoder and output."""
    config = load_config(CONFIGS / "ner_devset_only.cfg", interpolate=False)
    embed = dict(config["components"]["bilstm_ner"]["model"]["embed"])
    assert embed["pretrained"] == [] and embed["vectors"] == "natasha"
    embed.update({"width": 64, "inference_precision": "float32"})
    model = trains_predicts_and_round_trips(ner_model(embed=embed), steps=60)
    assert model.get_ref("embed").attrs["n_pass_through"] == 0


def test_navec_vectors_from_a_tar_path_equal_natasha_s():
    natasha_data = pytest.importorskip("natasha.data")
    tables = []
    for source in ("natasha", str(natasha_data.NEWS_EMBEDDING)):
        nlp = spacy.blank("ru")
        nlp.add_pipe("bilstm_ner", config={"model": ner_model(vectors=source)})
        nlp.initialize(lambda: make_ner_examples(nlp))
        model = nlp.get_pipe("bilstm_ner").model
        tables.append({name: param.detach().clone() for name, param in _torch_module(model).state_dict().items()
                       if "vector" in name or "codebook" in name or "codes" in name})
    assert tables[0] and tables[0].keys() == tables[1].keys()
    assert all((tables[0][name] == tables[1][name]).all() for name in tables[0])


def test_a_missing_navec_path_is_a_clear_error(tmp_path):
    nlp = spacy.blank("ru")
    missing = tmp_path / "navec.tar"
    nlp.add_pipe("bilstm_ner", config={"model": ner_model(vectors=str(missing))})
    with pytest.raises(FileNotFoundError, match="navec vectors not found"):
        nlp.initialize(lambda: make_ner_examples(nlp))


def _torch_module(model):
    return torch_module(model.get_ref("embed").get_ref("embedding"))
