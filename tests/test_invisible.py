"""Invisible characters (zero-width and bidi controls) change nothing a pipeline finds: they are
sprinkled at random into sentences, between words and inside them, and the tokens, sentences,
entities and categories must be those of the text without them."""
import pickle
import random

import pytest
import spacy
from spacy.lang.en import English
from spacy.language import Language
from spacy.tokens import Span
from spacy.training import Example

from conftest import HAM, RU_SENTENCES, SPAM, bow_model, ner_model
from spacy_ru_nn.invisible import INVISIBLE, has_invisible, strip_invisible, visible_view
from spacy_ru_nn.tokenizer import InvisibleAwareTokenizer, RazdelTokenizer

EXPECTED_INVISIBLE = [
    *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2065), 0xFEFF,
]  # fmt: skip

# More text around the training sentences: several sentences per text, and initials.
RU_TEXTS = [text for text, _ in RU_SENTENCES] + [
    "Александр Пушкин родился в Москве. Газпром открыл офис в Новосибирске.",
    "А. С. Пушкин посетил Сбербанк в Казани, а Мария Иванова работают в Яндексе.",
]
# The issue's two cases: a zero-width space after a name, a bidi override glued to a city.
ISSUE_TEXTS = [
    ("Владимир Путин\u200b посетил Сбербанк в Казани.", ("Владимир Путин", "PER")),
    ("Александр Пушкин родился в Москве\u202e.", ("Москве", "LOC")),
]


def sprinkle(text: str, seed: int, n_runs: int = 4) -> str:
    """`text` with runs of 1-3 invisible characters inserted at random offsets."""
    rng = random.Random(seed)
    chars = list(text)
    for _ in range(n_runs):
        run = "".join(rng.choice(INVISIBLE) for _ in range(rng.choice([1, 1, 2, 3])))
        chars.insert(rng.randint(0, len(chars)), run)
    noisy = "".join(chars)
    assert strip_invisible(noisy) == text
    return noisy


def sprinkled(texts, n_seeds: int = 5):
    return [(text, sprinkle(text, seed)) for text in texts for seed in range(n_seeds)]


def assert_no_invisible_edge(spans) -> None:
    for span in spans:
        if strip_invisible(span.text):
            assert span.text[0] not in INVISIBLE and span.text[-1] not in INVISIBLE, repr(span.text)


def test_the_character_set_is_the_issues():
    assert sorted(map(ord, INVISIBLE)) == EXPECTED_INVISIBLE
    assert strip_invisible("Мос\u200bкве\u202e\ufeff") == "Москве"
    assert has_invisible("a\u2064") and not has_invisible("a b\u00a0c")


@pytest.fixture(params=["razdel", "spacy"])
def nlp(request) -> Language:
    if request.param == "razdel":
        nlp = spacy.blank("ru")
        nlp.tokenizer = InvisibleAwareTokenizer(RazdelTokenizer(nlp.vocab))
    else:
        nlp = English()
        nlp.tokenizer = InvisibleAwareTokenizer(nlp.tokenizer)
    return nlp


@pytest.mark.parametrize("clean,noisy", sprinkled([*RU_TEXTS, *SPAM, *HAM, "a  b\n\nc", "don't go"]))
def test_tokens_are_the_clean_texts_plus_invisible_ones(nlp, clean, noisy):
    doc = nlp(noisy)
    assert doc.text == noisy
    assert_no_invisible_edge(doc)
    visible = [strip_invisible(token.text) for token in doc]
    clean_doc = nlp(clean)
    assert [word for word in visible if word] == [token.text for token in clean_doc]
    view, _ = visible_view(doc)
    assert [(t.text, t.whitespace_, t.norm_) for t in view] == [(t.text, t.whitespace_, t.norm_) for t in clean_doc]


@pytest.mark.parametrize("text", ["", "\u200b", "\u200b \ufeff", " \u200b\n", "\u202eабв\u202c"])
def test_tokenizer_edge_cases(nlp, text):
    doc = nlp(text)
    assert doc.text == text
    assert_no_invisible_edge(doc)


def test_tokenizer_saves_loads_and_pickles_as_the_wrapped_one(tmp_path):
    nlp = English()
    nlp.tokenizer = InvisibleAwareTokenizer(nlp.tokenizer)
    nlp.tokenizer.add_special_case("gonna", [{"ORTH": "gon"}, {"ORTH": "na"}])
    text = "I'm gonna\u200b go"
    nlp.tokenizer.to_disk(tmp_path / "tokenizer")
    loaded = InvisibleAwareTokenizer(English().tokenizer).from_disk(tmp_path / "tokenizer")
    unpickled = pickle.loads(pickle.dumps(nlp.tokenizer))
    for tokenizer in (loaded, unpickled):
        assert [t.text for t in tokenizer(text)] == [t.text for t in nlp.tokenizer(text)]
    assert [t.text for t in nlp(text)] == ["I", "'m", "gon", "na", "\u200b", "go"]


@pytest.mark.parametrize("clean,noisy", sprinkled(RU_TEXTS))
def test_sentences_are_the_clean_texts(clean, noisy):
    nlp = spacy.blank("ru")
    nlp.tokenizer = InvisibleAwareTokenizer(RazdelTokenizer(nlp.vocab))
    nlp.add_pipe("razdel_sentencizer")
    doc, clean_doc = nlp(noisy), nlp(clean)
    # A sentence starts at a word; invisible tokens after its last word stay with it.
    assert all(strip_invisible(sent[0].text) for sent in list(doc.sents)[1:])
    assert [strip_invisible(s.text).strip() for s in doc.sents] == [s.text for s in clean_doc.sents]
    view, _ = visible_view(doc)
    assert [s.text for s in view.sents] == [s.text for s in clean_doc.sents]


# The NER features of configs/ner.cfg at a test's size: hashed attributes, the character CNN,
# pymorphy3 grammemes, navec vectors and slovnet's pretrained NER encoder, with a CRF.
NER_MODEL = ner_model(pretrained=["slovnet_ner"], pretrained_outputs="both", fine_tune_pretrained=True, pretrained_skip=True)


def make_ner_examples(nlp: Language, texts_and_ents, sprinkle_seed=None):
    """Examples of RU_SENTENCES, optionally sprinkled (the gold spans follow their tokens)."""
    examples = []
    for text, ents in texts_and_ents:
        noisy = text if sprinkle_seed is None else sprinkle(text, sprinkle_seed)
        reference = nlp.make_doc(noisy)
        _, keep = visible_view(reference)
        at = (lambda i: i) if keep is None else (lambda i: int(keep[i]))
        reference.ents = [Span(reference, at(s), at(e - 1) + 1, label) for s, e, label in ents]
        examples.append(Example(nlp.make_doc(noisy), reference))
    return examples


@pytest.fixture(scope="module")
def ner_nlp() -> Language:
    nlp = spacy.blank("ru")
    nlp.tokenizer = InvisibleAwareTokenizer(RazdelTokenizer(nlp.vocab))
    nlp.add_pipe("razdel_sentencizer")
    nlp.add_pipe("bilstm_ner", config={"model": NER_MODEL})
    examples = make_ner_examples(nlp, RU_SENTENCES)
    optimizer = nlp.initialize(lambda: examples)
    optimizer.learn_rate = 0.01
    for _ in range(40):
        nlp.update(examples, sgd=optimizer, drop=0.0)
    return nlp


def visible_ents(doc):
    return [(strip_invisible(ent.text), ent.label_) for ent in doc.ents]


def test_ner_finds_the_same_entities(ner_nlp):
    pairs = sprinkled(RU_TEXTS)
    clean_docs = list(ner_nlp.pipe(clean for clean, _ in pairs))
    assert all(doc.ents for doc in clean_docs)
    # Batched, as nlp.pipe reads them, and one at a time.
    for (clean, noisy), clean_doc, doc in zip(pairs, clean_docs, ner_nlp.pipe(noisy for _, noisy in pairs)):
        for doc in (doc, ner_nlp(noisy)):
            assert doc.text == noisy
            assert_no_invisible_edge(doc.ents)
            assert visible_ents(doc) == visible_ents(clean_doc), noisy


@pytest.mark.parametrize("text,entity", ISSUE_TEXTS)
def test_the_issues_examples(ner_nlp, text, entity):
    doc = ner_nlp(text)
    assert entity in [(ent.text, ent.label_) for ent in doc.ents]
    assert visible_ents(doc) == visible_ents(ner_nlp(strip_invisible(text)))


def test_an_invisible_token_inside_an_entity_stays_inside():
    nlp = spacy.blank("ru")
    nlp.tokenizer = InvisibleAwareTokenizer(RazdelTokenizer(nlp.vocab))
    ner = nlp.add_pipe("bilstm_ner", config={"model": NER_MODEL})
    ner.add_label("PER")
    doc = nlp.make_doc("Владимир \u200bПутин\u200b сказал")
    assert [t.text for t in doc] == ["Владимир", "\u200b", "Путин", "\u200b", "сказал"]
    b_per, i_per = ner.tags.index("B-PER"), ner.tags.index("I-PER")
    ner.set_annotations([doc], [[b_per, -1, i_per, -1, 0]])
    assert [(ent.start, ent.end, ent.label_) for ent in doc.ents] == [(0, 3, "PER")]


def test_ner_reads_and_learns_from_docs_of_invisible_characters_only(ner_nlp):
    texts = ["\u200b", "\u202e \ufeff", ""]
    assert [doc.ents for doc in ner_nlp.pipe(texts)] == [(), (), ()]
    examples = [Example(ner_nlp.make_doc(text), ner_nlp.make_doc(text)) for text in texts]
    assert ner_nlp.get_pipe("bilstm_ner").update(examples)["bilstm_ner"] == 0.0


def test_ner_learns_the_same_from_sprinkled_examples(ner_nlp):
    """An update's loss on sprinkled examples is the clean examples' loss."""
    clean = make_ner_examples(ner_nlp, RU_SENTENCES)
    for seed in range(3):
        noisy = make_ner_examples(ner_nlp, RU_SENTENCES, sprinkle_seed=seed)
        losses = [ner_nlp.get_pipe("bilstm_ner").update(examples, drop=0.0)["bilstm_ner"] for examples in (clean, noisy)]
        assert losses[1] == pytest.approx(losses[0], rel=1e-5)


SPAM_MODELS = {
    # configs/spam.cfg's features: word uni- and bigrams, SHAPE, character n-grams; and NORM,
    # a token's own attribute, which is read from the doc instead of the lexeme table.
    "bow": bow_model(token_attrs=["SHAPE"], char_ngram_range=[2, 5]),
    "bow_norm": bow_model(token_attrs=["NORM", "SHAPE"]),
    "bilstm": {
        "@architectures": "spacy-ru-nn.BiLSTMClassifier.v2",
        "width": 32,
        "depth": 1,
        "pooling": "attention",
        "nO": None,
        "embed": {
            "@architectures": "spacy-ru-nn.TokenEmbed.v1",
            "attrs": ["LOWER", "SHAPE", "SUFFIX"],
            "rows": [500, 50, 200],
            "attr_width": 16,
            "width": 32,
            "max_tokens": 12,
        },
    },
}


@pytest.fixture(scope="module", params=sorted(SPAM_MODELS))
def spam_nlp(request) -> Language:
    nlp = English()
    nlp.tokenizer = InvisibleAwareTokenizer(nlp.tokenizer)
    nlp.add_pipe("nn_textcat", config={"model": SPAM_MODELS[request.param]})
    data = [(text, "spam") for text in SPAM] + [(text, "ham") for text in HAM]
    examples = [
        Example.from_dict(nlp.make_doc(text), {"cats": {"ham": float(label == "ham"), "spam": float(label == "spam")}})
        for text, label in data
    ]
    optimizer = nlp.initialize(lambda: examples)
    optimizer.learn_rate = 0.01
    for _ in range(20):
        nlp.update(examples, sgd=optimizer, drop=0.1)
    return nlp


def test_spam_probability_is_the_clean_texts(spam_nlp):
    # "" sprinkled is a text of invisible characters only: it scores as the empty text.
    pairs = sprinkled([*SPAM, *HAM, "Call me, don't text: 0800 123!", ""])
    clean_docs = list(spam_nlp.pipe(clean for clean, _ in pairs))
    for (clean, noisy), clean_doc, doc in zip(pairs, clean_docs, spam_nlp.pipe(noisy for _, noisy in pairs)):
        assert doc.text == noisy
        assert doc.cats["spam"] == pytest.approx(clean_doc.cats["spam"], abs=1e-6), noisy
        assert spam_nlp(noisy).cats["spam"] == pytest.approx(clean_doc.cats["spam"], abs=1e-6)


def test_attention_lists_the_tokens_read():
    nlp = English()
    nlp.tokenizer = InvisibleAwareTokenizer(nlp.tokenizer)
    textcat = nlp.add_pipe("nn_textcat", config={"model": SPAM_MODELS["bilstm"]})
    examples = [Example.from_dict(nlp.make_doc(t), {"cats": {"ham": float(t in HAM), "spam": float(t in SPAM)}}) for t in SPAM + HAM]
    nlp.initialize(lambda: examples)
    doc = nlp("Call\u200b \u202enow\ufeff")
    read = [(token.text, round(weight, 6)) for token, weight in textcat.attention(doc)]
    assert read == [(token.text, round(weight, 6)) for token, weight in textcat.attention(nlp("Call now"))]
