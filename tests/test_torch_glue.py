"""The torch glue every component shares: averages, dropout, (de)serialization, built or not."""
import numpy
import pytest
import torch
from spacy.lang.en import English
from spacy.training import Example
from thinc.api import Adam

from conftest import HAM, SPAM, bow_model
from spacy_ru_nn.textcat.mlp import SparseMLP
from spacy_ru_nn.torch_glue import (
    is_built,
    module_deserializer,
    serialize_module,
    set_torch_dropout_rate,
    torch_module,
)

BOW = bow_model(depth=2)
BILSTM = {
    "@architectures": "spacy-ru-nn.BiLSTMClassifier.v2",
    "width": 16,
    "depth": 2,
    "pooling": "mean",
    "embed": {
        "@architectures": "spacy-ru-nn.TokenEmbed.v1",
        "attrs": ["LOWER", "SHAPE"],
        "rows": [500, 50],
        "attr_width": 8,
        "width": 16,
        "max_tokens": 40,
    },
}


def make_textcat(model):
    nlp = English()
    nlp.add_pipe("nn_textcat", config={"model": model})
    examples = [
        Example.from_dict(nlp.make_doc(text), {"cats": {"spam": float(label), "ham": float(not label)}})
        for texts, label in ((SPAM, True), (HAM, False))
        for text in texts
    ]
    return nlp, examples


@pytest.mark.parametrize("model", [BOW, BILSTM], ids=["bow", "bilstm"])
def test_evaluation_under_use_averages_runs_on_the_averaged_torch_weights(model):
    nlp, examples = make_textcat(model)
    optimizer = Adam(0.01, use_averages=True)
    nlp.initialize(lambda: examples, sgd=optimizer)
    for _ in range(5):
        nlp.update(examples, sgd=optimizer)
    wrapper = nlp.get_pipe("nn_textcat").model.get_ref("output_layer")
    module = torch_module(wrapper)
    trained = {name: p.detach().clone() for name, p in module.named_parameters()}
    averages = {name: optimizer.averages[(wrapper.shims[0].id, name)] for name in trained}
    assert not all(numpy.allclose(averages[name], trained[name].numpy()) for name in trained)
    seen = {}

    def record_weights(mod, inputs):
        seen.update({name: p.detach().clone() for name, p in mod.named_parameters()})

    hook = module.register_forward_pre_hook(record_weights)
    with nlp.use_params(optimizer.averages):
        scores = nlp.evaluate(examples)
    hook.remove()
    assert "cats_score" in scores
    for name, average in averages.items():
        assert numpy.allclose(seen[name].numpy(), average), name
    # Outside use_params the trained weights are back.
    assert all(torch.equal(p, trained[name]) for name, p in module.named_parameters())


@pytest.mark.parametrize("model", [BOW, BILSTM], ids=["bow", "bilstm"])
def test_training_dropout_reaches_every_torch_dropout(model):
    nlp, examples = make_textcat(model)
    nlp.initialize(lambda: examples)
    nlp.update(examples, drop=0.3)
    module = torch_module(nlp.get_pipe("nn_textcat").model.get_ref("output_layer"))
    rates = [m.p for m in module.modules() if isinstance(m, torch.nn.Dropout)]
    assert rates and all(p == 0.3 for p in rates)
    set_torch_dropout_rate(nlp.get_pipe("nn_textcat").model, None)  # None: leave as is
    assert all(m.p == 0.3 for m in module.modules() if isinstance(m, torch.nn.Dropout))


def test_is_built_before_and_after_initialize():
    nlp, examples = make_textcat(BOW)
    model = nlp.get_pipe("nn_textcat").model
    assert not is_built(model)
    nlp.initialize(lambda: examples)
    assert is_built(model)


def test_serialized_module_rebuilds_from_its_own_config():
    module = SparseMLP(10, 1, hidden_width=4, depth=0, activation="tanh", dropout=0.1, n_char_features=3)
    deserialize = module_deserializer(SparseMLP)
    rebuilt = deserialize(None, serialize_module(module), torch.device("cpu"))
    assert rebuilt.config() == module.config()
    assert all(torch.equal(a, b) for a, b in zip(module.state_dict().values(), rebuilt.state_dict().values()))
    assert deserialize(None, serialize_module(None), torch.device("cpu")) is None
