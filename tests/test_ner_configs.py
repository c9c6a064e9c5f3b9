"""The NER configs the project trains: the shipped one and the license-clean devset-only one
stay the same model apart from the pretrained encoder, and every ablation variant resolves."""
from pathlib import Path

import pytest
import spacy
from spacy.util import load_config

from scripts.ablate_ner import DEVSET_ONLY, VARIANTS

CONFIGS = Path(__file__).parent.parent / "configs"
# The pretrained encoder's settings, and the BiLSTM's width: each model at the width its own
# cross-validation chose.
DIFFERING_KEYS = {"pretrained", "pretrained_outputs", "fine_tune_pretrained", "pretrained_skip", "width"}


def flatten(section, prefix=""):
    for key, value in section.items():
        if isinstance(value, dict):
            yield from flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def test_devset_only_config_is_the_shipped_one_without_the_pretrained_encoder():
    shipped = dict(flatten(load_config(CONFIGS / "ner.cfg", interpolate=False)))
    devset_only = dict(flatten(load_config(CONFIGS / "ner_devset_only.cfg", interpolate=False)))
    differing = {key for key in shipped.keys() | devset_only.keys() if shipped.get(key) != devset_only.get(key)}
    assert differing and {key.rsplit(".", 1)[-1] for key in differing} <= DIFFERING_KEYS
    assert devset_only["components.bilstm_ner.model.pretrained"] == []
    assert shipped["components.bilstm_ner.model.pretrained"]


@pytest.mark.parametrize("name,overrides", VARIANTS, ids=[name for name, _ in VARIANTS])
def test_every_ablation_variant_builds(name, overrides):
    config_name = "ner_devset_only.cfg" if name == DEVSET_ONLY else "ner.cfg"
    config = load_config(CONFIGS / config_name, overrides=overrides)
    nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    assert "bilstm_ner" in nlp.pipe_names
