"""spacy-ru-nn.RazdelTokenizer.v1: razdel's tokens in a spaCy Doc that always gives back the
text, saved and loaded with the pipeline; `convert factru` tokenizes the gold the same way."""
import pickle
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin
from typer.testing import CliRunner

from spacy_ru_nn.cli import app
from spacy_ru_nn.tokenizer import RazdelTokenizer

razdel = pytest.importorskip("razdel")

TEXTS = [
    "",
    " ",
    "   \n\t ",
    "Александр Пушкин родился в Москве.",
    "  Глава ТНК-ВР прилетел в Санкт-Петербург из-за \n\n погоды  ",
    "NEWSru.com: 5 тыс. руб.\u00a0за e-mail a@b.ru 2011-2020 гг.",
    "«Газпром-Медиа» и Yahoo!   😀 ‏שלום‎ \u200b",
]


@pytest.fixture
def nlp():
    nlp = spacy.blank("ru")
    nlp.tokenizer = RazdelTokenizer(nlp.vocab)
    return nlp


@pytest.mark.parametrize("text", TEXTS)
def test_doc_gives_back_the_text_and_has_razdels_tokens(nlp, text):
    doc = nlp(text)
    assert doc.text == text
    assert [t.text for t in doc if not t.is_space] == [t.text for t in razdel.tokenize(text)]
    for token in doc:
        assert token.is_space or not token.text.isspace()
        assert len(token.whitespace_) <= 1


def test_keeps_hyphenated_names_whole(nlp):
    words = [t.text for t in nlp("Нефтяная ТНК-ВР и Санкт-Петербург")]
    assert "ТНК-ВР" in words and "Санкт-Петербург" in words


def test_from_config_saved_loaded_and_pickled(tmp_path):
    config = {"nlp": {"tokenizer": {"@tokenizers": "spacy-ru-nn.RazdelTokenizer.v1"}}}
    nlp = spacy.blank("ru", config=config)
    assert isinstance(nlp.tokenizer, RazdelTokenizer)
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    assert isinstance(loaded.tokenizer, RazdelTokenizer)
    assert [t.text for t in loaded(TEXTS[4])] == [t.text for t in nlp(TEXTS[4])]
    unpickled = pickle.loads(pickle.dumps(nlp))
    assert unpickled(TEXTS[5]).text == TEXTS[5]
    assert spacy.blank("ru").from_bytes(nlp.to_bytes(exclude=["tokenizer"])) is not None


def test_pipe_matches_call(nlp):
    assert [doc.text for doc in nlp.tokenizer.pipe(TEXTS)] == TEXTS


FIXTURE = Path(__file__).parent / "fixtures" / "factru"


@pytest.mark.parametrize("tokenizer", ["razdel", "spacy"])
def test_convert_factru_tokenizes_the_gold_as_asked(tmp_path, tokenizer):
    source = tmp_path / "factru"
    for part in ("devset", "testset"):
        (source / part).mkdir(parents=True)
        for path in (FIXTURE / part).iterdir():
            # A hyphenated word, which the two tokenizers cut differently; same length, so
            # every offset in the corpus files still holds.
            text = path.read_text(encoding="utf8").replace("родился", "кое-кто")
            (source / part / path.name).write_text(text, encoding="utf8")
    result = CliRunner().invoke(
        app, ["convert", "factru", str(source), str(tmp_path / "out"), "--n-folds", "0", "--tokenizer", tokenizer]
    )
    assert result.exit_code == 0, result.output
    nlp = spacy.blank("ru")
    if tokenizer == "razdel":
        nlp.tokenizer = RazdelTokenizer(nlp.vocab)
    docs = list(DocBin().from_disk(tmp_path / "out" / "test.spacy").get_docs(nlp.vocab))
    assert "кое-кто" in docs[0].text
    assert [t.text for t in docs[0]] == [t.text for t in nlp.make_doc(docs[0].text)]
    assert ("кое-кто" in [t.text for t in docs[0]]) == (tokenizer == "razdel")
    assert [(e.text, e.label_) for e in docs[0].ents][:2] == [("Александр Пушкин", "PER"), ("Москве", "LOC")]


def test_convert_factru_refuses_an_unknown_tokenizer(tmp_path):
    result = CliRunner().invoke(app, ["convert", "factru", str(FIXTURE), str(tmp_path / "out"), "--tokenizer", "nltk"])
    assert result.exit_code == 1
    assert "--tokenizer 'nltk'" in result.output
