import shutil
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc, DocBin, Span, SpanGroup

from spacy_ru_nn.corpora.factru import convert_folder, document_normals, read_chains
from spacy_ru_nn.normalizer import EntityNormalizer, normalize_span
from spacy_ru_nn.normalizer.scoring import accuracy, comparable, lemma_per_word, same_normal
from spacy_ru_nn.normalizer.rules import Morphology, context_cases

FIXTURE = Path(__file__).parent / "fixtures" / "factru_coref"

# (words, label, normal form): the inflections natasha gets wrong, and the names that stay.
CASES = [
    ("Олега Дерипаски", "PER", "Олег Дерипаска"),
    ("Андрея Лугового", "PER", "Андрей Луговой"),
    ("Клавдии Ивановны Петуховой", "PER", "Клавдия Ивановна Петухова"),
    ("Клавдию Ивановну Петухову", "PER", "Клавдия Ивановна Петухова"),
    ("Александры Стреляной", "PER", "Александра Стреляная"),
    ("Александре Стреляной", "PER", "Александра Стреляная"),
    ("Игорем Сечиным", "PER", "Игорь Сечин"),
    ("Обамы", "PER", "Обама"),
    ("Сергея Шойгу", "PER", "Сергей Шойгу"),
    ("Афинами", "LOC", "Афины"),
    ("Антарктике", "LOC", "Антарктика"),
    ("Москвы", "LOC", "Москва"),
    ("Новгородской области", "LOC", "Новгородская область"),
    ("Ростова-на-Дону", "LOC", "Ростов-на-Дону"),
    ("Тоттенхэме", "LOC", "Тоттенхэм"),
    ("Ростов-на-Дону", "LOC", "Ростов-на-Дону"),
    ("Соединённых Штатов", "LOC", "Соединённые Штаты"),
    ("мэрии Москвы", "ORG", "мэрия Москвы"),
    ("Министерства иностранных дел России", "ORG", "Министерство иностранных дел России"),
    ("Государственной думы", "ORG", "Государственная дума"),
    ("Высшей школы экономики", "ORG", "Высшая школа экономики"),
    ("сборной России", "ORG", "сборная России"),
    ("Аль-Кайды", "ORG", "Аль-Кайда"),
    ("Nokia", "ORG", "Nokia"),
    ("МИД", "ORG", "МИД"),
    ("МИДа", "ORG", "МИД"),
    ("японского МИДа", "ORG", "японский МИД"),
    ("ВКонтакте", "ORG", "ВКонтакте"),
    ("АвтоВАЗа", "ORG", "АвтоВАЗ"),
    # A guess's fleeting vowel, the dictionary's -ской, a Finnish -нен surname.
    ("Хайнца Фишера", "PER", "Хайнц Фишер"),
    ("Сергеем Донским", "PER", "Сергей Донской"),
    ("Кими Райкконена", "PER", "Кими Райкконен"),
    # Articles of foreign place names, a particle's tail, a family's name as an adjective.
    ("Сан Луисе", "LOC", "Сан Луис"),
    ("Аль Аин", "LOC", "Аль Аин"),
    ("Вейк-ан-Зее", "LOC", "Вейк-ан-Зее"),
    ("Франкфурте-на-Майне", "LOC", "Франкфурт-на-Майне"),
    ("Воробьёвых гор", "LOC", "Воробьёвы горы"),
]


@pytest.fixture(scope="module")
def nlp():
    nlp = spacy.blank("ru")
    nlp.add_pipe("entity_normalizer")
    return nlp


def doc_with_ents(nlp, mentions):
    """One doc: "mention1 , mention2 , ..." with each mention as an entity."""
    words, spaces, ents = [], [], []
    for text, label, _ in mentions:
        start = len(words)
        words += text.split()
        spaces += [True] * len(text.split())
        ents.append((start, len(words), label))
        words.append(",")
        spaces.append(True)
    doc = Doc(nlp.vocab, words=words, spaces=spaces)
    doc.ents = [Span(doc, s, e, label=label) for s, e, label in ents]
    return doc


@pytest.mark.parametrize("text,label,normal", CASES)
def test_normal_form_alone(nlp, text, label, normal):
    doc = nlp(doc_with_ents(nlp, [(text, label, normal)]))
    assert doc.ents[0]._.normal == normal


def test_normal_forms_in_one_doc(nlp):
    doc = nlp(doc_with_ents(nlp, CASES))
    assert [ent._.normal for ent in doc.ents] == [normal for _, _, normal in CASES]


def test_text_capitals_and_e_kept(nlp):
    doc = nlp(doc_with_ents(nlp, [("Соединённых Штатов", "LOC", ""), ("москвы", "LOC", "")]))
    assert [ent._.normal for ent in doc.ents] == ["Соединённые Штаты", "москва"]


def test_any_span_and_span_groups(nlp):
    # Spans the component never saw get their normal form on demand.
    doc = doc_with_ents(nlp, [("Игорем Сечиным", "PER", ""), ("мэрии Москвы", "ORG", "")])
    doc.spans["mentions"] = SpanGroup(doc, spans=list(doc.ents))
    assert [span._.normal for span in doc.spans["mentions"]] == ["Игорь Сечин", "мэрия Москвы"]
    assert normalize_span(Span(doc, 0, 2, label="PER")) == "Игорь Сечин"


def test_spans_key_and_labels(nlp):
    restricted = spacy.blank("ru")
    restricted.add_pipe("entity_normalizer", config={"labels": ["LOC"], "spans_key": "sc"})
    doc = doc_with_ents(restricted, [("Игорем Сечиным", "PER", ""), ("Москвы", "LOC", "")])
    doc.spans["sc"] = [Span(doc, 0, 2, label="PER")]
    doc = restricted(doc)
    stored = doc.user_data["ru_nn.normal"]
    assert list(stored.values()) == ["Москва"]


def test_setter_and_docbin_round_trip(nlp):
    doc = nlp(doc_with_ents(nlp, [("Москвы", "LOC", "")]))
    doc.ents[0]._.normal = "Москва (город)"
    restored = list(DocBin(docs=[doc], store_user_data=True).get_docs(nlp.vocab))[0]
    assert restored.ents[0]._.normal == "Москва (город)"


def test_empty_doc(nlp):
    assert nlp("").ents == ()


def test_pipeline_round_trips(nlp, tmp_path):
    mentions = [("Клавдии Ивановны Петуховой", "PER", ""), ("мэрии Москвы", "ORG", "")]
    expected = ["Клавдия Ивановна Петухова", "мэрия Москвы"]
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.pipe_names == ["entity_normalizer"]
    assert [e._.normal for e in loaded(doc_with_ents(loaded, mentions)).ents] == expected
    from_bytes = spacy.blank("ru").from_config(nlp.config).from_bytes(nlp.to_bytes())
    assert [e._.normal for e in from_bytes(doc_with_ents(from_bytes, mentions)).ents] == expected


def test_pipe_agrees_with_call(nlp):
    docs = [doc_with_ents(nlp, [case]) for case in CASES[:5]]
    piped = [doc.ents[0]._.normal for doc in nlp.pipe(d.copy() for d in docs)]
    assert piped == [nlp(doc).ents[0]._.normal for doc in docs]


def test_comparison_ignores_case_yo_and_dots():
    assert same_normal("ВКонтакте", "Вконтакте")
    assert same_normal("Соединённые Штаты", "соединенные штаты")
    assert same_normal("С.Ш.А.", "С Ш А")
    assert not same_normal("Москвы", "Москва")
    assert comparable("  Ростов-на-Дону ") == "ростов-на-дону"


def test_lemma_baseline_breaks_agreement(nlp):
    doc = doc_with_ents(nlp, [("Клавдии Ивановны Петуховой", "PER", "")])
    assert lemma_per_word(doc.ents[0], Morphology()) != "Клавдия Ивановна Петухова"


def test_accuracy_counts_inflected_mentions():
    scores = accuracy(
        [("LOC", "Москвы", "Москва", "Москва"), ("LOC", "Москва", "Москва", "Москва"), ("PER", "Обамы", "Обамы", "Обама")]
    )
    assert scores["all"] == {"accuracy": round(2 / 3, 4), "n": 3}
    assert scores["inflected"] == {"accuracy": 0.5, "n": 2}
    assert scores["PER"]["accuracy"] == 0.0 and scores["LOC"]["accuracy"] == 1.0


def test_converter_extracts_gold_normal_forms(tmp_path):
    docs, _ = convert_folder(spacy.blank("ru"), FIXTURE / "testset")
    doc = docs[0]
    by_text = {doc.text[s:e]: (label, normal) for s, e, label, normal in doc.user_data["factru_normals"]}
    # Person parts from the chain, in the mention's order; a name with as many words as the
    # mention; "РФ" does not start like "России", so that mention has no gold normal form.
    assert by_text == {
        "Юрия Лужкова": ("PER", "Юрий Лужков"),
        "мэрии Москвы": ("ORG", "мэрия Москвы"),
        "Москве": ("LOC", "Москва"),
    }
    # Kept through a DocBin, for the converted corpus.
    restored = list(DocBin(docs=docs, store_user_data=True).get_docs(spacy.blank("ru").vocab))[0]
    assert [list(m) for m in restored.user_data["factru_normals"]] == doc.user_data["factru_normals"]


def test_chains_and_missing_coref(tmp_path):
    chains = read_chains(FIXTURE / "testset" / "luzhkov_1.coref")
    assert chains["1"] == {"firstname": ["Юрий"], "lastname": ["Лужков"]}
    shutil.copytree(FIXTURE, tmp_path / "corpus")
    (tmp_path / "corpus" / "testset" / "luzhkov_1.coref").unlink()
    text = (FIXTURE / "testset" / "luzhkov_1.txt").read_text(encoding="utf8")
    assert document_normals(tmp_path / "corpus" / "testset" / "luzhkov_1", text) == {}


def test_factory_is_one_function_for_decorator_and_entry_point():
    from importlib.metadata import entry_points

    from spacy.language import Language

    from spacy_ru_nn.normalizer.component import make_entity_normalizer

    assert Language.get_factory_meta("entity_normalizer").factory == "entity_normalizer"
    assert isinstance(spacy.blank("ru").add_pipe("entity_normalizer"), EntityNormalizer)
    declared = [ep for ep in entry_points(group="spacy_factories") if ep.name == "entity_normalizer"]
    if declared:  # an install from this tree
        assert declared[0].load() is make_entity_normalizer


def test_evaluate_normal_at_gold_bounds_and_end_to_end(tmp_path):
    import json

    from typer.testing import CliRunner

    from spacy_ru_nn.cli import app

    # A stand-in for a trained NER: a ruler that finds two of the three gold mentions, one of
    # them with wrong bounds, before the normaliser.
    nlp = spacy.blank("ru", config={"nlp": {"tokenizer": {"@tokenizers": "spacy-ru-nn.RazdelTokenizer.v1"}}})
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([
        {"label": "PER", "pattern": [{"ORTH": "Юрия"}, {"ORTH": "Лужкова"}]},
        {"label": "LOC", "pattern": [{"ORTH": "в"}, {"ORTH": "Москве"}]},
    ])
    nlp.add_pipe("entity_normalizer")
    nlp.to_disk(tmp_path / "pipeline")
    reference = tmp_path / "other.jsonl"
    reference.write_text(
        json.dumps({"doc_id": "luzhkov_1", "start": 4, "end": 16, "label": "PER", "normal": "Юрий Лужков"}, ensure_ascii=False) + "\n",
        encoding="utf8",
    )
    args = [
        "evaluate-normal", str(FIXTURE / "testset"), "--model", str(tmp_path / "pipeline"), "--repeats", "1",
        "--output", str(tmp_path / "normal.json"), "--mentions", str(tmp_path / "mentions.jsonl"),
        "--reference", f"other={reference}",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "normal.json").read_text(encoding="utf8"))
    gold_bounds = metrics["gold_bounds"]
    assert gold_bounds["entity_normalizer"]["all"] == {"accuracy": 1.0, "n": 3}
    assert gold_bounds["as written"]["all"] == {"accuracy": 0.0, "n": 3}
    # The other normaliser skipped two mentions: they count as wrong.
    assert gold_bounds["other"]["all"] == {"accuracy": round(1 / 3, 4), "n": 3}
    assert metrics["end_to_end"]["matched"] == 1 and metrics["end_to_end"]["gold"] == 3
    assert metrics["end_to_end"]["scores"]["PER"] == {"accuracy": 1.0, "n": 1}
    assert set(metrics["speed"]) == {"with_normalizer", "without_normalizer", "words", "cost", "cost_first_pass"}
    assert 0 < metrics["speed"]["cost"] < 1 and 0 < metrics["speed"]["cost_first_pass"] < 1
    assert metrics["normalizer_speed"]["entities_per_second"] > 0
    assert "| entity_normalizer | 3 | 1.000 |" in (tmp_path / "normal.md").read_text(encoding="utf8")
    written = [json.loads(line) for line in (tmp_path / "mentions.jsonl").read_text(encoding="utf8").splitlines()]
    assert written[0]["doc_id"] == "luzhkov_1" and len(written[0]["mentions"]) == 3


@pytest.mark.parametrize(
    "full_name,normal", [("Дмитрий Медведев", "Медведев"), ("Светлана Медведева", "Медведева")]
)
def test_one_word_person_agrees_with_the_documents_full_name(nlp, full_name, normal):
    doc = nlp(doc_with_ents(nlp, [(full_name, "PER", ""), ("Медведева", "PER", "")]))
    assert doc.ents[1]._.normal == normal


@pytest.mark.parametrize(
    "text,normal",
    [
        # A guessed first name that does not decline leaves the case to the surname.
        ("Сейджи Маехары", "Сейджи Маехара"),
        # A woman's surname that is a nominative singular does not decline.
        ("Джоанны Стингрей", "Джоанна Стингрей"),
        # A man's unknown name in -а declines like a woman's.
        ("Хавьера Соланы", "Хавьер Солана"),
        # A surname pymorphy3 knows only as a common noun takes the case of the first name.
        ("Брэда Питта", "Брэд Питт"),
        ("Хамида Карзая", "Хамид Карзай"),
        # An unknown -ов surname declines as a possessive adjective.
        ("Натальи Тимаковой", "Наталья Тимакова"),
    ],
)
def test_person_name_parts(nlp, text, normal):
    doc = nlp(doc_with_ents(nlp, [(text, "PER", normal)]))
    assert doc.ents[0]._.normal == normal


@pytest.mark.parametrize(
    "mentions,normal",
    [
        # A foreign surname pymorphy3 does not decline takes the document's full name.
        ([("Питер Данн", "PER", ""), ("Данна", "PER", "")], "Данн"),
        # A one-word mention in the nominative vouches for another one ...
        ([("Марк", "PER", ""), ("Марку", "PER", "")], "Марк"),
        # ... but not for itself.
        ([("Лофнеру", "PER", ""), ("Джаред Лофнер", "PER", "")], "Лофнер"),
    ],
)
def test_one_word_person_agrees_with_the_documents_other_mentions(nlp, mentions, normal):
    doc = nlp(doc_with_ents(nlp, mentions))
    assert [ent._.normal for ent in doc.ents if len(ent) == 1][-1] == normal


@pytest.mark.parametrize(
    "text,normal",
    [
        # Surnames decline by their ending where pymorphy3 reads an adjective or a place.
        ("Игорем Карасиным", "Игорь Карасин"),
        ("Константина Маковского", "Константин Маковский"),
        ("Максима Чертанова", "Максим Чертанов"),
        ("Анны Сафарбаковой", "Анна Сафарбакова"),
        # A name that does not decline fits whatever case the other parts are in ...
        ("Марком Рютте", "Марк Рютте"),
        ("Джона Суини", "Джон Суини"),
        # ... but an ending that marks a case on a consonant stem is read as that case.
        ("Юрию Мильнеру", "Юрий Мильнер"),
        ("Олега Дерипаски", "Олег Дерипаска"),
        # A man's foreign surname in -а beside a first name in the genitive.
        ("Саймона Лаженесса", "Саймон Лаженесс"),
        # Unknown words that end in a consonant are nominatives.
        ("Гленн Малкейр", "Гленн Малкейр"),
        # A woman's surname that ends in a consonant does not decline.
        ("Людмилу Зенькович", "Людмила Зенькович"),
        # The inner parts of a foreign name do not decline; a stem may be two letters long.
        ("Андерса Фог Расмуссена", "Андерс Фог Расмуссен"),
        ("Хвана Чжан Епа", "Хван Чжан Еп"),
    ],
)
def test_surnames_and_foreign_names(nlp, text, normal):
    doc = nlp(doc_with_ents(nlp, [(text, "PER", normal)]))
    assert doc.ents[0]._.normal == normal


@pytest.mark.parametrize(
    "text,label,normal",
    [
        ("Живерни", "LOC", "Живерни"),
        ("Цетинье", "LOC", "Цетинье"),
        ("Тарасовке", "LOC", "Тарасовка"),
        ("МИСиСа", "ORG", "МИСиС"),
        ("ВымпелКом", "ORG", "ВымпелКом"),
        ("китайского Apple", "ORG", "китайский Apple"),
        ("Национальной Медиа Группы", "ORG", "Национальная Медиа Группа"),
        ("Хабаровском", "LOC", "Хабаровск"),
    ],
)
def test_places_and_organisations(nlp, text, label, normal):
    doc = nlp(doc_with_ents(nlp, [(text, label, normal)]))
    assert doc.ents[0]._.normal == normal


@pytest.mark.parametrize(
    "before,normal",
    [
        ("у", "Налле Валрус"),
        ("с", "Налле Валрус"),
        ("министра", "Налле Валрус"),
        ("и", "Налле Валруса"),
        # A nominative noun may govern a genitive or stand beside a nominative: no hint.
        ("министр", "Налле Валруса"),
    ],
)
def test_word_before_a_mention_tells_its_case(nlp, before, normal):
    # "Валруса" may be a nominative as well as a genitive: the word before tells.
    words = ["Встреча", before, "Налле", "Валруса", "."]
    doc = Doc(nlp.vocab, words=words, spaces=[True, True, True, False, False])
    doc.ents = [Span(doc, 2, 4, label="PER")]
    assert nlp(doc).ents[0]._.normal == normal


@pytest.mark.parametrize(
    "mentions,normals",
    [
        # A fuller mention's word left as written yields to the document's one-word name,
        # which keeps its own nominative.
        ([("Тони Донилона", "PER", ""), ("Донилон", "PER", "")], ["Тони Донилон", "Донилон"]),
        ([("Паноса Камменоса", "PER", ""), ("Камменос", "PER", "")], ["Панос Камменос", "Камменос"]),
        # So does a one-word organisation.
        ([("Росстата", "ORG", ""), ("Росстат", "ORG", "")], ["Росстат", "Росстат"]),
    ],
)
def test_mentions_agree_with_the_documents_one_word_names(nlp, mentions, normals):
    doc = nlp(doc_with_ents(nlp, mentions))
    assert [ent._.normal for ent in doc.ents] == normals


def test_list_item_is_a_nominative(nlp):
    # "Ларрионда" after a first name that does not decline reads as a genitive, unless the
    # mention is a list item.
    words = ["арбитры", ":", "•", "Хорхе", "Ларрионда", "(", "Уругвай", ")"]
    doc = Doc(nlp.vocab, words=words, spaces=[False, True, True, True, True, False, False, False])
    doc.ents = [Span(doc, 3, 5, label="PER")]
    assert nlp(doc).ents[0]._.normal == "Хорхе Ларрионда"
    doc = Doc(nlp.vocab, words=["судья", "у", "Хорхе", "Ларрионда"], spaces=[True, True, True, False])
    doc.ents = [Span(doc, 2, 4, label="PER")]
    assert nlp(doc).ents[0]._.normal == "Хорхе Ларрионд"


def test_a_place_between_a_noun_and_a_person_leaves_the_case_to_the_noun():
    morph = Morphology()
    assert context_cases(("премьером", "Австралии"), morph, is_person=True) == {"ablt", "gent"}
    assert context_cases(("президента", "КНР"), morph, is_person=True) == {"gent", "accs"}
    # A nominative noun says nothing, with or without the place.
    assert context_cases(("премьер", "Австралии"), morph, is_person=True) == frozenset()


def test_coordinated_names_share_their_case(nlp):
    # "Амкаром" alone reads as a nominative; after "между «Спартаком» и" as the instrumental.
    words = ["Игра", "между", "«", "Спартаком", "»", "и", "«", "Амкаром", "»"]
    doc = Doc(nlp.vocab, words=words, spaces=[True, True, False, False, True, True, False, False, False])
    doc.ents = [Span(doc, 3, 4, label="ORG"), Span(doc, 7, 8, label="ORG")]
    assert [ent._.normal for ent in nlp(doc).ents] == ["Спартак", "Амкар"]
    # Computed on demand, for a doc no normaliser saw, too.
    fresh = Doc(nlp.vocab, words=words, spaces=[True, True, False, False, True, True, False, False, False])
    fresh.ents = [Span(fresh, 3, 4, label="ORG"), Span(fresh, 7, 8, label="ORG")]
    assert fresh.ents[1]._.normal == "Амкар"
    # Without the first name as an entity, nothing is coordinated.
    alone = Doc(nlp.vocab, words=words, spaces=[True, True, False, False, True, True, False, False, False])
    alone.ents = [Span(alone, 7, 8, label="ORG")]
    assert nlp(alone).ents[0]._.normal == "Амкаром"


def test_clear_caches_forgets_what_was_normalised(nlp):
    normalizer = nlp.get_pipe("entity_normalizer")
    nlp(doc_with_ents(nlp, [("Игорем Сечиным", "PER", "")]))
    assert normalizer._normalize_words.cache_info().currsize > 0
    normalizer.clear_caches()
    assert normalizer._normalize_words.cache_info().currsize == 0
    assert normalizer.morph.parse.cache_info().currsize == 0
    assert nlp(doc_with_ents(nlp, [("Игорем Сечиным", "PER", "")])).ents[0]._.normal == "Игорь Сечин"
