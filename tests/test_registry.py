"""Everything is reachable by name, from the decorators and from the installed entry points."""
import subprocess
import sys
from importlib.metadata import entry_points

import pytest
from spacy.util import registry

import spacy_ru_nn  # noqa: F401

ARCHITECTURES = ["spacy-ru-nn.BiLSTMTagger.v1"]
FACTORIES = ["bilstm_ner"]
CALLBACKS = ["spacy-ru-nn.torch_threads.v1"]


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_architectures_registered(name):
    assert registry.architectures.get(name)


@pytest.mark.parametrize("name", CALLBACKS)
def test_callbacks_registered(name):
    assert registry.callbacks.get(name)


@pytest.mark.parametrize(
    "group,name",
    [("spacy_factories", n) for n in FACTORIES]
    + [("spacy_architectures", n) for n in ARCHITECTURES]
    + [("spacy_callbacks", n) for n in CALLBACKS],
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
