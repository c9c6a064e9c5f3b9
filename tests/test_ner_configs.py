"""The NER configs the project trains: the shipped one and the license-clean devset-only one
stay the same model apart from the embed block, and every ablation variant resolves."""
from pathlib import Path

import pytest
import spacy
from spacy.util import load_config
from thinc.api import Config

from scripts.ablate_ner import DEVSET_ONLY, VARIANTS

CONFIGS = Path(__file__).parent.parent / "configs"
MODEL = "components.bilstm_ner.model"
# The settings cross-validation chose for the devset-only model besides its embed: the
# BiLSTM's width (project.yml's ner-cv-variants; its step count is `ner_devset_final_steps`
# there, not in the config). Everything else must be the shipped model's.
CHOSEN_FOR_DEVSET_ONLY = {f"{MODEL}.encode.width"}


def flatten(section, prefix=""):
    for key, value in section.items():
        if isinstance(value, dict):
            yield from flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def resolved(name):
    """The config as text with every variable filled in, read back as flat keys."""
    config = load_config(CONFIGS / name, interpolate=True)
    return dict(flatten(Config().from_str(config.to_str())))


def test_devset_only_config_differs_from_the_shipped_one_in_its_embed_only():
    shipped, devset_only = resolved("ner.cfg"), resolved("ner_devset_only.cfg")
    differing = {key for key in shipped.keys() | devset_only.keys() if shipped.get(key) != devset_only.get(key)}
    assert differing
    assert not {key for key in differing if not key.startswith(f"{MODEL}.embed.")} - CHOSEN_FOR_DEVSET_ONLY
    assert devset_only[f"{MODEL}.embed.pretrained"] == [] and shipped[f"{MODEL}.embed.pretrained"]
    # The embed follows the encoder's width in both.
    for config in (shipped, devset_only):
        assert config[f"{MODEL}.embed.width"] == config[f"{MODEL}.encode.width"]


def test_the_configs_name_the_sublayers():
    for name in ("ner.cfg", "ner_devset_only.cfg"):
        model = load_config(CONFIGS / name)["components"]["bilstm_ner"]["model"]
        assert model["@architectures"] == "spacy-ru-nn.EntityTagger.v1"
        assert {key: block["@architectures"] for key, block in model.items() if isinstance(block, dict)} == {
            "embed": "spacy-ru-nn.RussianTokenEmbed.v1",
            "encode": "spacy-ru-nn.BiLSTMEncoder.v1",
            "output": "spacy-ru-nn.CRFTagOutput.v1",
        }


@pytest.mark.parametrize("name,overrides", VARIANTS, ids=[name for name, _ in VARIANTS])
def test_every_ablation_variant_builds(name, overrides):
    config_name = "ner_devset_only.cfg" if name == DEVSET_ONLY else "ner.cfg"
    config = load_config(CONFIGS / config_name, overrides=overrides)
    nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    assert "bilstm_ner" in nlp.pipe_names
