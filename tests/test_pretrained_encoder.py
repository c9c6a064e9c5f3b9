"""slovnet's pretrained encoders under the BiLSTM tagger: the torch port computes what slovnet
computes, trains frozen or fine-tuned, and is stored in the pipeline."""
import numpy
import pytest
import spacy
import torch
from spacy.util import load_model_from_config

from conftest import LEGACY_NER_MODEL, RU_SENTENCES, SMALL_EMBED, make_ner_examples, ner_model
from spacy_ru_nn.ner import slovnet
from spacy_ru_nn.torch_glue import torch_module
from spacy_ru_nn.ner.slovnet import SlovnetEncoder, navec_unknown_vector, read_slovnet_pack, shape_id, word_shape

razdel = pytest.importorskip("razdel")
slovnet_api = pytest.importorskip("slovnet")

TRICKY_WORDS = [
    "СИЗО-6", "2011-2020", "3.14", "-5", "+7", "iPhone", "e-mail", "...", "?!", "«", "»", "№", "—", "-",
    "А", "а", "Z", "ЁЛКА", "ёлка", "Санкт-Петербург", "Нью-йорк", "Xx-Yy", "МИД", "Газпрома", "☺", "١٢",
    "a@b.ru", "10am-7pm", "ООО", "т.е.", "Mc'Donalds", "",
]  # fmt: skip

SENTENCES = [
    "Александр Пушкин родился в Москве в 1799 году.",
    "Глава МИД России Сергей Лавров встретился с госсекретарем США в Женеве 12 марта.",
    "«Газпром» и ВКонтакте, т.е. iPhone-пользователи, e-mail: a@b.ru 2011-2020 СИЗО-6",
]


@pytest.fixture(scope="module")
def navec():
    from natasha.data import NEWS_EMBEDDING
    from navec import Navec

    return Navec.load(NEWS_EMBEDDING)


@pytest.mark.parametrize("word", TRICKY_WORDS[:-1])
def test_word_shape_is_slovnets(word):
    from slovnet.shape import word_shape as slovnet_word_shape

    assert word_shape(word) == slovnet_word_shape(word)


def test_shape_ids_are_the_packs_vocabulary():
    assert len(slovnet.SHAPES) == 66 and slovnet.SHAPES[0] == "<pad>"
    assert shape_id("Москва") == slovnet.SHAPES.index("RU_Xx")
    assert shape_id("") == slovnet.SHAPES.index("OTHER")


def padded_batch(sentences, navec):
    """Per distinct word (vector, found, shape id) and time-major positions, as the tagger
    builds them from spaCy tokens (here razdel's, which slovnet reads)."""
    words = [[token.text for token in razdel.tokenize(text)] for text in sentences]
    vocab = sorted({w for ws in words for w in ws})
    index = {w: i for i, w in enumerate(vocab)}
    vectors = torch.zeros(len(vocab), 300)
    found = torch.zeros(len(vocab), dtype=torch.bool)
    for word, i in index.items():
        if word.lower() in navec.vocab:
            vectors[i] = torch.from_numpy(numpy.asarray(navec[word.lower()]))
            found[i] = True
    shapes = torch.tensor([shape_id(w) for w in vocab])
    longest = max(map(len, words))
    positions = torch.zeros(longest, len(words), dtype=torch.long)
    real = torch.zeros(longest, len(words), dtype=torch.bool)
    for j, sentence in enumerate(words):
        for t, word in enumerate(sentence):
            positions[t, j] = index[word]
            real[t, j] = True
    return words, (vectors, found, shapes), positions, real


@pytest.mark.parametrize("name,n_scores", [("slovnet_ner", 8), ("slovnet_morph", 0)])
def test_encoder_computes_what_slovnet_computes(navec, name, n_scores):
    api_class = slovnet_api.NER if name == "slovnet_ner" else slovnet_api.Morph
    api = api_class.load(str(slovnet.resolve_pack_path(name)))
    api.navec(navec)
    words, word_inputs, positions, real = padded_batch(SENTENCES, navec)
    inputs = next(iter(api.infer.encoder(words)))
    reference_model = api.infer.model
    hidden = reference_model.encoder(reference_model.emb(inputs.word_id, inputs.shape_id), inputs.pad_mask)
    expected = numpy.concatenate([hidden, reference_model.head.proj(hidden)], -1) if n_scores else hidden

    encoder = SlovnetEncoder(n_scores=n_scores)
    encoder.load_pack(read_slovnet_pack(name), navec_unknown_vector("natasha"))
    with torch.no_grad():
        states = encoder(encoder.embed_words(*word_inputs), positions, real).numpy()
    assert states.shape[2] == expected.shape[2] == encoder.width
    for j, sentence in enumerate(words):
        numpy.testing.assert_allclose(states[: len(sentence), j], expected[j, : len(sentence)], atol=1e-4)
    # Padding is zero after every layer (the head's scores there are its bias, never read).
    assert not states[~real.numpy()][:, :64].any()


def test_a_sentence_encodes_the_same_alone_and_batched(navec):
    encoder = SlovnetEncoder(n_scores=8)
    encoder.load_pack(read_slovnet_pack("slovnet_ner"), navec_unknown_vector("natasha"))
    with torch.no_grad():
        _, inputs, positions, real = padded_batch(SENTENCES, navec)
        batched = encoder(encoder.embed_words(*inputs), positions, real)
        for j, text in enumerate(SENTENCES):
            _, inputs, positions, real = padded_batch([text], navec)
            alone = encoder(encoder.embed_words(*inputs), positions, real)
            torch.testing.assert_close(alone[:, 0], batched[: alone.shape[0], j], atol=1e-5, rtol=0)


def test_shifted_products_are_a_convolution():
    torch.manual_seed(0)
    conv = torch.nn.Conv1d(12, 5, 3, padding=1)
    inputs = torch.randn(7, 4, 12, requires_grad=True)  # (T, n, channels), time-major
    expected = conv(inputs.permute(1, 2, 0)).permute(2, 0, 1)
    shifted = slovnet._shifted_sum(inputs @ slovnet._taps(conv.weight).T, 5) + conv.bias
    torch.testing.assert_close(shifted, expected)
    gradient = torch.randn_like(expected)
    (expected_grad,) = torch.autograd.grad(expected, inputs, gradient)
    (shifted_grad,) = torch.autograd.grad(shifted, inputs, gradient)
    torch.testing.assert_close(shifted_grad, expected_grad)


def pretrained_model(**settings):
    """The small model with slovnet's NER encoder in its embed."""
    return ner_model(**{"char_filters": 0, "pretrained": ["slovnet_ner"], **settings})


def embedding(nlp):
    """The embed's featurizer and torch module."""
    embed = nlp.get_pipe("bilstm_ner").model.get_ref("embed")
    return embed.get_ref("featurizer"), embed.get_ref("embedding")


def encoder_weights(nlp):
    module = torch_module(embedding(nlp)[1])
    return {name: value.detach().clone() for name, value in module.state_dict().items() if name.startswith("context")}


@pytest.mark.parametrize("fine_tune", [False, True])
def test_trains_frozen_or_fine_tuned(fine_tune):
    nlp = spacy.blank("ru")
    nlp.add_pipe("bilstm_ner", config={"model": pretrained_model(fine_tune_pretrained=fine_tune)})
    examples = make_ner_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    before = encoder_weights(nlp)
    optimizer.learn_rate = 0.01
    for _ in range(40):
        losses = nlp.update(examples, sgd=optimizer, drop=0.0)
    assert losses["bilstm_ner"] < 1.0
    after = encoder_weights(nlp)
    changed = [name for name in before if not torch.equal(before[name], after[name])]
    if fine_tune:
        assert any("convs.0.weight" in name for name in changed)
    else:
        assert changed == []
    doc = nlp(RU_SENTENCES[0][0])
    assert [(e.text, e.label_) for e in doc.ents] == [("Александр Пушкин", "PER"), ("Москве", "LOC")]


@pytest.fixture(scope="module")
def trained_pretrained():
    nlp = spacy.blank("ru")
    nlp.add_pipe("bilstm_ner", config={"model": pretrained_model(pretrained=["slovnet_ner", "slovnet_morph"])})
    examples = make_ner_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    optimizer.learn_rate = 0.01
    for _ in range(30):
        nlp.update(examples, sgd=optimizer, drop=0.0)
    return nlp


def test_saved_pipeline_never_reads_natashas_files(trained_pretrained, tmp_path, monkeypatch):
    texts = [text for text, _ in RU_SENTENCES]
    expected = [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in trained_pretrained.pipe(texts)]
    trained_pretrained.to_disk(tmp_path / "pipeline")

    def refuse(*args, **kwargs):
        raise AssertionError("natasha's files were read after initialize")

    monkeypatch.setattr(slovnet, "resolve_pack_path", refuse)
    monkeypatch.setattr("spacy_ru_nn.ner.vectors.resolve_navec_path", refuse)
    for loaded in (spacy.load(tmp_path / "pipeline"), load_model_from_config(trained_pretrained.config).from_bytes(trained_pretrained.to_bytes())):
        assert [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in loaded.pipe(texts)] == expected


def test_empty_and_whitespace_docs(trained_pretrained):
    docs = list(trained_pretrained.pipe(["", " ", "\n\n", "Москва"]))
    assert [len(doc.ents) for doc in docs[:3]] == [0, 0, 0]


@pytest.mark.parametrize(
    "settings,message",
    [
        ({"vectors": None}, "vectors = 'natasha'"),
        ({"pretrained": ["bert"]}, "slovnet_ner, slovnet_morph"),
        ({"pretrained": ["slovnet_ner", "slovnet_ner"]}, "distinct"),
        ({"pretrained_outputs": "logits"}, "pretrained_outputs"),
        ({"pretrained_skip": True, "pretrained_outputs": "hidden"}, "pretrained_skip"),
        ({"pretrained_skip": True, "pretrained": ["slovnet_morph"]}, "pretrained_skip"),
    ],
)
def test_bad_settings_are_named(settings, message):
    nlp = spacy.blank("ru")
    with pytest.raises(ValueError, match=message):
        nlp.add_pipe("bilstm_ner", config={"model": pretrained_model(**settings)})


def test_legacy_v1_architecture_still_builds():
    nlp = spacy.blank("ru")
    ner = nlp.add_pipe("bilstm_ner", config={"model": LEGACY_NER_MODEL})
    assert ner.model.attrs["pretrained"] == []


def test_encoders_read_whole_documents_and_the_bilstm_sentences(trained_pretrained):
    doc = trained_pretrained.make_doc("Пушкин родился в Москве. Лермонтов родился там же.")
    for token in doc:
        token.is_sent_start = token.i in (0, 5)
    features, _ = embedding(trained_pretrained)[0]([doc], False)
    assert features.seq_lengths.tolist() == [5, len(doc) - 5]
    assert features.context_lengths.tolist() == [len(doc)]


def test_a_sentence_reads_its_neighbours_through_the_encoder_only():
    """The first sentence's last token's embedding changes with the next sentence's first
    token when the pretrained encoder reads across the boundary, and not without it."""

    def last_token_state(nlp, second_sentence):
        doc = nlp.make_doc(f"Пушкин родился в Москве . {second_sentence} родился там же .")
        for token in doc:
            token.is_sent_start = token.i in (0, 5)
        featurizer, wrapper = embedding(nlp)
        return wrapper.predict(featurizer.predict([doc]))[4]

    for pretrained, reads_across in ((["slovnet_ner"], True), ([], False)):
        nlp = spacy.blank("ru")
        nlp.add_pipe("bilstm_ner", config={"model": pretrained_model(pretrained=pretrained)})
        examples = make_ner_examples(nlp)
        nlp.initialize(lambda: examples)
        a, b = last_token_state(nlp, "Лермонтов"), last_token_state(nlp, "Газпром")
        assert (not numpy.allclose(a, b)) == reads_across


def test_skip_gives_the_output_layer_slovnets_tag_scores():
    nlp = spacy.blank("ru")
    nlp.add_pipe("bilstm_ner", config={"model": pretrained_model(pretrained_skip=True)})
    examples = make_ner_examples(nlp)
    nlp.initialize(lambda: examples)
    model = nlp.get_pipe("bilstm_ner").model
    width = SMALL_EMBED["width"]
    assert model.get_ref("embed").attrs["n_pass_through"] == len(slovnet.NER_TAGS)
    assert model.get_ref("output_layer").get_dim("nI") == width + len(slovnet.NER_TAGS)
    doc = nlp.make_doc("Александр Пушкин родился в Москве.")
    featurizer, wrapper = embedding(nlp)
    features = featurizer.predict([doc])
    outputs = wrapper.predict(features)
    module = torch_module(wrapper)
    encoder = module.context_encoders[0]
    words = torch.as_tensor(features.word_index)
    vectors, found = module.vectors.lookup(torch.as_tensor(features.vector_keys))
    with torch.no_grad():
        taps = encoder.embed_words(vectors, found, torch.as_tensor(features.shape_ids))
        states = encoder(taps, words.unsqueeze(1), torch.ones_like(words.unsqueeze(1), dtype=torch.bool))[:, 0]
    numpy.testing.assert_allclose(outputs[:, width:], states[:, -len(slovnet.NER_TAGS) :].numpy(), atol=1e-5)
