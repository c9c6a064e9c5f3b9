"""Registered callbacks for `[nlp]` config hooks, and torch's thread count in forked workers."""
import os
import sys
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


def _one_torch_thread_after_fork() -> None:
    """Run torch on one thread in a forked child, as torch's own DataLoader workers do.

    `nlp.pipe(..., n_process=2)` and `spacy apply --n-process` fork workers. A child forked
    after the parent ran torch on several OpenMP threads hangs in its first parallel region
    (the pool's threads do not survive the fork); on one thread it never enters the pool.
    One thread per worker is also what the workers should use on a shared machine.
    """
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_one_torch_thread_after_fork)
