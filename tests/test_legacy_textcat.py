"""The replaced text classifier architectures (BoWPerceptron.v1/.v2, BiLSTMClassifier.v1):
their signatures, that their successors compute the same function, and that the global thinc
registrations they need stay with them."""
import json
import subprocess
import sys

import numpy
import pytest
import srsly
import torch
from spacy.lang.en import English
from spacy.training import Example
from thinc.api import fix_random_seed

from conftest import HAM, SPAM
from spacy_ru_nn.legacy.textcat.bow import BoWPerceptron
from spacy_ru_nn.torch_glue import module_deserializer, serialize_module

BOW_V2 = {
    "@architectures": "spacy-ru-nn.BoWPerceptron.v2",
    "features": "vocab", "n_buckets": 0, "min_df": 1, "ngram_range": [1, 2], "lowercase": True,
    "token_attrs": ["SHAPE"], "char_ngram_range": [2, 4], "weighting": "tfidf", "sublinear_tf": False,
    "hidden_width": 16, "depth": 1, "activation": "relu", "init": "default", "nO": None,
}  # fmt: skip
VECTORIZER_SETTINGS = (
    "features", "n_buckets", "min_df", "ngram_range", "lowercase", "token_attrs", "char_ngram_range", "weighting",
    "sublinear_tf",
)  # fmt: skip
BILSTM_V1 = {
    "@architectures": "spacy-ru-nn.BiLSTMClassifier.v1",
    "attrs": ["LOWER", "SHAPE", "SUFFIX"], "rows": [500, 50, 200], "embed_width": 16, "width": 32, "depth": 2,
    "pooling": "attention", "max_tokens": 40, "nO": None,
}  # fmt: skip
TEXTS = SPAM + HAM + ["WINNERS prizes", "", "   ", "call me later mate"]


def as_v3(v2: dict) -> dict:
    """BoWPerceptron.v3 with the settings of a BoWPerceptron.v2 block."""
    vectorizer = {"@architectures": "spacy-ru-nn.NgramVectorizer.v1", **{k: v2[k] for k in VECTORIZER_SETTINGS}}
    head = {k: v2[k] for k in ("hidden_width", "depth", "activation", "init", "nO")}
    return {"@architectures": "spacy-ru-nn.BoWPerceptron.v3", **head, "vectorizer": vectorizer}


def as_bilstm_v2(v1: dict) -> dict:
    """BiLSTMClassifier.v2 over TokenEmbed.v1 with the settings of a BiLSTMClassifier.v1 block."""
    embed = {
        "@architectures": "spacy-ru-nn.TokenEmbed.v1", "attrs": v1["attrs"], "rows": v1["rows"],
        "attr_width": v1["embed_width"], "width": v1["width"], "max_tokens": v1["max_tokens"],
    }  # fmt: skip
    head = {k: v1[k] for k in ("width", "depth", "pooling", "nO")}
    return {"@architectures": "spacy-ru-nn.BiLSTMClassifier.v2", **head, "embed": embed}


def trained_scores(model: dict, steps: int = 15):
    fix_random_seed(0)
    nlp = English()
    nlp.add_pipe("nn_textcat", config={"model": model})
    examples = [
        Example.from_dict(nlp.make_doc(t), {"cats": {"spam": float(t in SPAM), "ham": float(t in HAM)}})
        for t in SPAM + HAM
    ]
    optimizer = nlp.initialize(lambda: examples)
    optimizer.learn_rate = 0.01
    for _ in range(steps):
        nlp.update(examples, sgd=optimizer, drop=0.1)
    return numpy.asarray([doc.cats["spam"] for doc in nlp.pipe(TEXTS)]), nlp


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"depth": 0},
        {"features": "hash", "n_buckets": 1000, "weighting": "count", "token_attrs": []},
        {"char_ngram_range": None, "sublinear_tf": True, "depth": 2, "activation": "tanh"},
        {"weighting": "binary", "ngram_range": [1, 1]},
    ],
)
def test_bow_perceptron_v3_computes_what_v2_computed(overrides):
    """The same settings, split into the perceptron's block and its vectorizer's, give the
    same initial weights, the same training and the same probabilities."""
    v2, _ = trained_scores({**BOW_V2, **overrides})
    v3, _ = trained_scores(as_v3({**BOW_V2, **overrides}))
    assert numpy.ptp(v2) > 0.01
    numpy.testing.assert_allclose(v3, v2, rtol=0, atol=1e-6)


@pytest.mark.parametrize("pooling", ["last", "mean", "max", "attention"])
def test_bilstm_classifier_v2_computes_what_v1_computed(pooling):
    v1, v1_nlp = trained_scores({**BILSTM_V1, "pooling": pooling}, steps=8)
    v2, v2_nlp = trained_scores(as_bilstm_v2({**BILSTM_V1, "pooling": pooling}), steps=8)
    assert numpy.ptp(v1) > 1e-3
    numpy.testing.assert_allclose(v2, v1, rtol=0, atol=1e-6)
    if pooling == "attention":
        doc = "Txt  CASH to 85023 now"
        weights = [[(t.text, w) for t, w in nlp.get_pipe("nn_textcat").attention(nlp.make_doc(doc))] for nlp in (v1_nlp, v2_nlp)]
        assert [t for t, _ in weights[1]] == [t for t, _ in weights[0]] == ["Txt", "CASH", "to", "85023", "now"]
        numpy.testing.assert_allclose([w for _, w in weights[1]], [w for _, w in weights[0]], atol=1e-6)


def test_v1_keeps_its_signature_and_range():
    model = {key: value for key, value in BOW_V2.items() if key not in ("sublinear_tf", "init", "char_ngram_range")}
    model["@architectures"] = "spacy-ru-nn.BoWPerceptron.v1"
    scores, _ = trained_scores(model, steps=30)
    assert all(scores[:4] > 0.5) and all(scores[4:8] < 0.5)
    with pytest.raises(ValueError, match="depth"):
        English().add_pipe("nn_textcat", config={"model": {**model, "depth": 0}})


def test_invalid_v2_values():
    for bad in ({"depth": -1}, {"depth": 4}, {"init": "ones"}):
        with pytest.raises(ValueError):
            English().add_pipe("nn_textcat", config={"model": {**BOW_V2, **bad}})


def test_modules_saved_before_new_settings_existed_still_load():
    """What BoWPerceptron.v1 saved: no sublinear_tf or character n-grams in the config, and
    exactly these weights and buffers."""
    module = BoWPerceptron(
        10, 1, hidden_width=4, depth=1, activation="relu", dropout=0.0, weighting="tfidf", hashed=False
    )
    v1_keys = {"embed.weight", "embed_bias", "output.weight", "output.bias", "vocab_keys", "idf"}
    assert set(module.state_dict()) == v1_keys
    msg = srsly.msgpack_loads(serialize_module(module))
    for new_setting in ("sublinear_tf", "n_char_features"):
        del msg["config"][new_setting]
    rebuilt = module_deserializer(BoWPerceptron)(None, srsly.msgpack_dumps(msg), torch.device("cpu"))
    assert rebuilt.sublinear_tf is False and rebuilt.char_embed is None
    assert torch.equal(rebuilt.output.weight, module.output.weight)


REGISTERED_SERIALIZERS = """
import json, sys
from thinc.api import deserialize_attr, serialize_attr
def registered():
    return sorted(f"{t.__module__}.{t.__qualname__}" for t in {**serialize_attr.registry, **deserialize_attr.registry})
before = registered()
import spacy
from spacy.lang.en import English
import spacy_ru_nn.textcat.architectures, spacy_ru_nn.textcat.component
nlp = English()
nlp.add_pipe("nn_textcat", config={"model": json.loads(sys.argv[1])})
nlp.from_bytes(nlp.to_bytes())
after_new = registered()
legacy_imported = any(name.startswith("spacy_ru_nn.legacy") for name in sys.modules)
import spacy_ru_nn.legacy.textcat.architectures
print(json.dumps({"before": before, "after_new": after_new, "after_legacy": registered(),
                  "legacy_imported": legacy_imported}))
"""


def test_only_the_legacy_code_registers_thinc_serializers():
    """thinc's attr (de)serializers are global: the new layers keep their caches as plain
    attributes and register none, even when a pipeline is built and saved; the legacy
    featurizer's registration comes with the legacy module only."""
    from conftest import SMALL_TEXTCAT_MODEL

    model = {**SMALL_TEXTCAT_MODEL, "vectorizer": {**SMALL_TEXTCAT_MODEL["vectorizer"], "token_attrs": ["SHAPE"]}}
    out = subprocess.run(
        [sys.executable, "-c", REGISTERED_SERIALIZERS, json.dumps(model)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["after_new"] == result["before"]
    assert not result["legacy_imported"]
    added = set(result["after_legacy"]) - set(result["before"])
    assert added == {"spacy_ru_nn.legacy.textcat.ngrams.LexemeColumns"}
