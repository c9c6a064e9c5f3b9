"""nn_textcat: training, thresholds, serialization and edge cases on hand-written messages."""
import pytest
import spacy
from spacy.lang.en import English
from spacy.language import Language
from spacy.training import Example
from spacy.util import load_model_from_config
from thinc.api import Config

from conftest import HAM, SMALL_TEXTCAT_MODEL, SPAM, bow_model
from spacy_ru_nn.textcat.component import BoWTextCategorizer
from spacy_ru_nn.scorers import decide, textcat_score
from spacy_ru_nn.torch_glue import torch_module


SMALL_MODEL = SMALL_TEXTCAT_MODEL


def make_examples(nlp: Language, data=None):
    data = data or [(text, "spam") for text in SPAM] + [(text, "ham") for text in HAM]
    labels = sorted({label for _, label in data})
    return [
        Example.from_dict(nlp.make_doc(text), {"cats": {lb: float(lb == label) for lb in labels}})
        for text, label in data
    ]


def train_nlp(model=None, steps: int = 40, threshold: float = 0.5) -> Language:
    nlp = English()
    nlp.add_pipe("nn_textcat", config={"model": model or SMALL_MODEL, "threshold": threshold})
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    nlp.get_pipe("nn_textcat").cfg["positive_label"] = "spam"
    optimizer.learn_rate = 0.01
    for _ in range(steps):
        nlp.update(examples, sgd=optimizer, drop=0.1)
    return nlp


@pytest.fixture(scope="module")
def trained_nlp() -> Language:
    return train_nlp()


def test_add_pipe_defaults():
    nlp = English()
    textcat = nlp.add_pipe("nn_textcat")
    assert isinstance(textcat, BoWTextCategorizer)
    assert textcat.cfg["threshold"] == 0.5
    model_cfg = nlp.config["components"]["nn_textcat"]["model"]
    assert model_cfg["@architectures"] == "spacy-ru-nn.BoWPerceptron.v3"
    assert model_cfg["vectorizer"]["@architectures"] == "spacy-ru-nn.NgramVectorizer.v1"
    assert textcat.labels == ()


def test_not_initialized_raises_e109():
    nlp = English()
    nlp.add_pipe("nn_textcat")
    with pytest.raises(ValueError, match="E109"):
        nlp("hello")
    with pytest.raises(ValueError, match="E109"):
        list(nlp.pipe(["hello", "world"]))


def test_initialize_without_labels_is_clear():
    nlp = English()
    nlp.add_pipe("nn_textcat", config={"model": SMALL_MODEL})
    unlabelled = [Example.from_dict(nlp.make_doc(text), {}) for text in HAM]
    with pytest.raises(ValueError, match="E867"):
        nlp.initialize(lambda: unlabelled)


def test_example_without_gold_category_is_clear():
    nlp = English()
    nlp.add_pipe("nn_textcat", config={"model": SMALL_MODEL})
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    missing = Example.from_dict(nlp.make_doc("no label here"), {"cats": {"spam": 0.0}})
    with pytest.raises(ValueError, match="no gold category"):
        nlp.update(examples[:2] + [missing], sgd=optimizer)


def test_positive_label_must_be_a_label():
    nlp = English()
    nlp.add_pipe("nn_textcat", config={"model": SMALL_MODEL})
    examples = make_examples(nlp)
    with pytest.raises(ValueError, match="E920"):
        nlp.get_pipe("nn_textcat").initialize(lambda: examples, positive_label="junk")


def test_overfitting(trained_nlp):
    losses = {}
    trained_nlp.update(make_examples(trained_nlp), losses=losses)
    assert losses["nn_textcat"] < 0.05
    for text in SPAM:
        cats = trained_nlp(text).cats
        assert cats["spam"] > 0.9, text
        assert cats["spam"] + cats["ham"] == pytest.approx(1.0)
    for text in HAM:
        assert trained_nlp(text).cats["ham"] > 0.9, text
    scores = trained_nlp.evaluate(make_examples(trained_nlp))
    assert scores["cats_score"] == 1.0
    assert scores["cats_auc_per_type"]["spam"] == 1.0
    assert scores["cats_score_desc"].startswith("F (spam")


def test_pipe_matches_call(trained_nlp):
    texts = SPAM + HAM + ["", "   ", "zzzqqq xxyyzz"]
    piped = [doc.cats for doc in trained_nlp.pipe(texts, batch_size=3)]
    called = [trained_nlp(text).cats for text in texts]
    for one, other in zip(piped, called):
        assert one == pytest.approx(other, abs=1e-6)


def test_empty_whitespace_and_unknown_texts(trained_nlp):
    empty = trained_nlp("").cats
    assert set(empty) == {"spam", "ham"}
    assert empty["spam"] + empty["ham"] == pytest.approx(1.0)
    # Whitespace tokens are not words, and unknown words have no features: all score as
    # the learned prior, alone or in a batch.
    for text in ["   ", " \n\t ", "zzzqqq xxyyzz", "qwxz"]:
        assert trained_nlp(text).cats == pytest.approx(empty, abs=1e-6)
    batch = list(trained_nlp.pipe(["", SPAM[0], "   "]))
    assert batch[0].cats == pytest.approx(empty, abs=1e-6)
    assert batch[2].cats == pytest.approx(empty, abs=1e-6)


def test_one_megabyte_text(trained_nlp):
    text = ("Call 09061701461 to claim your free prize now! " * 25000)[: trained_nlp.max_length]
    assert len(text) == 1_000_000
    doc = trained_nlp(text)
    assert doc.cats["spam"] + doc.cats["ham"] == pytest.approx(1.0)
    assert doc.cats["spam"] > 0.5


def test_threshold_in_decision_and_scorer(trained_nlp):
    textcat = trained_nlp.get_pipe("nn_textcat")
    doc = trained_nlp.make_doc("borderline")
    doc.cats = {"spam": 0.7, "ham": 0.3}
    assert decide(doc.cats, ("spam", "ham"), "spam", 0.5) == "spam"
    assert decide(doc.cats, ("spam", "ham"), "spam", 0.8) == "ham"
    assert decide(doc.cats, ("spam", "ham"), None, 0.8) == "spam"  # argmax without positive label
    assert textcat.decide(doc) == "spam"
    reference = trained_nlp.make_doc("borderline")
    reference.cats = {"spam": 1.0, "ham": 0.0}
    examples = [Example(doc, reference)]
    cfg = {"labels": ("spam", "ham"), "positive_label": "spam"}
    assert textcat_score(examples, threshold=0.5, **cfg)["cats_f_per_type"]["spam"]["r"] == 1.0
    strict = textcat_score(examples, threshold=0.8, **cfg)
    assert strict["cats_f_per_type"]["spam"]["r"] == 0.0
    assert strict["cats_score"] == 0.0
    assert strict["cats_auc_per_type"]["spam"] is None  # AUC needs both classes


def test_threshold_from_config_reaches_scoring():
    nlp = English()
    nlp.add_pipe("nn_textcat", config={"model": SMALL_MODEL, "threshold": 1.0})
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    nlp.get_pipe("nn_textcat").cfg["positive_label"] = "spam"
    # An untrained model is never certain, so with threshold 1.0 nothing is spam.
    assert nlp.evaluate(examples)["cats_f_per_type"]["spam"]["r"] == 0.0
    with pytest.raises(ValueError, match="threshold"):
        English().add_pipe("nn_textcat", config={"threshold": 1.5})


def test_serialization_round_trips(trained_nlp, tmp_path):
    texts = SPAM + HAM + [""]
    expected = [doc.cats for doc in trained_nlp.pipe(texts)]
    from_bytes = English()
    from_bytes.add_pipe("nn_textcat", config={"model": SMALL_MODEL})
    from_bytes.from_bytes(trained_nlp.to_bytes())
    assert from_bytes.get_pipe("nn_textcat").labels == trained_nlp.get_pipe("nn_textcat").labels
    assert from_bytes.get_pipe("nn_textcat").cfg["positive_label"] == "spam"
    assert [doc.cats for doc in from_bytes.pipe(texts)] == expected
    trained_nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    assert [doc.cats for doc in loaded.pipe(texts)] == expected
    assert loaded.evaluate(make_examples(loaded))["cats_score"] == 1.0


def test_uninitialized_serialization_round_trip():
    nlp = English()
    nlp.add_pipe("nn_textcat", config={"model": SMALL_MODEL})
    other = English()
    other.add_pipe("nn_textcat", config={"model": SMALL_MODEL})
    other.from_bytes(nlp.to_bytes())
    with pytest.raises(ValueError, match="E109"):
        other("hello")


@pytest.mark.parametrize(
    "overrides",
    [
        {"features": "hash", "n_buckets": 4096, "weighting": "count", "token_attrs": ["SHAPE"]},
        {"weighting": "binary", "depth": 3, "activation": "tanh", "ngram_range": [1, 1]},
    ],
)
def test_other_features_train_and_round_trip(overrides):
    nlp = train_nlp(model=bow_model(**overrides), steps=30)
    texts = SPAM + HAM
    assert [nlp(text).cats["spam"] > 0.5 for text in texts] == [True] * 4 + [False] * 4
    other = English()
    other.add_pipe("nn_textcat", config={"model": bow_model(**overrides)})
    other.from_bytes(nlp.to_bytes())
    assert [doc.cats for doc in other.pipe(texts)] == [doc.cats for doc in nlp.pipe(texts)]


def test_softmax_for_more_than_two_labels():
    nlp = English()
    nlp.add_pipe("nn_textcat", config={"model": SMALL_MODEL})
    data = [(SPAM[0], "spam"), (HAM[0], "plans"), (HAM[2], "errands"), (SPAM[3], "spam")]
    examples = make_examples(nlp, data)
    optimizer = nlp.initialize(lambda: examples)
    optimizer.learn_rate = 0.01
    for _ in range(40):
        nlp.update(examples, sgd=optimizer)
    for text, label in data:
        cats = nlp(text).cats
        assert sum(cats.values()) == pytest.approx(1.0, abs=1e-5)
        assert max(cats, key=cats.get) == label


def test_built_from_config():
    config = Config().from_str(
        """
        [nlp]
        lang = "en"
        pipeline = ["textcat"]

        [components]

        [components.textcat]
        factory = "nn_textcat"
        threshold = 0.3

        [components.textcat.model]
        @architectures = "spacy-ru-nn.BoWPerceptron.v3"
        hidden_width = 8
        depth = 2
        activation = "relu"
        init = "default"
        nO = null

        [components.textcat.model.vectorizer]
        @architectures = "spacy-ru-nn.NgramVectorizer.v1"
        features = "vocab"
        n_buckets = 0
        min_df = 1
        ngram_range = [1, 2]
        lowercase = false
        token_attrs = ["SHAPE", "PREFIX"]
        char_ngram_range = null
        weighting = "tfidf"
        sublinear_tf = false
        """
    )
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    textcat = nlp.get_pipe("textcat")
    assert textcat.cfg["threshold"] == 0.3
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    assert textcat.model.get_dim("nO") == 2
    assert nlp("Call now to claim").cats.keys() == {"spam", "ham"}


def test_invalid_architecture_values():
    for bad in ({"depth": 4}, {"weighting": "bm25"}, {"activation": "gelu"}, {"ngram_range": [2, 1]}, {"token_attrs": ["NOPE"]}):
        with pytest.raises(ValueError):
            English().add_pipe("nn_textcat", config={"model": bow_model(**bad)})


@pytest.mark.parametrize(
    "group,name,registered",
    [
        ("spacy_factories", "nn_textcat", None),
        ("spacy_architectures", "spacy-ru-nn.BoWPerceptron.v1", "architectures"),
        ("spacy_architectures", "spacy-ru-nn.BoWPerceptron.v2", "architectures"),
        ("spacy_architectures", "spacy-ru-nn.BoWPerceptron.v3", "architectures"),
        ("spacy_architectures", "spacy-ru-nn.NgramVectorizer.v1", "architectures"),
        ("spacy_architectures", "spacy-ru-nn.BiLSTMClassifier.v1", "architectures"),
        ("spacy_architectures", "spacy-ru-nn.BiLSTMClassifier.v2", "architectures"),
        ("spacy_architectures", "spacy-ru-nn.TokenEmbed.v1", "architectures"),
        ("spacy_scorers", "spacy-ru-nn.textcat_scorer.v1", "scorers"),
    ],
)
def test_registered_and_entry_points(group, name, registered):
    from importlib.metadata import entry_points

    from spacy.util import registry

    if registered is not None:
        assert registry.get(registered, name)
    found = {ep.name: ep for ep in entry_points(group=group)}
    assert name in found, f"{name} missing from {group}: reinstall with pip install -e ."
    assert found[name].load()


def test_factory_found_without_importing_the_plugin():
    import subprocess
    import sys

    code = "import spacy; nlp = spacy.blank('en'); nlp.add_pipe('nn_textcat'); print(nlp.pipe_names)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "['nn_textcat']" in out.stdout


def test_class_weights_scale_each_examples_loss_and_gradient():
    nlp = English()
    textcat = nlp.add_pipe("nn_textcat", config={"model": SMALL_MODEL, "class_weights": {"spam": 3.0}})
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    scores = textcat.model.predict([eg.predicted for eg in examples])
    unweighted = BoWTextCategorizer(nlp.vocab, textcat.model, "plain")
    unweighted.cfg["labels"] = textcat.cfg["labels"]
    loss, d_scores = textcat.get_loss(examples, scores)
    plain_loss, plain_d = unweighted.get_loss(examples, scores)
    is_spam = [eg.reference.cats["spam"] == 1.0 for eg in examples]
    for row, spam in enumerate(is_spam):
        factor = 3.0 if spam else 1.0
        assert d_scores[row] == pytest.approx(factor * plain_d[row])
    assert loss > plain_loss
    with pytest.raises(ValueError, match="class_weights"):
        English().add_pipe("nn_textcat", config={"class_weights": {"spam": 0.0}})


def test_spam_config_with_another_vectorizer_block_trains_and_predicts(tmp_path):
    """configs/spam.cfg with its vectorizer block swapped for hashed words only: the
    perceptron's first layer takes the new vectorizer's size, and the pipeline trains, saves
    and predicts."""
    from pathlib import Path

    from spacy.tokens import DocBin
    from spacy.training.initialize import init_nlp
    from spacy.util import load_config

    nlp = English()
    DocBin(docs=[eg.reference for eg in make_examples(nlp)]).to_disk(tmp_path / "tiny.spacy")
    overrides = {"paths.train": str(tmp_path / "tiny.spacy"), "paths.dev": str(tmp_path / "tiny.spacy")}
    config = load_config(Path(__file__).parent.parent / "configs" / "spam.cfg", overrides=overrides, interpolate=False)
    config["components"]["textcat"]["model"]["vectorizer"] = {
        "@architectures": "spacy-ru-nn.NgramVectorizer.v1",
        "features": "hash", "n_buckets": 1024, "min_df": 1, "ngram_range": [1, 1], "lowercase": True,
        "token_attrs": [], "char_ngram_range": None, "weighting": "count", "sublinear_tf": False,
    }  # fmt: skip
    trained = init_nlp(config)
    textcat = trained.get_pipe("textcat")
    assert torch_module(textcat.model.get_ref("output_layer")).embed.weight.shape[0] == 1024
    assert textcat.model.get_ref("vectorizer").get_dim("nC") == 0
    optimizer = trained.resume_training()
    optimizer.learn_rate = 0.1
    for _ in range(30):
        trained.update(make_examples(trained), sgd=optimizer)
    assert [trained(text).cats["spam"] > 0.5 for text in SPAM + HAM] == [True] * 4 + [False] * 4
    trained.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    assert [doc.cats for doc in loaded.pipe(SPAM + HAM)] == [doc.cats for doc in trained.pipe(SPAM + HAM)]
