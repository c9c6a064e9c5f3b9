import pytest
import spacy
import torch
from spacy.tokens import Span
from spacy.training import Example
from thinc.api import fix_random_seed

torch.set_num_threads(1)

# Short news-like sentences, with token-index entity spans.
RU_SENTENCES = [
    ("Александр Пушкин родился в Москве.", [(0, 2, "PER"), (4, 5, "LOC")]),
    ("Владимир Путин посетил Сбербанк в Казани.", [(0, 2, "PER"), (3, 4, "ORG"), (5, 6, "LOC")]),
    ("Газпром открыл офис в Новосибирске.", [(0, 1, "ORG"), (4, 5, "LOC")]),
    ("Мария Иванова и Пётр Сидоров работают в Яндексе.", [(0, 2, "PER"), (3, 5, "PER"), (7, 8, "ORG")]),
]

# Hand-written SMS for the text classifiers.
SPAM = [
    "WINNER!! You have been selected to receive a £900 prize. Call 09061701461 to claim",
    "URGENT! Your mobile number has won a £2000 bonus. Call 09066362231 now",
    "Free entry in a weekly comp to win cup final tickets. Text FA to 87121",
    "Txt CASH to 85023 to claim your free £100 cash prize now!",
]
HAM = [
    "Are we still meeting for lunch tomorrow?",
    "I'll be home late tonight, save me some dinner",
    "Can you pick up milk on the way back?",
    "Sorry, I'll call later",
]

# A small, fast model: the shipped blocks, smaller sizes. The vectors stay on (natasha's navec)
# so that loading and serializing the quantized table is exercised everywhere. Every setting is
# stated: add_pipe fills a block left out from the component's default (the shipped model).
SMALL_EMBED = {
    "@architectures": "spacy-ru-nn.RussianTokenEmbed.v1",
    "width": 64,
    "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
    "rows": [1000, 200, 500, 50],
    "hash_width": 16,
    "char_width": 8,
    "char_filters": 16,
    "char_kernel": 3,
    "max_chars": 12,
    "n_chars": 2048,
    "morphology": True,
    "morph_width": 8,
    "vectors": "natasha",
    "vectors_width": 300,
    "lexicon": False,
    "gazetteers": [],
    "word_dropout": 0.0,
    "window": 64,
    "pretrained": [],
    "pretrained_outputs": "both",
    "fine_tune_pretrained": False,
    "pretrained_skip": False,
    # Exact float32 everywhere, whatever the test machine's CPU: bfloat16 has its own tests.
    "inference_precision": "float32",
}
SMALL_ENCODE = {"@architectures": "spacy-ru-nn.BiLSTMEncoder.v1", "width": 64, "depth": 1, "inference_precision": "float32"}
CRF_OUTPUT = {"@architectures": "spacy-ru-nn.CRFTagOutput.v1"}
SOFTMAX_OUTPUT = {"@architectures": "spacy-ru-nn.SoftmaxTagOutput.v1"}


def ner_model(embed=None, encode=None, output=None, **embed_settings):
    """SMALL_NER_MODEL with sublayers swapped, or with some embed settings changed."""
    return {
        "@architectures": "spacy-ru-nn.EntityTagger.v1",
        "embed": {**(embed or SMALL_EMBED), **embed_settings},
        "encode": encode or SMALL_ENCODE,
        "output": output or CRF_OUTPUT,
    }


SMALL_NER_MODEL = ner_model()
# The same without navec vectors: for tests that train or save many pipelines.
TINY_NER_MODEL = ner_model(vectors=None, vectors_width=0, lexicon=False)

# The legacy single-builder architecture at the same sizes, for what must keep working with it.
LEGACY_NER_MODEL = {
    "@architectures": "spacy-ru-nn.BiLSTMTagger.v1",
    "width": 64,
    "depth": 1,
    "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
    "rows": [1000, 200, 500, 50],
    "hash_width": 16,
    "char_width": 8,
    "char_filters": 16,
    "char_kernel": 3,
    "max_chars": 12,
    "n_chars": 2048,
    "morphology": True,
    "morph_width": 8,
    "vectors": None,
    "vectors_width": 0,
    "window": 64,
    "crf": True,
    "lexicon": False,
    "inference_precision": "float32",
}

# A small bag-of-words perceptron for the text classifier tests; no SHAPE features, so that
# unknown words add nothing.
SMALL_TEXTCAT_MODEL = {
    "@architectures": "spacy-ru-nn.BoWPerceptron.v3",
    "hidden_width": 16,
    "depth": 1,
    "activation": "relu",
    "init": "default",
    "nO": None,
    "vectorizer": {
        "@architectures": "spacy-ru-nn.NgramVectorizer.v1",
        "features": "vocab",
        "n_buckets": 0,
        "min_df": 1,
        "ngram_range": [1, 2],
        "lowercase": True,
        "token_attrs": [],
        "char_ngram_range": None,
        "weighting": "tfidf",
        "sublinear_tf": False,
    },
}


def bow_model(**settings) -> dict:
    """SMALL_TEXTCAT_MODEL with some settings changed, each in its block: the vectorizer's
    (features, char_ngram_range, ...) or the perceptron's (depth, hidden_width, ...)."""
    vectorizer = dict(SMALL_TEXTCAT_MODEL["vectorizer"])
    head = {key: value for key, value in SMALL_TEXTCAT_MODEL.items() if key != "vectorizer"}
    for key, value in settings.items():
        (vectorizer if key in vectorizer else head)[key] = value
    return {**head, "vectorizer": vectorizer}


@pytest.fixture(autouse=True)
def seeded():
    fix_random_seed(0)


def make_ner_examples(nlp, sentences=RU_SENTENCES):
    examples = []
    for text, ents in sentences:
        reference = nlp.make_doc(text)
        reference.ents = [Span(reference, s, e, label) for s, e, label in ents]
        examples.append(Example(nlp.make_doc(text), reference))
    return examples


@pytest.fixture
def ru_nlp():
    return spacy.blank("ru")


def train_ner(nlp, examples, steps=40, **config):
    nlp.add_pipe("bilstm_ner", config={"model": SMALL_NER_MODEL, **config})
    optimizer = nlp.initialize(lambda: examples)
    optimizer.learn_rate = 0.01
    losses = {}
    for _ in range(steps):
        losses = nlp.update(examples, sgd=optimizer, drop=0.0)
    return nlp, losses


@pytest.fixture(scope="module")
def trained_ner():
    """A pipeline overfitted on RU_SENTENCES, shared by the read-only tests of a module."""
    fix_random_seed(0)
    nlp = spacy.blank("ru")
    nlp, _ = train_ner(nlp, make_ner_examples(nlp), steps=60)
    return nlp


# Markers of tests/test_robustness.py: `gpu` needs CUDA (skipped without it), `slow` runs only
# with --slow (the 10,000-text battery through one and two processes).
def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", default=False, help="also run tests marked slow")


def pytest_configure(config):
    config.addinivalue_line("markers", "gpu: needs a CUDA device (skipped when torch.cuda.is_available() is false)")
    config.addinivalue_line("markers", "slow: long-running; run with --slow")


def pytest_collection_modifyitems(config, items):
    skip_slow = pytest.mark.skip(reason="slow: run with --slow")
    skip_gpu = pytest.mark.skip(reason="gpu: no CUDA device")
    for item in items:
        if "slow" in item.keywords and not config.getoption("--slow"):
            item.add_marker(skip_slow)
        if "gpu" in item.keywords and not torch.cuda.is_available():
            item.add_marker(skip_gpu)
