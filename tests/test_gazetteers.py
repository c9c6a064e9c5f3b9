"""Gazetteer features: word lists read at initialize, matched on lemmas, saved with the model."""
import pytest
import spacy

from conftest import make_ner_examples, ner_model, train_ner
from spacy_ru_nn.ner.features import LexicalFeatures, read_gazetteer


@pytest.fixture
def poets(tmp_path):
    path = tmp_path / "poets.txt"
    path.write_text("# Russian poets\nПушкин\nлермонтов  # Михаил Юрьевич\n\n", encoding="utf8")
    return path


def test_read_gazetteer_lowercases_and_drops_comments(poets):
    assert read_gazetteer(str(poets)) == ["лермонтов", "пушкин"]


def test_natasha_name_lists_by_name():
    first_names = read_gazetteer("first")
    assert "александр" in first_names and "мария" in first_names


@pytest.mark.parametrize("content", ["", "# only a comment\n"])
def test_empty_gazetteer_is_a_clear_error(tmp_path, content):
    path = tmp_path / "empty.txt"
    path.write_text(content, encoding="utf8")
    with pytest.raises(ValueError, match="no entries"):
        read_gazetteer(str(path))


def test_missing_gazetteer_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="neither one of natasha's lists"):
        read_gazetteer(str(tmp_path / "nope.txt"))


def test_inflected_forms_match_through_their_lemma():
    features = LexicalFeatures(use_morphology=False, gazetteers=[["пушкин"], ["москва"]])
    assert features("Пушкина").tolist() == [1.0, 0.0]
    assert features("Москве").tolist() == [0.0, 1.0]
    assert features("родился").tolist() == [0.0, 0.0]


def test_gazetteer_flags_follow_the_grammemes():
    with_morph = LexicalFeatures(use_morphology=True, gazetteers=[["пушкин"]])
    without = LexicalFeatures(use_morphology=True, gazetteers=[])
    assert with_morph("Пушкин").shape[0] == without("Пушкин").shape[0] + 1
    assert with_morph("Пушкин")[-1] == 1.0


def test_gazetteer_is_saved_with_the_model(poets, tmp_path):
    """A packaged pipeline must not need the list file: delete it before loading."""
    nlp = spacy.blank("ru")
    model = ner_model(gazetteers=[str(poets)])
    nlp, _ = train_ner(nlp, make_ner_examples(nlp), steps=30, model=model)
    nlp.to_disk(tmp_path / "pipeline")
    poets.unlink()
    loaded = spacy.load(tmp_path / "pipeline")
    featurizer = loaded.get_pipe("bilstm_ner").model.get_ref("embed").get_ref("featurizer")
    assert featurizer.attrs["gazetteer_entries"] == [["лермонтов", "пушкин"]]
    text = "Александр Пушкин родился в Москве."
    assert [e.text for e in loaded(text).ents] == [e.text for e in nlp(text).ents]
    features, _ = featurizer([loaded.make_doc("Пушкина")], False)
    assert features.morph[0, -1] == 1.0
