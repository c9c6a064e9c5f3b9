"""Registered callbacks for `[nlp]` config hooks."""
from typing import Callable, Type

from spacy.language import Language
from spacy.util import registry


@registry.callbacks("spacy-ru-nn.torch_threads.v1")
def make_torch_threads(n_threads: int = 1) -> Callable[[Type[Language]], Type[Language]]:
    """Set PyTorch's intra-op thread count when the pipeline is created (training and load).

    One thread is the default: on small batches of short sequences, torch's thread pool costs
    more than it gains, and spaCy runs more processes (`n_process`) instead.
    """

    def set_torch_threads(lang_cls: Type[Language]) -> Type[Language]:
        import torch

        if n_threads > 0 and torch.get_num_threads() != n_threads:
            torch.set_num_threads(n_threads)
        return lang_cls

    return set_torch_threads
