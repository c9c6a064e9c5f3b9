"""Registered callbacks for `[nlp]` config hooks, and torch's thread count in forked workers."""
from contextlib import contextmanager
from typing import Any, Callable, Dict, FrozenSet, Iterator, Type

from spacy.attrs import LIKE_NUM
from spacy.lang.ru import lex_attrs as ru_lex_attrs
from spacy.language import Language
from spacy.util import registry

from .compat import russian_number_words


@registry.callbacks("spacy-ru-nn.torch_threads.v1")
def make_torch_threads(n_threads: int = 1) -> Callable[[Type[Language]], Type[Language]]:
    """Set PyTorch's intra-op thread count when the pipeline is created, for `[nlp.before_creation]`.

    The shipped configs leave it out: it runs on every `spacy.load` and the count is
    process-wide, so it would change the thread count of all other torch code in the process.
    Pass it when loading to opt in, e.g. `spacy.load(name, config={"nlp": {"before_creation":
    {"@callbacks": "spacy-ru-nn.torch_threads.v1", "n_threads": 1}}})`.
    """

    def set_torch_threads(lang_cls: Type[Language]) -> Type[Language]:
        import torch

        if n_threads > 0 and torch.get_num_threads() != n_threads:
            torch.set_num_threads(n_threads)
        return lang_cls

    return set_torch_threads


@registry.callbacks("spacy-ru-nn.training_torch_threads.v1")
def make_training_torch_threads(n_threads: int = 1) -> Callable[[Language, Dict[str, Any]], None]:
    """Set PyTorch's intra-op thread count for training only, for `[training.before_update]`.

    `spacy train` calls it before every update (a no-op once set); `spacy.load` never does,
    so a packaged pipeline leaves the thread count alone. One thread is what the shipped
    configs train on: on small batches of short sequences torch's thread pool costs more than
    it gains, and training runs the same on any machine.
    """

    def set_training_threads(nlp: Language, step_info: Dict[str, Any]) -> None:
        import torch

        if n_threads > 0 and torch.get_num_threads() != n_threads:
            torch.set_num_threads(n_threads)

    return set_training_threads


@registry.callbacks("spacy-ru-nn.russian_like_num.v1")
def make_russian_like_num() -> Callable[[Language], Language]:
    """Give the vocab a `like_num` that answers exactly as spaCy's Russian one, faster.

    spaCy 3.8's Russian `like_num` looks each new word up in a *list* of number words, which
    dominates the cost of creating a lexeme; this one looks them up in a set. A getter the
    pipeline's language did not take from spaCy's Russian defaults is left alone.
    """

    def use_russian_like_num(nlp: Language) -> Language:
        if nlp.vocab.lex_attr_getters.get(LIKE_NUM) is ru_lex_attrs.like_num:
            nlp.vocab.lex_attr_getters[LIKE_NUM] = russian_like_num
        return nlp

    return use_russian_like_num


RUSSIAN_NUMBER_WORDS: FrozenSet[str] = russian_number_words()


def russian_like_num(text: str) -> bool:
    """spacy.lang.ru.lex_attrs.like_num, line for line, with its number words in a set."""
    if text.startswith(("+", "-", "±", "~")):
        text = text[1:]
    if text.endswith("%"):
        text = text[:-1]
    text = text.replace(",", "").replace(".", "")
    if text.isdigit():
        return True
    if text.count("/") == 1:
        num, denom = text.split("/")
        if num.isdigit() and denom.isdigit():
            return True
    return text.lower() in RUSSIAN_NUMBER_WORDS


@contextmanager
def one_torch_thread_in_workers() -> Iterator[None]:
    """Run torch on one thread in the workers that `nlp.pipe(..., n_process=N)` forks inside
    the block, e.g. `with one_torch_thread_in_workers(): docs = list(nlp.pipe(texts,
    n_process=2))`.

    A child forked after its parent ran torch on several OpenMP threads hangs in its first
    parallel region: the pool's threads do not survive the fork (explosion/spaCy#4667,
    #6662). A child forked while the parent is set to one thread inherits that setting and
    never enters the pool; one thread per worker is also what a worker should use when the
    workers share the cores. The parent's own count is restored when the block ends, so
    consume the `nlp.pipe` generator inside it: the workers are forked at its first item.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
