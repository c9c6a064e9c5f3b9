"""Loading a pipeline leaves torch's thread count alone, and so does importing the plugin in
forked children; training pins it through a config value the user can see and change, and
`one_torch_thread_in_workers` gives the workers of `nlp.pipe(n_process=N)` one thread each."""
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import spacy
import torch
from spacy.util import load_config, load_model_from_config, registry

from conftest import HAM, SPAM, make_ner_examples

CONFIGS = Path(__file__).parent.parent / "configs"
TINY = {
    "ner.cfg": {
        "components.bilstm_ner.model.encode.width": 16,
        "components.bilstm_ner.model.embed.vectors": None,
        "components.bilstm_ner.model.embed.lexicon": False,
        "components.bilstm_ner.model.embed.pretrained": [],
        "components.bilstm_ner.model.embed.pretrained_skip": False,
    },
    "spam.cfg": {},
    "spam_bilstm.cfg": {"components.textcat.model.width": 8},
}


@pytest.fixture
def other_thread_count():
    """A thread count no config sets, restored afterwards (conftest runs the tests on one)."""
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    yield 3
    torch.set_num_threads(before)


def initialized_pipeline(config_name: str):
    config = load_config(CONFIGS / config_name, overrides=TINY[config_name])
    nlp = load_model_from_config(config, auto_fill=True)
    if config_name == "ner.cfg":
        examples = make_ner_examples(nlp)
    else:
        from spacy.training import Example

        examples = [
            Example.from_dict(nlp.make_doc(text), {"cats": {"spam": float(label == "spam"), "ham": float(label == "ham")}})
            for texts, label in ((SPAM, "spam"), (HAM, "ham"))
            for text in texts
        ]
    nlp.initialize(lambda: examples)
    return nlp


@pytest.mark.parametrize("config_name", sorted(TINY))
def test_spacy_load_leaves_torch_threads_alone(config_name, other_thread_count, tmp_path):
    initialized_pipeline(config_name).to_disk(tmp_path / "pipeline")
    assert torch.get_num_threads() == other_thread_count
    nlp = spacy.load(tmp_path / "pipeline")
    nlp("Александр Пушкин родился в Москве.")
    assert torch.get_num_threads() == other_thread_count


def test_threads_at_load_are_a_config_value_the_user_sets(other_thread_count, tmp_path):
    initialized_pipeline("spam.cfg").to_disk(tmp_path / "pipeline")
    hook = {"@callbacks": "spacy-ru-nn.torch_threads.v1", "n_threads": 1}
    spacy.load(tmp_path / "pipeline", config={"nlp": {"before_creation": hook}})
    assert torch.get_num_threads() == 1


@pytest.mark.parametrize("config_name", sorted(TINY) + ["ner_devset_only.cfg", "ner_finetune.cfg"])
def test_training_runs_on_the_configured_threads(config_name, other_thread_count):
    hook = load_config(CONFIGS / config_name)["training"]["before_update"]
    assert hook == {"@callbacks": "spacy-ru-nn.training_torch_threads.v1", "n_threads": 1}
    before_update = registry.resolve({"hook": hook})["hook"]
    before_update(spacy.blank("en"), {"step": 0, "epoch": 0})
    assert torch.get_num_threads() == 1


FORK_PROBE = textwrap.dedent(
    """
    import os, torch
    torch.set_num_threads(3)
    torch.ones(64, 64) @ torch.ones(64, 64)
    import spacy_ru_nn

    def forked_child_threads():
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.write(write, str(torch.get_num_threads()).encode())
            os._exit(0)
        os.close(write)
        os.waitpid(pid, 0)
        return int(os.read(read, 16))

    plain = forked_child_threads()
    with spacy_ru_nn.one_torch_thread_in_workers():
        inside = forked_child_threads()
    print(plain, inside, torch.get_num_threads())
    """
)


def test_forked_children_get_one_thread_only_when_asked():
    """Importing the plugin changes no fork of the host program; the context manager gives
    the children forked inside it one thread and gives the parent its count back."""
    result = subprocess.run([sys.executable, "-c", FORK_PROBE], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["3", "1", "3"]
