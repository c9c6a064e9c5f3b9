"""The precomputed lexicon: the same features as pymorphy3 on the fly, saved with the model."""
import numpy
import pytest
import spacy

from conftest import make_ner_examples, ner_model, train_ner
from spacy_ru_nn.ner.features import build_lexicon

WORDS = ["а", "с", "александр", "пушкин", "родился", "в", "москве", "москва", "газпром", ".", ".."]
# "А." and "С." are initials to pymorphy3 only in upper case: the lexicon must not hide that.
TEXT = "А. С. Пушкин родился в Москве, а Zyxqwv — нет.."


@pytest.fixture(scope="module")
def nlp():
    nlp = spacy.blank("ru")
    nlp, _ = train_ner(nlp, make_ner_examples(nlp), steps=5, model=ner_model(gazetteers=["first"]))
    return nlp


def featurizer_of(nlp):
    return nlp.get_pipe("bilstm_ner").model.get_ref("embed").get_ref("featurizer")


def test_lexicon_gives_the_features_computed_on_the_fly(nlp):
    featurizer = featurizer_of(nlp)
    doc = nlp.make_doc(TEXT)
    on_the_fly, _ = featurizer([doc], False)
    build_lexicon(featurizer, WORDS)
    try:
        assert featurizer.attrs["lexicon_keys"].shape == (len([w for w in WORDS if len(w) > 1]),)
        from_lexicon, _ = featurizer([doc], False)
        numpy.testing.assert_array_equal(from_lexicon.morph, on_the_fly.morph)
        # Words outside the lexicon (Zyxqwv, "нет") are still analysed.
        assert from_lexicon.morph.shape[0] == len({t.orth for t in doc})
    finally:
        build_lexicon(featurizer, [])


def test_lexicon_rows_are_shared_between_words(nlp):
    featurizer = featurizer_of(nlp)
    build_lexicon(featurizer, [",.", "..", "!!", "москва"])
    try:
        # Punctuation has the same grammemes (PNCT) and shares one row.
        assert featurizer.attrs["lexicon_table"].shape[0] == 2
    finally:
        build_lexicon(featurizer, [])


def test_lexicon_is_saved_with_the_model(nlp):
    featurizer = featurizer_of(nlp)
    build_lexicon(featurizer, WORDS)
    try:
        data = nlp.to_bytes()
        expected = [(e.text, e.label_) for e in nlp(TEXT).ents]
    finally:
        build_lexicon(featurizer, [])
    config = {"model": ner_model(gazetteers=["first"])}
    loaded = spacy.blank("ru")
    loaded.add_pipe("bilstm_ner", config=config)
    loaded.from_bytes(data)
    keys = featurizer_of(loaded).attrs["lexicon_keys"]
    assert keys.dtype == numpy.uint64 and len(keys) == len([w for w in WORDS if len(w) > 1])
    assert [(e.text, e.label_) for e in loaded(TEXT).ents] == expected


def test_lexicon_needs_vectors():
    nlp = spacy.blank("ru")
    model = ner_model(vectors=None, lexicon=True)
    with pytest.raises(ValueError, match="lexicon = true precomputes"):
        train_ner(nlp, make_ner_examples(nlp), steps=1, model=model)
