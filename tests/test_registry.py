"""Everything is reachable by name, from the decorators and from the installed entry points.

The entry points are read from the installed distribution's metadata, so one added to
setup.py is covered without editing this file (after `pip install -e .`).
"""
import importlib
import pkgutil
import subprocess
import sys
from importlib.metadata import distribution

import pytest
from spacy.util import registry

import spacy_ru_nn

# Every module of the package, so that every decorator has run: importing the package itself
# registers nothing (spaCy imports each module through its entry point when a config names it).
for module in pkgutil.walk_packages(spacy_ru_nn.__path__, "spacy_ru_nn."):
    if module.name.rsplit(".", 1)[-1] not in ("__main__", "ray_engine"):
        importlib.import_module(module.name)

DISTRIBUTION = distribution("spacy-ru-nn")
ENTRY_POINTS = sorted(
    (ep for ep in DISTRIBUTION.entry_points if ep.group.startswith("spacy_")), key=lambda ep: (ep.group, ep.name)
)
# spaCy's registries by entry point group: each reads the group "spacy_" + its name.
REGISTRIES = {f"spacy_{name}": name for name in registry.get_registry_names()}


def test_the_distribution_declares_entry_points():
    groups = {ep.group for ep in ENTRY_POINTS}
    assert {"spacy_factories", "spacy_architectures", "spacy_callbacks", "spacy_scorers", "spacy_augmenters"} <= groups


@pytest.mark.parametrize("entry_point", ENTRY_POINTS, ids=lambda ep: f"{ep.group}:{ep.name}")
def test_entry_point_loads_the_function_its_registry_holds(entry_point):
    assert entry_point.group in REGISTRIES, f"{entry_point.group} is not a spaCy registry group"
    loaded = entry_point.load()
    assert registry.get(REGISTRIES[entry_point.group], entry_point.name) is loaded


@pytest.mark.parametrize("group", sorted(REGISTRIES))
def test_every_registered_function_has_an_entry_point(group):
    """A function the plugin registers but does not declare would work in tests (the
    decorator runs on import) and fail for a user loading a package without importing us."""
    declared = {ep.name for ep in ENTRY_POINTS if ep.group == group}
    ours = {
        name
        for name, function in getattr(registry, REGISTRIES[group]).get_all().items()
        if getattr(function, "__module__", "").startswith("spacy_ru_nn")
    }
    assert ours <= declared, f"add to setup.py entry_points[{group!r}]: {sorted(ours - declared)}"


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
