"""Everything is reachable by name, from the decorators and from the installed entry points."""
import subprocess
import sys
from importlib.metadata import entry_points

import pytest
from spacy.util import registry

import spacy_ru_nn  # noqa: F401

ARCHITECTURES = ["spacy-ru-nn.BiLSTMTagger.v1"]
FACTORIES = ["bilstm_ner"]
CALLBACKS = ["spacy-ru-nn.torch_threads.v1", "spacy-ru-nn.russian_like_num.v1"]
AUGMENTERS = ["spacy-ru-nn.mention_replacement.v1"]


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_architectures_registered(name):
    assert registry.architectures.get(name)


@pytest.mark.parametrize("name", CALLBACKS)
def test_callbacks_registered(name):
    assert registry.callbacks.get(name)


@pytest.mark.parametrize("name", AUGMENTERS)
def test_augmenters_registered(name):
    assert registry.augmenters.get(name)


@pytest.mark.parametrize(
    "group,name",
    [("spacy_factories", n) for n in FACTORIES]
    + [("spacy_architectures", n) for n in ARCHITECTURES]
    + [("spacy_callbacks", n) for n in CALLBACKS]
    + [("spacy_augmenters", n) for n in AUGMENTERS],
)
def test_entry_points_installed(group, name):
    found = {ep.name: ep for ep in entry_points(group=group)}
    assert name in found, f"{name} missing from the {group} entry points: reinstall with pip install -e ."
    assert found[name].load()


def test_factory_found_without_importing_the_plugin():
    code = (
        "import sys, spacy; nlp = spacy.blank('ru'); nlp.add_pipe('bilstm_ner'); "
        "assert 'spacy_ru_nn' in sys.modules; print(nlp.pipe_names)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "['bilstm_ner']" in out.stdout


def test_torch_threads_callback_sets_threads():
    import torch

    before = torch.get_num_threads()
    try:
        registry.callbacks.get("spacy-ru-nn.torch_threads.v1")(n_threads=1)(object)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


NUMBER_LIKE = [
    "0", "42", "1,5", "3.14", "-7", "+7", "±2", "~5", "50%", "-3,5%", "1/2", "12/31", "1/2/3",
    "a/b", "1/", "/", "", "%", "-", "двадцать", "Двадцать", "ДВАДЦАТЬ", "двадцатью", "миллиона",
    "пятьдесят", "Пушкин", "Москве", "2-й", "XIV", "١٢", "²", "😀", "ё", "1.000.000",
]  # fmt: skip


def test_russian_like_num_answers_as_spacy_does():
    from spacy.lang.ru.lex_attrs import _num_words, like_num

    from spacy_ru_nn.callbacks import russian_like_num

    words = NUMBER_LIKE + list(_num_words) + [w.title() for w in _num_words] + [w + "а" for w in _num_words]
    assert [russian_like_num(w) for w in words] == [like_num(w) for w in words]
    assert russian_like_num("двадцать") and not russian_like_num("Пушкин")


def test_russian_like_num_callback_replaces_only_spacys_russian_getter():
    import spacy
    from spacy.attrs import LIKE_NUM

    from spacy_ru_nn.callbacks import russian_like_num

    use_it = registry.callbacks.get("spacy-ru-nn.russian_like_num.v1")()
    nlp = use_it(spacy.blank("ru"))
    assert nlp.vocab.lex_attr_getters[LIKE_NUM] is russian_like_num
    assert [t.like_num for t in nlp.make_doc("Двадцать пять рублей")] == [True, True, False]
    english = spacy.blank("en")
    getter = english.vocab.lex_attr_getters[LIKE_NUM]
    assert use_it(english).vocab.lex_attr_getters[LIKE_NUM] is getter


def test_ner_config_uses_the_russian_like_num():
    from pathlib import Path

    from spacy.util import load_config

    config = load_config(Path(__file__).parent.parent / "configs" / "ner.cfg")
    assert config["nlp"]["after_creation"]["@callbacks"] == "spacy-ru-nn.russian_like_num.v1"
