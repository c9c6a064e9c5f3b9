"""spacy-ru-nn.BiLSTMClassifier.v2 over spacy-ru-nn.TokenEmbed.v1 in nn_textcat: pooling masks,
attention, training, serialization, another embed."""
import numpy
import pytest
import spacy
import torch
from spacy.lang.en import English
from spacy.language import Language
from spacy.training import Example
from thinc.api import fix_random_seed

from conftest import HAM, SPAM
from spacy_ru_nn.textcat.bilstm import POOLINGS, BiLSTMClassifier
from spacy_ru_nn.torch_glue import torch_module

# Lengths from 1 to 15 tokens, a whitespace-only doc and an empty one: plenty of padding.
MIXED = ["ok", "Call 0800 now", "", "   ", *SPAM[:2], HAM[3], "a  b\n\nc"]


def small_model(pooling: str, max_tokens: int = 40, **embed) -> dict:
    return {
        "@architectures": "spacy-ru-nn.BiLSTMClassifier.v2",
        "width": 32,
        "depth": 1,
        "pooling": pooling,
        "nO": None,
        "embed": {
            "@architectures": "spacy-ru-nn.TokenEmbed.v1",
            "attrs": ["LOWER", "SHAPE", "SUFFIX"],
            "rows": [500, 50, 200],
            "attr_width": 16,
            "width": 32,
            "max_tokens": max_tokens,
            **embed,
        },
    }


def make_examples(nlp: Language):
    data = [(text, "spam") for text in SPAM] + [(text, "ham") for text in HAM]
    return [
        Example.from_dict(nlp.make_doc(text), {"cats": {"ham": float(label == "ham"), "spam": float(label == "spam")}})
        for text, label in data
    ]


def train_nlp(pooling: str, steps: int = 0) -> Language:
    fix_random_seed(0)
    nlp = English()
    nlp.add_pipe("nn_textcat", config={"model": small_model(pooling)})
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    optimizer.learn_rate = 0.01
    for _ in range(steps):
        nlp.update(examples, sgd=optimizer, drop=0.1)
    return nlp


@pytest.fixture(scope="module")
def trained():
    """One pipeline per pooling mode, trained to overfit the eight messages."""
    return {pooling: train_nlp(pooling, steps=40) for pooling in POOLINGS}


@pytest.mark.parametrize("pooling", POOLINGS)
def test_padded_batch_equals_doc_alone(pooling):
    # Untrained weights are random, so padding leaking into any mode would show.
    nlp = train_nlp(pooling)
    textcat = nlp.get_pipe("nn_textcat")
    docs = [nlp.make_doc(text) for text in MIXED]
    batched = textcat.predict(docs)
    alone = numpy.vstack([textcat.predict([doc]) for doc in docs])
    numpy.testing.assert_allclose(batched, alone, atol=1e-5)
    # The scores do depend on the text, so the comparison above can fail.
    assert numpy.ptp(batched[:, 1]) > 1e-4


@pytest.mark.parametrize("pooling", POOLINGS)
def test_padding_values_never_reach_the_pooled_vector(pooling):
    """Garbage in the padding positions changes nothing: the masks are complete."""
    fix_random_seed(0)
    module = BiLSTMClassifier(8, 16, 1, pooling, n_logits=1).eval()
    lengths = torch.tensor([3, 1, 0, 5])
    ids = torch.randn(int(lengths.sum()), 8)
    with torch.no_grad():
        pooled, weights = module.encode(ids, lengths)
        hidden_calls = []
        handle = module.lstm.register_forward_hook(lambda mod, inp, out: hidden_calls.append(out))
        module.encode(ids, lengths)
        handle.remove()
    # The LSTM output at padding is nonzero (the forward LSTM runs on), so masking matters.
    padding = torch.arange(5).unsqueeze(1) >= lengths.unsqueeze(0)
    assert hidden_calls[0][padding].abs().sum() > 0
    assert torch.all(pooled[2] == 0)  # the empty doc
    for i, n in enumerate(lengths.tolist()):
        if n == 0:
            continue
        with torch.no_grad():
            single, _ = module.encode(ids[int(lengths[:i].sum()) : int(lengths[:i].sum()) + n], torch.tensor([n]))
        torch.testing.assert_close(pooled[i], single[0], atol=1e-5, rtol=1e-5)


def test_last_pooling_takes_forward_last_and_backward_first():
    fix_random_seed(0)
    module = BiLSTMClassifier(8, 16, 1, "last", n_logits=1).eval()
    lengths = torch.tensor([4, 2])
    ids = torch.randn(6, 8)
    outputs = []
    handle = module.lstm.register_forward_hook(lambda mod, inp, out: outputs.append(out))
    with torch.no_grad():
        pooled, _ = module.encode(ids, lengths)
    handle.remove()
    hidden = outputs[0]
    torch.testing.assert_close(pooled[0], torch.cat([hidden[3, 0, :8], hidden[0, 0, 8:]]))
    torch.testing.assert_close(pooled[1], torch.cat([hidden[1, 1, :8], hidden[0, 1, 8:]]))


def test_attention_weights_sum_to_one_and_are_zero_on_padding():
    fix_random_seed(0)
    module = BiLSTMClassifier(8, 16, 1, "attention", n_logits=1).eval()
    lengths = torch.tensor([3, 1, 0, 5])
    ids = torch.randn(9, 8)
    with torch.no_grad():
        _, weights = module.encode(ids, lengths)
    assert weights.shape == (5, 4)
    mask = torch.arange(5).unsqueeze(1) < lengths.unsqueeze(0)
    assert torch.all(weights[~mask] == 0)
    assert torch.all(weights[mask] > 0)
    torch.testing.assert_close(weights.sum(dim=0), torch.tensor([1.0, 1.0, 0.0, 1.0]))


def test_component_attention_pairs(trained):
    nlp = trained["attention"]
    textcat = nlp.get_pipe("nn_textcat")
    doc = nlp.make_doc("Txt  CASH to 85023 now")
    pairs = textcat.attention(doc)
    # Whitespace tokens are not read, so they get no weight.
    assert [token.text for token, _ in pairs] == ["Txt", "CASH", "to", "85023", "now"]
    assert sum(weight for _, weight in pairs) == pytest.approx(1.0, abs=1e-5)
    assert textcat.attention(nlp.make_doc("")) == []
    assert textcat.attention(nlp.make_doc("   ")) == []
    with pytest.raises(ValueError, match="pooling"):
        trained["mean"].get_pipe("nn_textcat").attention(doc)


def test_attention_respects_max_tokens():
    nlp = English()
    nlp.add_pipe("nn_textcat", config={"model": small_model("attention", max_tokens=3)})
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    pairs = nlp.get_pipe("nn_textcat").attention(nlp.make_doc("one two three four five"))
    assert [token.text for token, _ in pairs] == ["one", "two", "three"]
    assert sum(weight for _, weight in pairs) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("pooling", POOLINGS)
def test_overfits_a_handful_of_messages(trained, pooling):
    nlp = trained[pooling]
    for text in SPAM:
        assert nlp(text).cats["spam"] > 0.8, (pooling, text)
    for text in HAM:
        assert nlp(text).cats["spam"] < 0.2, (pooling, text)


@pytest.mark.parametrize("pooling", POOLINGS)
def test_empty_and_whitespace_docs(trained, pooling):
    nlp = trained[pooling]
    empty, blank, short = list(nlp.pipe(["", "  \n ", "ok"]))
    for doc in (empty, blank):
        assert set(doc.cats) == {"ham", "spam"}
        assert doc.cats["spam"] + doc.cats["ham"] == pytest.approx(1.0)
    # Neither has a token to read: both score as the learned prior.
    assert empty.cats["spam"] == pytest.approx(blank.cats["spam"], abs=1e-6)
    # A batch of only empty docs never reaches the LSTM and still scores.
    only_empty = list(nlp.pipe(["", " "]))
    assert only_empty[0].cats["spam"] == pytest.approx(empty.cats["spam"], abs=1e-6)
    losses = nlp.update(make_examples(nlp)[:1] + [Example.from_dict(nlp.make_doc(""), {"cats": {"ham": 1.0, "spam": 0.0}})])
    assert numpy.isfinite(losses["nn_textcat"])


def scores(nlp: Language):
    return numpy.asarray([[doc.cats["spam"]] for doc in nlp.pipe(SPAM + HAM + MIXED)])


@pytest.mark.parametrize("pooling", POOLINGS)
def test_to_bytes_round_trip(trained, pooling):
    nlp = trained[pooling]
    fresh = English()
    fresh.add_pipe("nn_textcat", config={"model": small_model(pooling)})
    # No initialize: the label-sized head is rebuilt from the serialized bytes.
    fresh.from_bytes(nlp.to_bytes())
    numpy.testing.assert_array_equal(scores(fresh), scores(nlp))


@pytest.mark.parametrize("pooling", ["last", "attention"])
def test_to_disk_spacy_load_round_trip(trained, pooling, tmp_path):
    nlp = trained[pooling]
    nlp.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    numpy.testing.assert_array_equal(scores(loaded), scores(nlp))
    if pooling == "attention":
        text = "Txt CASH now"
        expected = [(t.text, w) for t, w in nlp.get_pipe("nn_textcat").attention(nlp.make_doc(text))]
        got = [(t.text, w) for t, w in loaded.get_pipe("nn_textcat").attention(loaded.make_doc(text))]
        assert got == expected


def test_bad_config_fails_at_add_pipe():
    nlp = English()
    with pytest.raises(ValueError, match="pooling"):
        nlp.add_pipe("nn_textcat", config={"model": small_model("sum")})
    bad = small_model("mean")
    bad["width"] = 33
    with pytest.raises(ValueError, match="even"):
        nlp.add_pipe("nn_textcat", name="odd", config={"model": bad})
    with pytest.raises(ValueError, match="rows"):
        nlp.add_pipe("nn_textcat", name="rows", config={"model": small_model("mean", rows=[10])})
    with pytest.raises(ValueError, match="max_tokens"):
        nlp.add_pipe("nn_textcat", name="max_tokens", config={"model": small_model("mean", max_tokens=0)})


def test_config_file_builds_and_trains(tmp_path):
    """configs/spam_bilstm.cfg initializes and trains on a tiny corpus, each pooling mode."""
    from pathlib import Path

    from spacy.tokens import DocBin
    from spacy.training.initialize import init_nlp
    from spacy.util import load_config

    nlp = English()
    db = DocBin(store_user_data=False)
    for eg in make_examples(nlp):
        doc = eg.reference
        db.add(doc)
    db.to_disk(tmp_path / "tiny.spacy")
    cfg_path = Path(__file__).parent.parent / "configs" / "spam_bilstm.cfg"
    for pooling in ("last", "attention"):
        overrides = {
            "paths.train": str(tmp_path / "tiny.spacy"),
            "paths.dev": str(tmp_path / "tiny.spacy"),
            "components.textcat.model.pooling": pooling,
        }
        config = load_config(cfg_path, overrides=overrides, interpolate=False)
        trained = init_nlp(config)
        textcat = trained.get_pipe("textcat")
        model_config = trained.config["components"]["textcat"]["model"]
        assert model_config["@architectures"] == "spacy-ru-nn.BiLSTMClassifier.v2"
        assert model_config["embed"]["@architectures"] == "spacy-ru-nn.TokenEmbed.v1"
        assert textcat.cfg["positive_label"] == "spam"
        assert textcat.labels == ("ham", "spam")
        optimizer = trained.resume_training()
        losses = {}
        for _ in range(3):
            trained.update(make_examples(trained), sgd=optimizer, losses=losses)
        assert numpy.isfinite(losses["textcat"])
        assert 0.0 <= trained("Call now to claim").cats["spam"] <= 1.0


def test_plot_attention_writes_png(trained, tmp_path):
    from spacy.tokens import DocBin

    from scripts.plot_attention import plot_attention

    nlp = trained["attention"]
    nlp.to_disk(tmp_path / "model")
    db = DocBin()
    for eg in make_examples(nlp):
        db.add(eg.reference)
    db.to_disk(tmp_path / "test.spacy")
    output = tmp_path / "attention.png"
    plot_attention(str(tmp_path / "model"), tmp_path / "test.spacy", output=output, n_spam=2, n_ham=2, max_words=20)
    assert output.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # A pipeline without attention pooling is refused.
    trained["mean"].to_disk(tmp_path / "mean")
    with pytest.raises(SystemExit):
        plot_attention(str(tmp_path / "mean"), tmp_path / "test.spacy", output=tmp_path / "x.png", n_spam=1, n_ham=1, max_words=20)


def test_static_vectors_are_read_and_serialized():
    fix_random_seed(0)
    nlp = English()
    rng = numpy.random.default_rng(0)
    for word in ("call", "free", "prize", "lunch", "home", "win"):
        nlp.vocab.set_vector(word, rng.normal(size=6).astype("float32"))
    config = {"model": small_model("mean", static_vectors=True)}
    nlp.add_pipe("nn_textcat", config=config)
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    embed = nlp.get_pipe("nn_textcat").model.get_ref("embed")
    assert torch_module(embed.get_ref("embedding")).vectors_width == 6
    for _ in range(3):
        nlp.update(examples, sgd=optimizer)
    before = scores(nlp)
    # The vectors are read at prediction time: changing one changes the score of its docs only.
    nlp.vocab.set_vector("prize", numpy.full(6, 5.0, dtype="float32"))
    after = scores(nlp)
    texts = SPAM + HAM + MIXED
    changed = numpy.abs(before - after)[:, 0] > 1e-6
    assert changed.tolist() == ["prize" in text.lower().split() or "prize." in text.lower() for text in texts]
    fresh = English()
    fresh.add_pipe("nn_textcat", config=config)
    fresh.from_bytes(nlp.to_bytes())
    numpy.testing.assert_array_equal(scores(fresh), after)


def test_static_vectors_without_vectors_fails_at_initialize():
    nlp = English()
    nlp.add_pipe("nn_textcat", config={"model": small_model("mean", static_vectors=True)})
    examples = make_examples(nlp)
    with pytest.raises(ValueError, match="no vectors"):
        nlp.initialize(lambda: examples)


SPACY_EMBED = {
    "@architectures": "spacy.MultiHashEmbed.v2",
    "width": 24,
    "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
    "rows": [500, 100, 100, 50],
    "include_static_vectors": False,
}


def test_another_embed_trains_predicts_and_round_trips():
    """The embed is a sublayer like any other: spaCy's MultiHashEmbed in its place reads every
    token, the BiLSTM takes its width, and the pipeline trains, saves and attends."""
    fix_random_seed(0)
    model = {**small_model("attention"), "embed": SPACY_EMBED}
    nlp = English()
    nlp.add_pipe("nn_textcat", config={"model": model})
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    textcat = nlp.get_pipe("nn_textcat")
    assert torch_module(textcat.model.get_ref("output_layer")).n_inputs == 24
    optimizer.learn_rate = 0.01
    for _ in range(40):
        nlp.update(examples, sgd=optimizer, drop=0.1)
    assert all(nlp(text).cats["spam"] > 0.8 for text in SPAM)
    assert all(nlp(text).cats["spam"] < 0.2 for text in HAM)
    fresh = English()
    fresh.add_pipe("nn_textcat", config={"model": model})
    fresh.from_bytes(nlp.to_bytes())
    numpy.testing.assert_array_equal(scores(fresh), scores(nlp))
    # MultiHashEmbed reads whitespace tokens too, so they have weights.
    pairs = textcat.attention(nlp.make_doc("Txt  CASH now"))
    assert [token.text for token, _ in pairs] == ["Txt", " ", "CASH", "now"]
    assert sum(weight for _, weight in pairs) == pytest.approx(1.0, abs=1e-5)


def test_bilstm_width_need_not_be_the_embed_width():
    fix_random_seed(0)
    nlp = English()
    nlp.add_pipe("nn_textcat", config={"model": {**small_model("last", width=48), "width": 16}})
    nlp.initialize(lambda: make_examples(nlp))
    module = torch_module(nlp.get_pipe("nn_textcat").model.get_ref("output_layer"))
    assert (module.n_inputs, module.output.in_features) == (48, 16)
    assert 0.0 <= nlp("Call now").cats["spam"] <= 1.0
