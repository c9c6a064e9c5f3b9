"""spacy-ru-nn.BoWPerceptron.v2: logistic regression (depth 0), the weight init, sparse weighting
and the vocabulary lookup."""
import math

import numpy
import pytest
import torch
from spacy.lang.en import English
from thinc.api import fix_random_seed

from conftest import HAM, SPAM
from spacy_ru_nn.legacy.textcat.bow import BoWPerceptron
from spacy_ru_nn.legacy.textcat.ngrams import KeyTable, LexemeColumns, bag_of_ngrams
from spacy_ru_nn.torch_glue import torch_module
from test_textcat import SMALL_MODEL, make_examples, train_nlp


def module_of(nlp) -> BoWPerceptron:
    return torch_module(nlp.get_pipe("nn_textcat").model.get_ref("output_layer"))


def predicts_all(nlp) -> bool:
    return all(nlp(t).cats["spam"] > 0.5 for t in SPAM) and all(nlp(t).cats["spam"] < 0.5 for t in HAM)


def test_depth_0_is_logistic_regression():
    nlp = train_nlp(model={**SMALL_MODEL, "depth": 0}, steps=40)
    module = module_of(nlp)
    assert module.output is None and len(module.hidden) == 0
    assert module.embed.weight.shape == (module.n_features, 1)
    assert predicts_all(nlp)
    # p(spam) = sigmoid(w . x + b) over the doc's weighted features, nothing else.
    doc = nlp.make_doc(SPAM[0])
    bag = nlp.get_pipe("nn_textcat").model.get_ref("featurizer").predict([doc])
    ids, _, weights = module.sparse_rows(bag.keys.view("int64"), bag.doc_ids, 1)
    w = module.embed.weight.detach().numpy()[:, 0]
    logit = float((w[ids] * weights).sum() + module.embed_bias.item())
    assert nlp(SPAM[0]).cats["spam"] == pytest.approx(1.0 / (1.0 + math.exp(-logit)), abs=1e-5)


@pytest.mark.parametrize("depth,activation", [(1, "relu"), (1, "tanh"), (2, "relu"), (3, "tanh")])
def test_zero_init_hidden_units_stay_identical(depth, activation):
    """All weights at 0 make every hidden unit compute the same and
    receive the same gradient, so the layer never becomes more than one unit; with ReLU or
    tanh at 0 it does not even move, and only the output bias (the prior) is learned."""
    fix_random_seed(0)
    model = {**SMALL_MODEL, "depth": depth, "activation": activation, "init": "zeros"}
    nlp = train_nlp(model=model, steps=30)
    module = module_of(nlp)
    first = module.embed.weight.detach()
    assert torch.equal(first, first[:, :1].expand_as(first))  # every unit has the same inputs
    for layer in [*module.hidden, module.output]:
        weight = layer.weight.detach()
        assert torch.equal(weight, weight[:, :1].expand_as(weight))  # and the same outputs
    # Every message gets the prior (0.5 on these four spam and four ham).
    probs = {nlp(text).cats["spam"] for text in SPAM + HAM}
    assert len(probs) == 1


def test_random_init_hidden_units_differ_and_learn():
    fix_random_seed(0)
    nlp = train_nlp(model={**SMALL_MODEL, "depth": 2, "init": "default"}, steps=30)
    first = module_of(nlp).embed.weight.detach()
    assert not torch.equal(first, first[:, :1].expand_as(first))
    assert predicts_all(nlp)


def test_zero_init_is_fine_for_logistic_regression():
    """No hidden layer, no symmetry to break: a zero start learns."""
    nlp = train_nlp(model={**SMALL_MODEL, "depth": 0, "init": "zeros"}, steps=40)
    assert predicts_all(nlp)


def test_sparse_rows_weighting():
    """Counts per doc, optionally 1 + ln(count), idf-weighted and L2-normalized per doc."""
    kwargs = dict(hidden_width=4, depth=1, activation="relu", dropout=0.0, hashed=True)
    keys = numpy.array([3, 5, 3, 3, 7, 5], dtype="int64")
    doc_ids = numpy.array([0, 0, 0, 0, 2, 0], dtype="int64")
    counts = BoWPerceptron(10, 1, weighting="count", **kwargs)
    ids, offsets, weights = counts.sparse_rows(keys, doc_ids, 3)
    assert ids.tolist() == [3, 5, 7] and offsets.tolist() == [0, 2, 2]
    assert weights.tolist() == [3.0, 2.0, 1.0]
    sublinear = BoWPerceptron(10, 1, weighting="count", sublinear_tf=True, **kwargs)
    assert sublinear.sparse_rows(keys, doc_ids, 3)[2] == pytest.approx([1 + math.log(3), 1 + math.log(2), 1.0])
    binary = BoWPerceptron(10, 1, weighting="binary", **kwargs)
    assert binary.sparse_rows(keys, doc_ids, 3)[2].tolist() == [1.0, 1.0, 1.0]
    tfidf = BoWPerceptron(10, 1, weighting="tfidf", **kwargs)
    idf = numpy.linspace(1.0, 2.0, 10)
    tfidf.set_statistics(None, idf)
    _, _, weights = tfidf.sparse_rows(keys, doc_ids, 3)
    raw = numpy.array([3 * idf[3], 2 * idf[5]])
    assert weights[:2] == pytest.approx(raw / numpy.linalg.norm(raw))
    assert weights[2] == pytest.approx(1.0)


def test_feature_lookup_finds_every_key_and_only_those():
    rng = numpy.random.default_rng(0)
    vocab = numpy.unique(rng.integers(-(2**62), 2**62, 5000))
    # Keys that share their low bits collide in the table and must probe on.
    colliding = (numpy.arange(1, 40, dtype="int64") << 20) | 7
    vocab = numpy.unique(numpy.concatenate([vocab, colliding]))
    lookup = KeyTable(vocab)
    assert lookup(vocab).tolist() == list(range(len(vocab)))
    unknown = numpy.setdiff1d(rng.integers(-(2**62), 2**62, 5000), vocab)
    unknown = numpy.concatenate([unknown, (numpy.arange(50, 60, dtype="int64") << 20) | 7])
    assert (lookup(unknown) == -1).all()
    mixed = numpy.concatenate([unknown[:5], vocab[:5]])
    assert lookup(mixed).tolist() == [-1] * 5 + list(range(5))


def test_a_doc_scores_the_same_alone_and_in_any_batch():
    nlp = train_nlp(model={**SMALL_MODEL, "depth": 2}, steps=10)
    texts = SPAM + HAM + ["", "   ", "zzz qqq"]
    alone = [nlp(text).cats for text in texts]
    for batch_size in (2, 3, 1000):
        assert [doc.cats for doc in nlp.pipe(texts, batch_size=batch_size)] == alone


def test_v1_keeps_its_signature_and_range():
    model = {key: value for key, value in SMALL_MODEL.items() if key not in ("sublinear_tf", "init", "char_ngram_range")}
    model["@architectures"] = "spacy-ru-nn.BoWPerceptron.v1"
    nlp = train_nlp(model=model, steps=30)
    assert predicts_all(nlp)
    with pytest.raises(ValueError, match="depth"):
        English().add_pipe("nn_textcat", config={"model": {**model, "depth": 0}})


def test_invalid_v2_values():
    for bad in ({"depth": -1}, {"depth": 4}, {"init": "ones"}):
        with pytest.raises(ValueError):
            English().add_pipe("nn_textcat", config={"model": {**SMALL_MODEL, **bad}})


def test_logistic_regression_round_trips_through_disk(tmp_path):
    import spacy

    nlp = train_nlp(model={**SMALL_MODEL, "depth": 0}, steps=10)
    nlp.to_disk(tmp_path / "lr")
    loaded = spacy.load(tmp_path / "lr")
    texts = SPAM + HAM
    assert [d.cats for d in loaded.pipe(texts)] == [d.cats for d in nlp.pipe(texts)]


CHARS = {**SMALL_MODEL, "char_ngram_range": [2, 4]}


def test_char_ngrams_train_and_reach_unseen_words():
    nlp = train_nlp(model=CHARS, steps=40)
    module = module_of(nlp)
    assert module.char_embed is not None and module.n_char_features > 0
    assert predicts_all(nlp)
    # "WINNERS" and "prizes" were never seen as words, but their character n-grams were.
    unseen = nlp("WINNERS prizes").cats["spam"]
    nothing = nlp("qqq").cats["spam"]
    assert unseen > nothing


def test_char_ngrams_same_alone_in_any_batch_and_after_loading(tmp_path):
    import spacy

    nlp = train_nlp(model=CHARS, steps=10)
    texts = SPAM + HAM + ["", "   ", "zzz qqq", "a" * 5000]
    alone = [nlp(text).cats for text in texts]
    for batch_size in (2, 1000):
        assert [doc.cats for doc in nlp.pipe(texts, batch_size=batch_size)] == alone
    nlp.to_disk(tmp_path / "chars")
    assert [doc.cats for doc in spacy.load(tmp_path / "chars").pipe(texts)] == alone


def test_char_ngrams_of_a_word_are_computed_once(monkeypatch):
    nlp = train_nlp(model=CHARS, steps=2)
    module = module_of(nlp)
    module.eval()
    featurizer = nlp.get_pipe("nn_textcat").model.get_ref("featurizer")
    asked = []
    bag = featurizer.predict([nlp.make_doc("call now call")])
    real = bag.words.char_ngrams
    bag.words.char_ngrams = lambda keys: asked.append(len(keys)) or real(keys)
    module._words = None
    first = module.char_rows(bag.words, 1, is_train=True)
    second = module.char_rows(bag.words, 1, is_train=True)
    assert asked == [2]  # "call" and "now", once
    assert all(numpy.array_equal(first[k], second[k]) for k in first)
    assert first["token_words"].tolist() == [0, 1, 0]


def test_word_cache_starts_over_when_full(monkeypatch):
    import spacy_ru_nn.legacy.textcat.bow as bow

    nlp = train_nlp(model=CHARS, steps=5)
    texts = SPAM + HAM
    expected = [doc.cats for doc in nlp.pipe(texts)]
    monkeypatch.setattr(bow, "MAX_CACHED_WORDS", 12)
    module_of(nlp)._words = None
    assert [nlp(text).cats for text in texts] == expected
    assert len(module_of(nlp)._words.table) <= 12 + max(len(nlp.make_doc(t)) for t in texts)


def test_char_part_is_normalized_per_doc():
    """With tf-idf, a doc's token weights are 1 / sqrt(sum of its words' squared norms)."""
    nlp = train_nlp(model=CHARS, steps=2)
    module = module_of(nlp)
    featurizer = nlp.get_pipe("nn_textcat").model.get_ref("featurizer")
    bag = featurizer.predict([nlp.make_doc("call call now"), nlp.make_doc("now")])
    rows = module.char_rows(bag.words, 2, is_train=True)
    sq = module._words.sq_norms.values
    call, _, now = module._words.table(bag.words.keys[:3].view("int64"))
    first = 1.0 / math.sqrt(2 * sq[call] + sq[now])
    assert rows["token_weights"].tolist() == pytest.approx([first, first, first, 1.0 / math.sqrt(sq[now])])
    assert rows["token_offsets"].tolist() == [0, 3]


def test_cached_word_vectors_follow_every_weight_change():
    """Inference caches each word's character n-gram vector; an update, use_params and loading
    must each be seen at once, as a model without the cache would see them."""
    from spacy.lang.en import English
    from thinc.api import Adam

    nlp = train_nlp(model=CHARS, steps=3)
    texts = SPAM + HAM

    def fresh_copy_cats():
        other = English()
        other.add_pipe("nn_textcat", config={"model": CHARS})
        other.from_bytes(nlp.to_bytes())
        return [doc.cats for doc in other.pipe(texts)]

    before = [doc.cats for doc in nlp.pipe(texts)]  # fills the cache
    optimizer = Adam(0.05, use_averages=True)
    nlp.update(make_examples(nlp), sgd=optimizer)
    after = [doc.cats for doc in nlp.pipe(texts)]
    assert after != before
    assert after == fresh_copy_cats()
    nlp.update(make_examples(nlp), sgd=optimizer)
    trained = [doc.cats for doc in nlp.pipe(texts)]
    with nlp.use_params(optimizer.averages):
        averaged = [doc.cats for doc in nlp.pipe(texts)]
    assert averaged != trained
    assert [doc.cats for doc in nlp.pipe(texts)] == trained


LEXEME_TEXTS = SPAM + HAM + ["", "  \n ", "Hi  there\t!", "FREE free Free", "Straße ЖУК 12:30 http://x.y"]
# Invisible characters glued to words and on their own: both paths read the visible words.
LEXEME_TEXTS += ["Call\u200b now \u202e FREE\ufeff", "\u200b", "don\u2060't \u200f Hi"]


@pytest.mark.parametrize("token_attrs", [["SHAPE"], ["SHAPE", "PREFIX", "SUFFIX"], []])
@pytest.mark.parametrize("lowercase", [True, False])
def test_featurizer_reads_lexeme_attributes_as_to_array_does(token_attrs, lowercase):
    """One to_array(ORTH) per doc and a table of lexeme attributes give the very keys that
    to_array of every column gives, in any batch."""
    nlp = English()
    docs = [nlp.make_doc(text) for text in LEXEME_TEXTS]
    fast = bag_of_ngrams((1, 2), lowercase, token_attrs, (2, 4))
    slow = bag_of_ngrams((1, 2), lowercase, token_attrs, (2, 4))
    assert isinstance(fast.attrs["lexemes"], LexemeColumns)
    slow.attrs["lexemes"] = None
    for size in (1, 3, len(docs)):
        for start in range(0, len(docs), size):
            a, b = fast.predict(docs[start : start + size]), slow.predict(docs[start : start + size])
            assert a.n_docs == b.n_docs
            for x, y in ((a.keys, b.keys), (a.doc_ids, b.doc_ids), (a.words.keys, b.words.keys), (a.words.doc_ids, b.words.doc_ids)):
                assert numpy.array_equal(x, y)


def test_token_level_attributes_are_read_from_the_doc():
    # A token's POS (or NORM) is its own, not its word's: no lexeme table then.
    assert bag_of_ngrams((1, 1), True, ["POS"]).attrs["lexemes"] is None
    assert bag_of_ngrams((1, 1), True, ["NORM"]).attrs["lexemes"] is None


def test_lexeme_table_is_not_saved_copied_or_kept_for_another_vocab(monkeypatch):
    import copy
    import pickle

    import spacy_ru_nn.legacy.textcat.ngrams as ngrams

    nlp = English()
    featurizer = bag_of_ngrams((1, 2), True, ["SHAPE"])
    featurizer.predict([nlp.make_doc(text) for text in SPAM])
    table = featurizer.attrs["lexemes"]
    assert len(table.table) > 0
    assert len(copy.deepcopy(featurizer).attrs["lexemes"].table) == 0
    assert len(pickle.loads(pickle.dumps(table)).table) == 0
    featurizer.from_bytes(featurizer.to_bytes())
    assert featurizer.attrs["lexemes"] is table and len(table.table) == 0
    other = English()
    featurizer.predict([nlp.make_doc("one two")])
    featurizer.predict([other.make_doc("three")])
    assert table.vocab is other.vocab and len(table.table) == 1
    # Full: it starts over, and the keys stay right.
    monkeypatch.setattr(ngrams, "MAX_CACHED_LEXEMES", 5)
    docs = [nlp.make_doc(text) for text in SPAM]
    fresh = bag_of_ngrams((1, 2), True, ["SHAPE"])
    fresh.attrs["lexemes"] = None
    for doc in docs:
        assert numpy.array_equal(featurizer.predict([doc]).keys, fresh.predict([doc]).keys)
        assert len(table.table) <= 5 + len(doc)


def test_prediction_leaves_training_mode_to_updates():
    """Inference runs the module in eval mode without switching back; an update trains with
    dropout again, and predictions after it are those of a fresh copy."""
    nlp = train_nlp(steps=2)
    module = module_of(nlp)
    before = [nlp(text).cats for text in SPAM]
    assert not module.training
    seen = []
    hook = module.register_forward_pre_hook(lambda mod, args, kwargs: seen.append(mod.training), with_kwargs=True)
    nlp.update(make_examples(nlp), sgd=nlp.create_optimizer(), drop=0.5)
    nlp(SPAM[0])
    hook.remove()
    assert seen == [True, False]
    assert [nlp(text).cats for text in SPAM] != before
    other = English()
    other.add_pipe("nn_textcat", config={"model": SMALL_MODEL})
    other.from_bytes(nlp.to_bytes())
    assert [other(text).cats for text in SPAM] == [nlp(text).cats for text in SPAM]
