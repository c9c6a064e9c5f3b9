"""Every private attribute of spaCy, thinc and torch that spacy-ru-nn reads or writes, in one
place: when an upstream release moves one, this is the module to change."""
from typing import Any, Dict, FrozenSet, List, Optional

import torch
from thinc.api import Model
from thinc.shims import Shim


def shim_module(shim: Shim) -> Optional[torch.nn.Module]:
    """The torch module of a PyTorchShim, None until it is built. thinc keeps it in the shim's
    `_model` and offers no public accessor."""
    return shim._model


def set_shim_module(shim: Shim, module: torch.nn.Module) -> None:
    """Put a module built after its PyTorchWrapper into the wrapper's shim."""
    shim._model = module


def tensor_version(tensor: torch.Tensor) -> int:
    """How many times the tensor has been written to in place: torch's version counter, which
    autograd keeps in the private `_version`. Writes through `.data` or from numpy do not count."""
    return tensor._version


def replace_layer(model: Model, old: Model, new: Model) -> None:
    """Swap one of `model`'s child layers in place: thinc's `Model.layers` has no setter."""
    layers: List[Model] = model._layers
    layers[layers.index(old)] = new


def russian_number_words() -> FrozenSet[str]:
    """The number words of spaCy's Russian `like_num` (`spacy.lang.ru.lex_attrs`), which it
    keeps in a private list."""
    from spacy.lang.ru import lex_attrs

    return frozenset(lex_attrs._num_words)


def parse_config_overrides(args: List[str], **kwargs: Any) -> Dict[str, Any]:
    """`--section.key value` arguments as config overrides, the way `spacy train` reads them
    (`spacy.cli._util`); `env_var=None` ignores the SPACY_CONFIG_OVERRIDES variable."""
    from spacy.cli._util import parse_config_overrides as parse

    return parse(args, **kwargs)


__all__ = [
    "parse_config_overrides",
    "replace_layer",
    "russian_number_words",
    "set_shim_module",
    "shim_module",
    "tensor_version",
]
