"""Read navec's product-quantized vectors into arrays keyed by spaCy string hashes.

Used once, at `initialize`: the table then lives in the model's weights, so a trained or
packaged pipeline never reads the navec file again.
"""
from functools import lru_cache
from pathlib import Path
from typing import List, Tuple, Union

import numpy
from spacy.strings import hash_string

NATASHA_NAVEC = "natasha"
SPECIAL_WORDS = {"<unk>", "<pad>"}


def resolve_navec_path(source: Union[str, Path]) -> Path:
    """'natasha' means the navec news vectors shipped inside the natasha package."""
    if str(source) == NATASHA_NAVEC:
        try:
            from natasha.data import NEWS_EMBEDDING
        except ImportError as err:
            raise ImportError(
                "vectors = 'natasha' needs the natasha package: pip install natasha"
            ) from err
        return Path(NEWS_EMBEDDING)
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"navec vectors not found at {path}")
    return path


@lru_cache(maxsize=2)
def load_navec_table(source: Union[str, Path]) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """Return (keys int64, codes uint8 (rows, subspaces), codebook float32 (subspaces, 256, dim))."""
    from navec import Navec

    navec = Navec.load(str(resolve_navec_path(source)))
    words = navec.vocab.words
    keep = [i for i, word in enumerate(words) if word not in SPECIAL_WORDS]
    keys = numpy.fromiter(
        (hash_string(words[i]) for i in keep), dtype=numpy.uint64, count=len(keep)
    ).view(numpy.int64)
    codes = numpy.ascontiguousarray(navec.pq.indexes[keep], dtype=numpy.uint8)
    codebook = numpy.array(navec.pq.codes, dtype=numpy.float32)  # a writable copy
    return keys, codes, codebook


def load_navec_words(source: Union[str, Path]) -> List[str]:
    """The words of a navec table, without its special tokens."""
    from navec import Navec

    words = Navec.load(str(resolve_navec_path(source))).vocab.words
    return [word for word in words if word not in SPECIAL_WORDS]
