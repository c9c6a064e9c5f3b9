"""spacy-ru-nn.BoWPerceptron.v3 over spacy-ru-nn.NgramVectorizer.v1: logistic regression
(depth 0), the weight init, the vectorizer's weighting, vocabulary lookup and caches."""
import copy
import math
import pickle

import numpy
import pytest
import torch
from spacy.lang.en import English
from thinc.api import fix_random_seed

from conftest import HAM, SPAM, bow_model
from spacy_ru_nn.textcat.arrays import KeyTable
from spacy_ru_nn.textcat.mlp import SparseMLP
from spacy_ru_nn.textcat.vectorizer import NgramVectorizer
from spacy_ru_nn.torch_glue import torch_module
from test_textcat import make_examples, train_nlp


def module_of(nlp) -> SparseMLP:
    return torch_module(nlp.get_pipe("nn_textcat").model.get_ref("output_layer"))


def vectorizer_of(nlp) -> NgramVectorizer:
    return nlp.get_pipe("nn_textcat").model.get_ref("vectorizer")


def predicts_all(nlp) -> bool:
    return all(nlp(t).cats["spam"] > 0.5 for t in SPAM) and all(nlp(t).cats["spam"] < 0.5 for t in HAM)


def vectorizer(**settings) -> NgramVectorizer:
    words_only = {
        "features": "vocab", "n_buckets": 0, "min_df": 1, "ngram_range": [1, 1], "lowercase": True,
        "token_attrs": [], "char_ngram_range": None, "weighting": "count", "sublinear_tf": False,
    }  # fmt: skip
    return NgramVectorizer(**{**words_only, **settings})


def test_depth_0_is_logistic_regression():
    nlp = train_nlp(model=bow_model(depth=0), steps=40)
    module = module_of(nlp)
    assert module.output is None and len(module.hidden) == 0
    assert module.embed.weight.shape == (vectorizer_of(nlp).get_dim("nO"), 1)
    assert predicts_all(nlp)
    # p(spam) = sigmoid(w . x + b) over the doc's weighted features, nothing else.
    features = vectorizer_of(nlp).predict([nlp.make_doc(SPAM[0])])
    w = module.embed.weight.detach().numpy()[:, 0]
    logit = float((w[features.ids] * features.weights).sum() + module.embed_bias.item())
    assert nlp(SPAM[0]).cats["spam"] == pytest.approx(1.0 / (1.0 + math.exp(-logit)), abs=1e-5)


@pytest.mark.parametrize("depth,activation", [(1, "relu"), (1, "tanh"), (2, "relu"), (3, "tanh")])
def test_zero_init_hidden_units_stay_identical(depth, activation):
    """All weights at 0 make every hidden unit compute the same and
    receive the same gradient, so the layer never becomes more than one unit; with ReLU or
    tanh at 0 it does not even move, and only the output bias (the prior) is learned."""
    fix_random_seed(0)
    nlp = train_nlp(model=bow_model(depth=depth, activation=activation, init="zeros"), steps=30)
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
    nlp = train_nlp(model=bow_model(depth=2, init="default"), steps=30)
    first = module_of(nlp).embed.weight.detach()
    assert not torch.equal(first, first[:, :1].expand_as(first))
    assert predicts_all(nlp)


def test_zero_init_is_fine_for_logistic_regression():
    """No hidden layer, no symmetry to break: a zero start learns."""
    nlp = train_nlp(model=bow_model(depth=0, init="zeros"), steps=40)
    assert predicts_all(nlp)


@pytest.mark.parametrize("weighting,sublinear_tf", [("count", False), ("count", True), ("binary", False), ("tfidf", False)])
def test_vectorizer_weighting(weighting, sublinear_tf):
    """Counts per doc, optionally 1 + ln(count), idf-weighted and L2-normalized per doc."""
    nlp = English()
    layer = vectorizer(weighting=weighting, sublinear_tf=sublinear_tf)
    layer.initialize(X=[nlp.make_doc(text) for text in ("a b", "b c", "c")])
    features = layer.predict([nlp.make_doc("a b a a b"), nlp.make_doc(""), nlp.make_doc("zzz c")])
    a, b, c = (int(layer.fitted_tables().to_ids(numpy.asarray([nlp.vocab.strings[w]], dtype="uint64"))[0]) for w in "abc")
    assert sorted([a, b, c]) == [0, 1, 2]
    assert features.ids.tolist() == sorted([a, b]) + [c]
    assert features.offsets.tolist() == [0, 2, 2]
    counts = {a: 3.0, b: 2.0}
    if weighting == "binary":
        counts = {a: 1.0, b: 1.0}
    elif sublinear_tf:
        counts = {a: 1 + math.log(3), b: 1 + math.log(2)}
    expected = numpy.asarray([counts[i] for i in sorted(counts)])
    if weighting == "tfidf":
        # Smoothed idf over the 3 fitting docs: a in 1 of them, b and c in 2.
        idf = {a: math.log(4 / 2) + 1, b: math.log(4 / 3) + 1}
        expected *= [idf[i] for i in sorted(counts)]
        expected /= numpy.linalg.norm(expected)
    assert features.weights[:2] == pytest.approx(expected)
    assert features.weights[2] == pytest.approx(1.0)  # "zzz" is unknown: only c remains


def test_vectorizer_hashes_into_n_buckets():
    nlp = English()
    layer = vectorizer(features="hash", n_buckets=7, ngram_range=[1, 2], token_attrs=["SHAPE"])
    layer.initialize(X=[nlp.make_doc("warm up")])
    assert layer.get_dim("nO") == 7 and layer.attrs["vocab"] is None
    features = layer.predict([nlp.make_doc("never seen words 0800")])
    assert len(features.ids) and features.ids.max() < 7 and features.ids.min() >= 0


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
    nlp = train_nlp(model=bow_model(depth=2), steps=10)
    texts = SPAM + HAM + ["", "   ", "zzz qqq"]
    alone = [nlp(text).cats for text in texts]
    for batch_size in (2, 3, 1000):
        assert [doc.cats for doc in nlp.pipe(texts, batch_size=batch_size)] == alone


def test_invalid_values():
    for bad in ({"depth": -1}, {"depth": 4}, {"init": "ones"}, {"features": "bpe"}, {"char_ngram_range": [0, 3]}):
        with pytest.raises(ValueError):
            English().add_pipe("nn_textcat", config={"model": bow_model(**bad)})
    with pytest.raises(ValueError, match="n_buckets"):
        English().add_pipe("nn_textcat", config={"model": bow_model(features="hash", n_buckets=0)})


def test_logistic_regression_round_trips_through_disk(tmp_path):
    import spacy

    nlp = train_nlp(model=bow_model(depth=0), steps=10)
    nlp.to_disk(tmp_path / "lr")
    loaded = spacy.load(tmp_path / "lr")
    texts = SPAM + HAM
    assert [d.cats for d in loaded.pipe(texts)] == [d.cats for d in nlp.pipe(texts)]


CHARS = bow_model(char_ngram_range=[2, 4])


def test_char_ngrams_train_and_reach_unseen_words():
    nlp = train_nlp(model=CHARS, steps=40)
    module = module_of(nlp)
    assert module.char_embed is not None
    assert module.char_embed.weight.shape[0] == vectorizer_of(nlp).get_dim("nC") > 0
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
    import spacy_ru_nn.textcat.vectorizer as vectorizer_module

    nlp = train_nlp(model=CHARS, steps=2)
    layer = vectorizer_of(nlp)
    asked = []
    real = vectorizer_module.char_ngram_keys
    monkeypatch.setattr(vectorizer_module, "char_ngram_keys", lambda s, keys, r: asked.append(len(keys)) or real(s, keys, r))
    layer.fitted_tables().words.clear()
    first = layer.predict([nlp.make_doc("call now call")]).words
    second = layer.predict([nlp.make_doc("call now call")]).words
    assert asked == [2]  # "call" and "now", once
    assert all(numpy.array_equal(a, b) for a, b in zip(first.bags(), second.bags()))
    assert first.token_words.tolist() == [0, 1, 0]
    assert first.bags()[1].tolist()[0] == 0 and len(first.bags()[1]) == 2


def test_word_cache_starts_over_when_full(monkeypatch):
    import spacy_ru_nn.textcat.vectorizer as vectorizer_module

    nlp = train_nlp(model=CHARS, steps=5)
    texts = SPAM + HAM
    expected = [doc.cats for doc in nlp.pipe(texts)]
    monkeypatch.setattr(vectorizer_module, "MAX_CACHED_WORDS", 12)
    words = vectorizer_of(nlp).fitted_tables().words
    words.clear()
    assert [nlp(text).cats for text in texts] == expected
    assert len(words) <= 12 + max(len(nlp.make_doc(t)) for t in texts)


def test_word_vectors_are_computed_once_across_batches_until_the_weights_change():
    """At inference a word's character n-gram vector is summed in the first batch it occurs in
    and reused after; a training step or use_params makes every word's be summed again."""
    from thinc.api import Adam

    nlp = train_nlp(model=CHARS, steps=2)
    module = module_of(nlp)
    summed = []
    real = module.embed_words
    module.embed_words = lambda ids, offsets, weights: summed.append(len(offsets)) or real(ids, offsets, weights)
    nlp("call now")
    nlp("now call later")
    assert summed == [2, 1]  # "call", "now"; then "later" only
    expected = nlp("call later").cats
    optimizer = Adam(0.05, use_averages=True)
    nlp.update(make_examples(nlp), sgd=optimizer)
    summed.clear()
    nlp("call later")
    assert summed == [2]
    with nlp.use_params(optimizer.averages):
        summed.clear()
        nlp("call later")
        assert summed == [2]
    summed.clear()
    assert nlp("call later").cats != expected and summed == [2]


def test_char_part_is_normalized_per_doc():
    """With tf-idf, a doc's token weights are 1 / sqrt(sum of its words' squared norms)."""
    nlp = train_nlp(model=CHARS, steps=2)
    layer = vectorizer_of(nlp)
    words = layer.predict([nlp.make_doc("call call now"), nlp.make_doc("now")]).words
    cache = layer.fitted_tables().words
    sq = cache.sq_norms.values
    call, now = cache.rows(nlp.vocab.strings, numpy.asarray([nlp.vocab.strings["call"], nlp.vocab.strings["now"]], dtype="uint64"))
    first = 1.0 / math.sqrt(2 * sq[call] + sq[now])
    assert words.token_weights.tolist() == pytest.approx([first, first, first, 1.0 / math.sqrt(sq[now])])
    assert words.token_offsets.tolist() == [0, 3]


def test_predictions_follow_every_weight_change():
    """An update, use_params and loading must each be seen at once."""
    from thinc.api import Adam

    nlp = train_nlp(model=CHARS, steps=3)
    texts = SPAM + HAM

    def fresh_copy_cats():
        other = English()
        other.add_pipe("nn_textcat", config={"model": CHARS})
        other.from_bytes(nlp.to_bytes())
        return [doc.cats for doc in other.pipe(texts)]

    before = [doc.cats for doc in nlp.pipe(texts)]
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
def test_vectorizer_reads_lexeme_attributes_as_to_array_does(token_attrs, lowercase):
    """One to_array(ORTH) per doc and a table of lexeme attributes give the very keys that
    to_array of every column gives, in any batch."""
    nlp = English()
    docs = [nlp.make_doc(text) for text in LEXEME_TEXTS]
    settings = {"ngram_range": [1, 2], "lowercase": lowercase, "token_attrs": token_attrs, "char_ngram_range": [2, 4]}
    fast, slow = vectorizer(**settings), vectorizer(**settings)
    assert fast.lexemes is not None
    slow.lexemes = None
    for size in (1, 3, len(docs)):
        for start in range(0, len(docs), size):
            batch = docs[start : start + size]
            for a, b in zip(fast.ngram_keys(batch), slow.ngram_keys(batch)):
                assert numpy.array_equal(a, b)


def test_token_level_attributes_are_read_from_the_doc():
    # A token's POS (or NORM) is its own, not its word's: no lexeme table then.
    assert vectorizer(token_attrs=["POS"]).lexemes is None
    assert vectorizer(token_attrs=["NORM"]).lexemes is None


def test_lexeme_table_is_not_saved_copied_or_kept_for_another_vocab(monkeypatch):
    import spacy_ru_nn.textcat.tokens as tokens

    nlp = English()
    layer = vectorizer(ngram_range=[1, 2], token_attrs=["SHAPE"])
    layer.initialize(X=[nlp.make_doc(text) for text in SPAM])
    table = layer.lexemes
    assert len(table.table) > 0
    assert len(copy.deepcopy(layer).lexemes.table) == 0
    assert len(pickle.loads(pickle.dumps(table)).table) == 0
    assert not any(isinstance(value, type(table)) for value in layer.attrs.values())
    other = English()
    layer.predict([nlp.make_doc("one two")])
    layer.predict([other.make_doc("three")])
    assert table.vocab is other.vocab and len(table.table) == 1
    # Full: it starts over, and the keys stay right.
    monkeypatch.setattr(tokens, "MAX_CACHED_LEXEMES", 5)
    docs = [nlp.make_doc(text) for text in SPAM]
    fresh = vectorizer(ngram_range=[1, 2], token_attrs=["SHAPE"])
    fresh.lexemes = None
    for doc in docs:
        assert numpy.array_equal(layer.ngram_keys([doc])[0], fresh.ngram_keys([doc])[0])
        assert len(table.table) <= 5 + len(doc)


@pytest.mark.parametrize("settings", [{}, {"char_ngram_range": [2, 4], "weighting": "tfidf"}, {"features": "hash", "n_buckets": 64, "char_ngram_range": [1, 3]}])
def test_vectorizer_state_round_trips_before_and_after_initialize(settings, tmp_path):
    """The fitted vocabularies and idf travel in the bytes; a layer loaded from them, never
    initialized, vectorizes exactly as the fitted one."""
    nlp = English()
    fitted = vectorizer(ngram_range=[1, 2], token_attrs=["SHAPE"], **settings)
    # Before initialize: nothing fitted, and nothing fitted after loading either.
    empty = vectorizer(ngram_range=[1, 2], token_attrs=["SHAPE"], **settings).from_bytes(fitted.to_bytes())
    assert not empty.has_dim("nO")
    with pytest.raises(ValueError, match="not initialized"):
        empty.predict([nlp.make_doc("hi")])
    fitted.initialize(X=[nlp.make_doc(text) for text in SPAM + HAM])
    docs = [nlp.make_doc(text) for text in SPAM + HAM + ["unseen words", ""]]
    expected = fitted.predict(docs)
    fitted.to_disk(tmp_path / "vectorizer")
    for loaded in (
        vectorizer(ngram_range=[1, 2], token_attrs=["SHAPE"], **settings).from_bytes(fitted.to_bytes()),
        vectorizer(ngram_range=[1, 2], token_attrs=["SHAPE"], **settings).from_disk(tmp_path / "vectorizer"),
    ):
        assert (loaded.get_dim("nO"), loaded.get_dim("nC")) == (fitted.get_dim("nO"), fitted.get_dim("nC"))
        got = loaded.predict(docs)
        for name in ("ids", "offsets", "weights"):
            assert numpy.array_equal(getattr(got, name), getattr(expected, name)), name
        assert (got.words is None) == (expected.words is None)
        if got.words is not None:
            assert all(numpy.array_equal(a, b) for a, b in zip(got.words.bags(), expected.words.bags()))
            assert numpy.array_equal(got.words.token_weights, expected.words.token_weights)


def test_caches_follow_the_state_they_were_built_from():
    """A layer that has vectorized with one fitted state vectorizes with the one it loads
    or fits next, as a fresh layer with that state does."""
    nlp = English()
    docs = [nlp.make_doc(text) for text in SPAM + HAM]
    settings = {"features": "hash", "n_buckets": 64, "char_ngram_range": [2, 3], "weighting": "tfidf"}
    first, second = vectorizer(**settings), vectorizer(**settings)
    first.initialize(X=docs[:4])
    second.initialize(X=docs)
    before = first.predict(docs)
    # Same sizes, other idf: loading replaces the arrays the caches were built from.
    first.from_bytes(second.to_bytes())
    after, expected = first.predict(docs), second.predict(docs)
    assert not numpy.array_equal(before.weights, after.weights)
    assert numpy.array_equal(after.weights, expected.weights)
    assert numpy.array_equal(after.words.bags()[2], expected.words.bags()[2])
    # Fitting again replaces them too, vocabulary and sizes included.
    words = vectorizer(char_ngram_range=[2, 3])
    words.initialize(X=docs[:4])
    words.predict(docs)
    words.initialize(X=docs)
    fresh = vectorizer(char_ngram_range=[2, 3])
    fresh.initialize(X=docs)
    got, want = words.predict(docs), fresh.predict(docs)
    assert numpy.array_equal(got.ids, want.ids) and numpy.array_equal(got.words.bags()[0], want.words.bags()[0])


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
    other.add_pipe("nn_textcat", config={"model": bow_model()})
    other.from_bytes(nlp.to_bytes())
    assert [other(text).cats for text in SPAM] == [nlp(text).cats for text in SPAM]
