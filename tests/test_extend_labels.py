"""Training a trained pipeline on data with a label it does not know: the output grows, the
trained rows are kept, and the label is learnt, whether the pipeline is sourced by a config
that `spacy train` runs, loaded and updated, or given the label with `add_label`."""
import math
import warnings
from pathlib import Path

import numpy
import pytest
import spacy
from spacy.cli.debug_data import debug_data
from spacy.cli.train import train
from spacy.lang.en import English
from spacy.tokens import DocBin
from spacy.training import Example
from spacy.util import load_config
from thinc.api import fix_random_seed

from conftest import HAM, RU_SENTENCES, SMALL_TEXTCAT_MODEL, SPAM, TINY_NER_MODEL, bow_model, make_ner_examples
from spacy_ru_nn.ner.tagger import output_module

CONFIGS = Path(__file__).parent.parent / "configs"
PRODUCT_SENTENCES = [
    ("Я купил новый iPhone в Москве.", [(3, 4, "PRODUCT"), (5, 6, "LOC")]),
    ("Компания выпустила Lada Vesta.", [(2, 4, "PRODUCT")]),
]
# A third class made of words the spam/ham training set has, since the fitted vocabulary
# stays what it was.
FOOD = ["milk dinner", "dinner and milk", "lunch milk dinner"]


def ents(doc):
    return [(ent.text, ent.label_) for ent in doc.ents]


def trained_ner():
    fix_random_seed(0)
    # As the shipped pipeline is built: razdel's tokens and sentences.
    nlp = spacy.blank("ru", config={"nlp": {"tokenizer": {"@tokenizers": "spacy-ru-nn.RazdelTokenizer.v1"}}})
    nlp.add_pipe("razdel_sentencizer")
    nlp.add_pipe("bilstm_ner", config={"model": TINY_NER_MODEL})
    examples = make_ner_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    optimizer.learn_rate = 0.01
    for _ in range(60):
        nlp.update(examples, sgd=optimizer, drop=0.0)
    return nlp


def cats_examples(nlp, data):
    labels = sorted({label for _, label in data})
    return [
        Example.from_dict(nlp.make_doc(text), {"cats": {lb: float(lb == label) for lb in labels}})
        for text, label in data
    ]


# The output to grow: the `output` Linear after a hidden layer or the BiLSTM, or, in logistic
# regression, the bag-of-words tables themselves (with character n-grams: two tables); and a
# legacy architecture's, which brings its own resize_output.
TEXTCAT_MODELS = {
    "hidden layer": SMALL_TEXTCAT_MODEL,
    "logistic regression": bow_model(depth=0),
    "logistic regression, character n-grams": bow_model(depth=0, char_ngram_range=[2, 4]),
    "bilstm": {
        "@architectures": "spacy-ru-nn.BiLSTMClassifier.v2", "width": 16, "depth": 1, "pooling": "mean", "nO": None,
        "embed": {
            "@architectures": "spacy-ru-nn.TokenEmbed.v1", "attrs": ["LOWER", "SHAPE"], "rows": [500, 50],
            "attr_width": 8, "width": 16, "max_tokens": 40,
        },
    },
    "legacy BoWPerceptron.v2": {
        "@architectures": "spacy-ru-nn.BoWPerceptron.v2", "features": "vocab", "n_buckets": 0, "min_df": 1,
        "ngram_range": [1, 2], "lowercase": True, "token_attrs": [], "char_ngram_range": None, "weighting": "tfidf",
        "sublinear_tf": False, "hidden_width": 16, "depth": 0, "activation": "relu", "init": "default",
    },
}  # fmt: skip


def trained_textcat(model=SMALL_TEXTCAT_MODEL):
    fix_random_seed(0)
    nlp = English()
    nlp.add_pipe("nn_textcat", name="textcat", config={"model": model})
    examples = cats_examples(nlp, [(t, "spam") for t in SPAM] + [(t, "ham") for t in HAM])
    optimizer = nlp.initialize(lambda: examples)
    nlp.get_pipe("textcat").cfg["positive_label"] = "spam"
    optimizer.learn_rate = 0.01
    for _ in range(30):
        nlp.update(examples, sgd=optimizer, drop=0.0)
    return nlp, optimizer


def test_ner_add_label_keeps_the_trained_rows():
    nlp = trained_ner()
    ner = nlp.get_pipe("bilstm_ner")
    texts = [text for text, _ in RU_SENTENCES]
    before = [ents(doc) for doc in nlp.pipe(texts)]
    old_tags = ner.tags
    old = output_module(ner.model)
    W = old.linear.weight.detach().numpy().copy()
    transitions = old.crf.transitions.detach().numpy().copy()
    assert transitions.any()
    assert ner.add_label("MISC") == 1
    # MISC sorts between LOC and ORG: rows move, and are found again by tag name.
    assert ner.tags == ["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
    rows = [ner.tags.index(tag) for tag in old_tags]
    grown = output_module(ner.model)
    grown_W = grown.linear.weight.detach().numpy()
    grown_transitions = grown.crf.transitions.detach().numpy()
    assert grown_W.shape == (9, W.shape[1]) and grown_transitions.shape == (9, 9)
    numpy.testing.assert_array_equal(grown_W[rows], W)
    numpy.testing.assert_array_equal(grown_transitions[numpy.ix_(rows, rows)], transitions)
    assert not grown_W[[3, 4]].any()
    # I-MISC may follow B-MISC only.
    misc = ner.tags.index("I-MISC")
    assert grown.crf.transition_penalty[:, misc].tolist() == [-1e4 if tag != "B-MISC" and tag != "I-MISC" else 0.0 for tag in ner.tags]
    assert ner.model.get_ref("output_layer").get_dim("nO") == ner.model.get_dim("nO") == 9
    assert [ents(doc) for doc in nlp.pipe(texts)] == before


def test_ner_loaded_and_updated_learns_a_new_label(tmp_path):
    trained_ner().to_disk(tmp_path / "base")
    nlp = spacy.load(tmp_path / "base")
    examples = make_ner_examples(nlp, RU_SENTENCES + PRODUCT_SENTENCES)
    optimizer = nlp.resume_training()
    optimizer.learn_rate = 0.01
    for _ in range(40):
        nlp.update(examples, sgd=optimizer, drop=0.0)
    assert "PRODUCT" in nlp.get_pipe("bilstm_ner").labels
    assert ents(nlp("Компания выпустила Lada Vesta.")) == [("Lada Vesta", "PRODUCT")]
    with nlp.use_params(optimizer.averages):
        nlp("Компания выпустила Lada Vesta.")
    nlp.to_disk(tmp_path / "tuned")
    reloaded = spacy.load(tmp_path / "tuned")
    assert reloaded.get_pipe("bilstm_ner").labels == ("LOC", "ORG", "PER", "PRODUCT")
    assert ents(reloaded("Я купил новый iPhone в Москве.")) == [("iPhone", "PRODUCT"), ("Москве", "LOC")]


@pytest.fixture(scope="module")
def ner_finetune_run(tmp_path_factory):
    """configs/ner_finetune.cfg through `spacy train`, sourcing a trained pipeline, on data with
    a PRODUCT label the pipeline does not know."""
    root = tmp_path_factory.mktemp("ner_finetune")
    base = trained_ner()
    base.to_disk(root / "base")
    docs = [eg.reference for eg in make_ner_examples(base, RU_SENTENCES + PRODUCT_SENTENCES)]
    DocBin(docs=docs).to_disk(root / "train.spacy")
    overrides = {
        "paths.source": str(root / "base"),
        "paths.train": str(root / "train.spacy"),
        "paths.dev": str(root / "train.spacy"),
        "training.max_steps": 40,
        "training.eval_frequency": 20,
        "training.dropout": 0.0,
        "training.optimizer.learn_rate": 0.01,
    }
    train(CONFIGS / "ner_finetune.cfg", root / "output", overrides=overrides)
    return root, overrides


def test_spacy_train_sourcing_a_trained_ner_learns_the_new_label(ner_finetune_run):
    root, _ = ner_finetune_run
    nlp = spacy.load(root / "output" / "model-last")
    assert nlp.get_pipe("bilstm_ner").labels == ("LOC", "ORG", "PER", "PRODUCT")
    for text, gold in PRODUCT_SENTENCES + RU_SENTENCES:
        doc = nlp(text)
        assert ents(doc) == [(doc[s:e].text, label) for s, e, label in gold]


def test_spacy_debug_data_on_the_finetune_config(ner_finetune_run):
    root, overrides = ner_finetune_run
    debug_data(CONFIGS / "ner_finetune.cfg", config_overrides=overrides, silent=True)


@pytest.mark.parametrize("model", TEXTCAT_MODELS.values(), ids=TEXTCAT_MODELS.keys())
def test_textcat_add_label_keeps_the_odds_of_the_trained_labels(model):
    nlp, _ = trained_textcat(model)
    textcat = nlp.get_pipe("textcat")
    texts = SPAM + HAM
    before = [doc.cats for doc in nlp.pipe(texts)]
    with pytest.warns(UserWarning, match="positive_label"):
        assert textcat.add_label("food") == 1
    assert textcat.labels == ("ham", "spam", "food")
    assert textcat.cfg["positive_label"] is None
    after = [doc.cats for doc in nlp.pipe(texts)]
    # One sigmoid logit z became the softmax logits [0, z, 0]: spam/ham odds are unchanged.
    for old, new in zip(before, after):
        assert math.isclose(new["spam"] / new["ham"], old["spam"] / old["ham"], rel_tol=1e-4)
        assert math.isclose(new["food"], new["ham"], rel_tol=1e-5)


@pytest.mark.parametrize("model", TEXTCAT_MODELS.values(), ids=TEXTCAT_MODELS.keys())
def test_textcat_learns_a_new_label_in_the_middle_of_training(model):
    nlp, optimizer = trained_textcat(model)
    data = [(t, "spam") for t in SPAM] + [(t, "ham") for t in HAM] + [(t, "food") for t in FOOD]
    examples = cats_examples(nlp, data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        # The optimizer already holds moments and averages of the two-label output layer.
        for _ in range(30):
            nlp.update(examples, sgd=optimizer, drop=0.0)
    with nlp.use_params(optimizer.averages):
        nlp("milk")
    predicted = [max(doc.cats, key=doc.cats.get) for doc in nlp.pipe(t for t, _ in data)]
    assert predicted == [label for _, label in data]


def test_spacy_train_sourcing_a_trained_textcat_learns_the_new_label(tmp_path):
    base, _ = trained_textcat()
    base.to_disk(tmp_path / "base")
    data = [(t, "spam") for t in SPAM] + [(t, "ham") for t in HAM] + [(t, "food") for t in FOOD]
    DocBin(docs=[eg.reference for eg in cats_examples(base, data)]).to_disk(tmp_path / "train.spacy")
    config = load_config(CONFIGS / "spam.cfg")
    config["components"]["textcat"] = {"source": str(tmp_path / "base")}
    config["initialize"]["components"] = {}
    config.to_disk(tmp_path / "finetune.cfg")
    overrides = {
        "paths.train": str(tmp_path / "train.spacy"),
        "paths.dev": str(tmp_path / "train.spacy"),
        "training.max_steps": 30,
        "training.eval_frequency": 10,
        "training.dropout": 0.0,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        train(tmp_path / "finetune.cfg", tmp_path / "output", overrides=overrides)
        debug_data(tmp_path / "finetune.cfg", config_overrides=overrides, silent=True)
    nlp = spacy.load(tmp_path / "output" / "model-last")
    assert nlp.get_pipe("textcat").labels == ("ham", "spam", "food")
    predicted = [max(doc.cats, key=doc.cats.get) for doc in nlp.pipe(t for t, _ in data)]
    assert predicted == [label for _, label in data]
