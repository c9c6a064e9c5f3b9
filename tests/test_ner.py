import numpy
import pytest
import spacy
from spacy.tokens import Doc

from conftest import RU_SENTENCES, SMALL_ENCODE, SMALL_NER_MODEL, make_ner_examples, ner_model, train_ner
from spacy_ru_nn.torch_glue import built_modules, torch_module


def ents(doc: Doc):
    return [(e.text, e.label_) for e in doc.ents]


def assert_valid_ents(doc: Doc):
    previous_end = 0
    for ent in doc.ents:
        assert previous_end <= ent.start < ent.end <= len(doc)
        previous_end = ent.end


def test_add_pipe_by_factory_name(ru_nlp):
    ner = ru_nlp.add_pipe("bilstm_ner", config={"model": SMALL_NER_MODEL})
    assert ru_nlp.pipe_names == ["bilstm_ner"]
    assert ner.cfg["tag_scheme"] == "BIO"


def test_unknown_tag_scheme_is_a_clear_error(ru_nlp):
    with pytest.raises(ValueError, match="Unknown tag scheme 'BIOES'"):
        ru_nlp.add_pipe("bilstm_ner", config={"model": SMALL_NER_MODEL, "tag_scheme": "BIOES"})


def test_not_initialized_raises(ru_nlp):
    ru_nlp.add_pipe("bilstm_ner", config={"model": SMALL_NER_MODEL})
    with pytest.raises(ValueError, match="E109"):
        ru_nlp("Александр Пушкин родился в Москве.")


def test_missing_labels_is_a_clear_error(ru_nlp):
    ru_nlp.add_pipe("bilstm_ner", config={"model": SMALL_NER_MODEL})
    examples = make_ner_examples(ru_nlp, [("Ничего интересного здесь нет.", [])])
    with pytest.raises(ValueError, match="E143"):
        ru_nlp.initialize(lambda: examples)


def test_labels_from_init_labels(ru_nlp):
    ner = ru_nlp.add_pipe("bilstm_ner", config={"model": SMALL_NER_MODEL})
    ner.initialize(lambda: make_ner_examples(ru_nlp), nlp=ru_nlp, labels=["LOC", "ORG", "PER", "MISC"])
    assert ner.labels == ("LOC", "MISC", "ORG", "PER")
    assert ner.tags == ["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
    # An initialized component grows instead of refusing (tests/test_extend_labels.py).
    assert ner.add_label("EVENT") == 1
    assert ner.model.get_ref("output_layer").get_dim("nO") == len(ner.tags) == 11


@pytest.mark.parametrize("scheme", ["IO", "BIO"])
def test_overfitting_IO(scheme):
    nlp = spacy.blank("ru")
    examples = make_ner_examples(nlp)
    nlp, losses = train_ner(nlp, examples, steps=60, tag_scheme=scheme)
    assert losses["bilstm_ner"] < 1.0
    doc = nlp("Александр Пушкин родился в Москве.")
    assert ents(doc) == [("Александр Пушкин", "PER"), ("Москве", "LOC")]
    assert [t.ent_iob_ for t in doc] == ["B", "I", "O", "O", "B", "O"]
    scores = nlp.evaluate(examples)
    assert scores["ents_f"] == 1.0
    assert set(scores["ents_per_type"]) == {"LOC", "ORG", "PER"}
    for key in ("ents_p", "ents_r", "ents_f"):
        assert key in scores


def test_bio_separates_adjacent_entities():
    nlp = spacy.blank("ru")
    adjacent = [("Москва Петербург Казань", [(0, 1, "LOC"), (1, 2, "LOC"), (2, 3, "LOC")])]
    examples = make_ner_examples(nlp, RU_SENTENCES + adjacent)
    nlp, _ = train_ner(nlp, examples, steps=60, tag_scheme="BIO")
    assert [e.text for e in nlp("Москва Петербург Казань").ents] == ["Москва", "Петербург", "Казань"]


def test_pipe_agrees_with_call(trained_ner):
    texts = [text for text, _ in RU_SENTENCES]
    piped = [ents(doc) for doc in trained_ner.pipe(texts, batch_size=2)]
    assert piped == [ents(trained_ner(text)) for text in texts]


@pytest.mark.parametrize("text", ["", " ", "   \n\n\t ", "."])
def test_empty_and_whitespace_docs(trained_ner, text):
    doc = trained_ner(text)
    assert_valid_ents(doc)
    assert all(ent.text.strip() for ent in doc.ents)


def test_batch_of_only_empty_docs(trained_ner):
    docs = list(trained_ner.pipe(["", "  ", "\n"]))
    assert [len(d.ents) for d in docs] == [0, 0, 0]


def test_batch_mixing_empty_and_long_docs_matches_alone(trained_ner):
    long_text = " ".join(text for text, _ in RU_SENTENCES) * 30
    texts = ["", long_text, "  ", "Александр Пушкин родился в Москве.", ""]
    batched = [ents(doc) for doc in trained_ner.pipe(texts, batch_size=5)]
    alone = [ents(trained_ner(text)) for text in texts]
    assert batched == alone
    assert batched[3] == [("Александр Пушкин", "PER"), ("Москве", "LOC")]


def test_huge_document(trained_ner):
    sentence = "Александр Пушкин родился в Москве. "
    doc = trained_ner(sentence * 3000)  # 18,000 tokens, no sentence boundaries set
    assert len(doc) >= 18000
    assert_valid_ents(doc)
    assert sum(1 for e in doc.ents if e.label_ == "PER") > 2500


def test_emoji_and_mixed_scripts(trained_ner):
    doc = trained_ner("Александр Пушкин 😀 родился в Москве 🇷🇺, a Shakespeare — in Stratford. 日本")
    assert_valid_ents(doc)
    assert ("Александр Пушкин", "PER") in ents(doc)


def test_window_cuts_long_sequences_without_losing_tokens():
    from spacy_ru_nn.ner.features import sequence_lengths

    nlp = spacy.blank("ru")
    docs = [nlp.make_doc("слово " * 150), nlp.make_doc(""), nlp.make_doc("a b c")]
    assert sequence_lengths(docs, 64).tolist() == [64, 64, 22, 3]
    nlp.add_pipe("sentencizer")
    doc = nlp("Раз два. Три четыре пять. Шесть")
    assert sequence_lengths([doc], 64).tolist() == [3, 4, 1]
    assert sequence_lengths([doc], 2).tolist() == [2, 1, 2, 2, 1]



@pytest.mark.parametrize("attrs, n_rows", [(["SHAPE", "SUFFIX"], 2), (["SHAPE", "NORM"], 3)])
def test_features_are_stored_once_per_distinct_word(attrs, n_rows):
    """Lexeme attributes are equal for equal words; a token's NORM can differ from its word's."""
    from spacy_ru_nn.ner.features import TokenFeaturizer

    featurizer = TokenFeaturizer(
        attrs, [100, 100], n_chars=64, max_chars=8, use_chars=True, use_morphology=False, window=64
    )
    doc = spacy.blank("ru").make_doc("да нет да")
    doc[2].norm_ = "конечно"
    features, _ = featurizer([doc], False)
    assert features.hash_ids.shape == (n_rows, 2, 4)
    assert features.char_ids.shape[0] == features.vector_keys.shape[0] == n_rows
    assert features.word_index.shape == (3,)
    assert (features.word_index[0] == features.word_index[2]) == (n_rows == 2)

def test_torch_dropout_follows_update_drop(ru_nlp):
    import torch

    nlp, _ = train_ner(ru_nlp, make_ner_examples(ru_nlp), steps=1)
    nlp.update(make_ner_examples(nlp), drop=0.25)
    modules = [module for _, module in built_modules(nlp.get_pipe("bilstm_ner").model)]
    assert len(modules) == 3  # embed, encode, output
    assert {m.p for module in modules for m in module.modules() if isinstance(m, torch.nn.Dropout)} == {0.25}


def test_length_buckets_cover_every_sequence_once():
    from spacy_ru_nn.ner.modules import length_buckets

    lengths = [5, 40, 3, 40, 1, 12]
    groups = length_buckets(lengths, bucket_size=80)
    assert sorted(i for group in groups for i in group) == list(range(len(lengths)))
    for group in groups:
        assert len(group) == 1 or lengths[group[0]] * len(group) <= 80
        assert [lengths[i] for i in group] == sorted((lengths[i] for i in group), reverse=True)


def test_use_params_swaps_in_torch_averages(ru_nlp):
    """`use_averages` must reach the torch modules (thinc's keys differ from the shim's)."""
    import torch
    from thinc.api import Adam

    examples = make_ner_examples(ru_nlp)
    ru_nlp.add_pipe("bilstm_ner", config={"model": SMALL_NER_MODEL})
    optimizer = Adam(0.01, use_averages=True)
    ru_nlp.initialize(lambda: examples, sgd=optimizer)
    for _ in range(5):
        ru_nlp.update(examples, sgd=optimizer, drop=0.0)
    wrapper = ru_nlp.get_pipe("bilstm_ner").model.get_ref("embed").get_ref("embedding")
    module = torch_module(wrapper)
    trained = {name: p.detach().clone() for name, p in module.named_parameters()}
    shim_id = wrapper.shims[0].id
    average = optimizer.averages[(shim_id, "project_tokens.weight")]
    assert not numpy.allclose(average, trained["project_tokens.weight"].numpy())
    with ru_nlp.use_params(optimizer.averages):
        assert numpy.allclose(module.project_tokens.weight.detach().numpy(), average)
        assert module.vectors.n_rows > 0  # buffers survive the strict state-dict load
        doc = ru_nlp("Александр Пушкин родился в Москве.")
    assert all(torch.equal(p, trained[name]) for name, p in module.named_parameters())
    assert_valid_ents(doc)


def test_training_and_inference_paths_of_the_embedding_agree(trained_ner):
    """Inference projects word features once per distinct word; training once per token."""
    import torch

    embed = trained_ner.get_pipe("bilstm_ner").model.get_ref("embed")
    featurizer = embed.get_ref("featurizer")
    module = torch_module(embed.get_ref("embedding"))
    features, _ = featurizer([trained_ner.make_doc(text) for text, _ in RU_SENTENCES * 2], False)
    inputs = [None if a is None else torch.as_tensor(a) for a in (features.hash_ids, features.word_index, features.char_ids, features.morph, features.vector_keys, features.shape_ids)]
    lengths = torch.as_tensor(features.seq_lengths)
    rates = {m: m.p for m in module.modules() if isinstance(m, torch.nn.Dropout)}
    try:
        for m in rates:
            m.p = 0.0
        with torch.no_grad():
            module.train()
            per_token = module(*inputs, lengths)
            module.eval()
            per_word = module(*inputs, lengths)
    finally:
        for m, p in rates.items():
            m.p = p
        module.eval()
    assert features.morph.shape[0] < features.word_index.shape[0]  # words repeat
    torch.testing.assert_close(per_token, per_word, rtol=1e-5, atol=1e-6)


def test_word_dropout_hides_vectors_in_training_only():
    import torch

    from spacy_ru_nn.ner.modules import TokenEmbedding

    torch.manual_seed(0)
    module = TokenEmbedding(
        hash_rows=[10], hash_width=4, n_chars=0, char_width=0, char_filters=0, char_kernel=3,
        n_morph=0, morph_width=0, vectors_width=4, width=8, dropout=0.0, word_dropout=1.0,
    )  # fmt: skip
    keys = torch.tensor([1, 2, 3], dtype=torch.int64)
    module.vectors.set_table(keys, torch.tensor([[0], [1], [2]], dtype=torch.uint8), torch.randn(1, 256, 4))
    hash_ids = torch.zeros((3, 1, 4), dtype=torch.int64)
    word_index = torch.arange(3)
    lengths = torch.tensor([3])

    def encode(vector_keys):
        return module(hash_ids, word_index, None, None, vector_keys, None, lengths)

    module.train()
    torch.testing.assert_close(encode(keys), encode(torch.tensor([7, 8, 9])))
    module.eval()
    assert not torch.allclose(encode(keys), encode(torch.tensor([7, 8, 9])))


def test_bfloat16_inference_is_close_to_float32_and_training_stays_float32():
    import torch

    from spacy_ru_nn.bilstm import BiLSTM

    torch.manual_seed(0)
    lstm = BiLSTM(width=16, depth=2, dropout=0.0, inference_precision="bfloat16")
    padded, lengths = torch.randn(7, 3, 16), torch.tensor([7, 5, 2])
    with torch.no_grad():
        lstm.train()
        reference = lstm(padded, lengths)
        assert lstm.read_both_ways(padded, lengths).equal(reference)
        lstm.eval()
        inferred = lstm(padded, lengths)
    assert inferred.dtype == torch.float32
    assert not inferred.equal(reference)
    torch.testing.assert_close(inferred, reference, rtol=0.05, atol=0.02)


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_uses_bfloat16_only_where_native(monkeypatch, native):
    from spacy_ru_nn import bilstm

    BiLSTM = bilstm.BiLSTM
    monkeypatch.setattr(bilstm, "has_native_bfloat16", lambda device_type: native)
    lstm = BiLSTM(width=8, depth=1, dropout=0.0, inference_precision="auto").eval()
    assert lstm.uses_bfloat16("cpu") is native
    assert BiLSTM(8, 1, 0.0, "bfloat16").eval().uses_bfloat16("cpu")
    assert not BiLSTM(8, 1, 0.0, "float32").eval().uses_bfloat16("cpu")
    assert not BiLSTM(8, 1, 0.0, "bfloat16").train().uses_bfloat16("cpu")


def test_unknown_inference_precision_is_a_clear_error(ru_nlp):
    with pytest.raises(ValueError, match="inference_precision must be one of"):
        ru_nlp.add_pipe("bilstm_ner", config={"model": ner_model(encode={**SMALL_ENCODE, "inference_precision": "float16"})})


def test_bfloat16_inference_finds_the_same_entities(trained_ner):
    encode = trained_ner.get_pipe("bilstm_ner").model.get_ref("encode")
    lstm = torch_module(encode.get_ref("torch_layer")).lstm
    texts = [text for text, _ in RU_SENTENCES]
    float32 = [ents(doc) for doc in trained_ner.pipe(texts)]
    lstm.inference_precision = "bfloat16"
    try:
        bfloat16 = [ents(doc) for doc in trained_ner.pipe(texts)]
    finally:
        lstm.inference_precision = "float32"
    assert any(float32) and bfloat16 == float32
