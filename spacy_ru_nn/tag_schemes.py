"""Token tag schemes for the BiLSTM tagger and decoding of tag sequences into entity spans.

IO (I-PER I-PER O O I-LOC) has the smallest label set, but two adjacent entities of one
type merge. BIO marks each entity's first token, so they stay apart.
"""
from typing import List, Optional, Sequence, Tuple

import numpy

SCHEMES = ("IO", "BIO")


def check_scheme(scheme: str) -> str:
    if scheme not in SCHEMES:
        raise ValueError(f"Unknown tag scheme {scheme!r}: choose one of {', '.join(SCHEMES)}")
    return scheme


def tag_names(labels: Sequence[str], scheme: str) -> List[str]:
    """Tag inventory, "O" first: IO gives I-X per label, BIO gives B-X and I-X."""
    check_scheme(scheme)
    tags = ["O"]
    for label in labels:
        if scheme == "BIO":
            tags.append(f"B-{label}")
        tags.append(f"I-{label}")
    return tags


def biluo_to_scheme(biluo: Sequence[Optional[str]], scheme: str) -> List[Optional[str]]:
    """Map spaCy's aligned BILUO tags into the scheme; None and "-" (unknown) stay None."""
    out: List[Optional[str]] = []
    for tag in biluo:
        if tag is None or tag == "-" or tag == "":
            out.append(None)
        elif tag == "O":
            out.append("O")
        else:
            move, label = tag.split("-", 1)
            begins = move in ("B", "U")
            out.append(f"B-{label}" if begins and scheme == "BIO" else f"I-{label}")
    return out


def decode_spans(
    tag_ids: numpy.ndarray, tags: Sequence[str]
) -> List[Tuple[int, int, str]]:
    """Turn per-token tag ids into non-overlapping (start, end, label) token spans.

    Any sequence decodes to valid spans: an I-X after O or after another type opens a new
    X entity (as `iob_to_biluo` does), B-X always opens one.
    """
    n = len(tag_ids)
    if n == 0:
        return []
    labels = numpy.array([t[2:] if t != "O" else "" for t in tags], dtype=object)
    label_ids = {label: i for i, label in enumerate(sorted(set(labels.tolist()) - {""}))}
    tag_label = numpy.array([label_ids.get(l, -1) for l in labels], dtype=numpy.int64)
    tag_begins = numpy.array([t.startswith("B-") for t in tags], dtype=bool)
    token_label = tag_label[tag_ids]
    inside = token_label >= 0
    previous = numpy.concatenate([[-1], token_label[:-1]])
    starts = inside & (tag_begins[tag_ids] | (token_label != previous))
    start_idx = numpy.flatnonzero(starts)
    # A span runs from its start to just before the next start or the next non-entity token.
    breaks = numpy.flatnonzero(starts | ~inside)
    nexts = numpy.searchsorted(breaks, start_idx, side="right")
    end_idx = numpy.where(nexts < len(breaks), breaks[numpy.minimum(nexts, len(breaks) - 1)], n)
    id_to_label = {i: label for label, i in label_ids.items()}
    return [
        (int(s), int(e), id_to_label[int(token_label[s])]) for s, e in zip(start_idx, end_idx)
    ]
