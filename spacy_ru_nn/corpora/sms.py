"""SMS Spam Collection: read the TSV, split it without leaking duplicates, write DocBins.

The collection's 5,574 lines hold only 5,171 distinct texts, and a random split puts
copies of the same message on both sides. Every function here works on groups of
identical texts, so a message in the test split (or a held-out fold) is never seen in
training. Groups are stratified by label, with a seeded shuffle.
"""
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy
from spacy.language import Language
from spacy.tokens import DocBin

SMS_LABELS = ("ham", "spam")
POSITIVE_LABEL = "spam"


class MalformedLineError(ValueError):
    """A line of the TSV that is not `label<TAB>text` with a known label in UTF-8."""

    def __init__(self, path: Path, line_no: int, reason: str) -> None:
        self.path = path
        self.line_no = line_no
        self.reason = reason
        super().__init__(
            f"{path}:{line_no}: {reason}. Expected 'ham<TAB>text' or 'spam<TAB>text' in "
            f"UTF-8; pass --skip-bad to skip such lines."
        )


@dataclass(frozen=True)
class SmsMessage:
    """One line of the collection."""

    label: str
    text: str
    line_no: int


def read_sms_tsv(
    path: Path, *, skip_bad: bool = False, labels: Sequence[str] = SMS_LABELS
) -> Tuple[List[SmsMessage], int]:
    """Read `label<TAB>text` lines.

    path (Path): The TSV file, without a header.
    skip_bad (bool): Skip malformed lines instead of raising MalformedLineError.
    labels (Sequence[str]): The accepted labels.
    RETURNS (Tuple[List[SmsMessage], int]): The messages and the number of skipped lines.
    """
    messages: List[SmsMessage] = []
    n_skipped = 0
    with Path(path).open("rb") as file_:
        for line_no, raw in enumerate(file_, start=1):
            try:
                messages.append(_parse_line(path, line_no, raw, labels))
            except MalformedLineError:
                if not skip_bad:
                    raise
                n_skipped += 1
    return messages, n_skipped


def _parse_line(path: Path, line_no: int, raw: bytes, labels: Sequence[str]) -> SmsMessage:
    try:
        line = raw.decode("utf8")
    except UnicodeDecodeError as err:
        raise MalformedLineError(path, line_no, f"not valid UTF-8 ({err.reason} at byte {err.start})")
    line = line.rstrip("\r\n")
    if "\t" not in line:
        raise MalformedLineError(path, line_no, "no tab between label and text")
    label, text = line.split("\t", 1)
    if label not in labels:
        raise MalformedLineError(path, line_no, f"unknown label {label[:20]!r}")
    return SmsMessage(label, text, line_no)


def group_duplicates(messages: Sequence[SmsMessage]) -> List[List[int]]:
    """Indices of messages grouped by identical text, in order of first occurrence."""
    groups: Dict[str, List[int]] = {}
    for i, message in enumerate(messages):
        groups.setdefault(message.text, []).append(i)
    return list(groups.values())


def _group_label(messages: Sequence[SmsMessage], group: Sequence[int]) -> str:
    # Identical texts with different labels would be label noise; the majority decides
    # which stratum the group joins (all its copies keep their own labels).
    return Counter(messages[i].label for i in group).most_common(1)[0][0]


def _shuffled_strata(
    messages: Sequence[SmsMessage], groups: Sequence[Sequence[int]], seed: int
) -> List[List[int]]:
    """Group indices per label, each list shuffled with one seeded generator."""
    rng = numpy.random.default_rng(seed)
    by_label: Dict[str, List[int]] = {}
    for g, group in enumerate(groups):
        by_label.setdefault(_group_label(messages, group), []).append(g)
    strata = []
    for label in sorted(by_label):
        order = rng.permutation(len(by_label[label]))
        strata.append([by_label[label][i] for i in order])
    return strata


def split_groups(
    messages: Sequence[SmsMessage],
    fractions: Sequence[float] = (0.7, 0.15, 0.15),
    *,
    seed: int = 0,
) -> List[List[SmsMessage]]:
    """Stratified, duplicate-aware split, e.g. into train/dev/test.

    Within each label, the shuffled groups are cut at the cumulative fractions, so
    every copy of a text lands in the same part.

    messages (Sequence[SmsMessage]): All messages.
    fractions (Sequence[float]): Share of groups per part; must sum to 1.
    seed (int): Seed of the shuffle.
    RETURNS (List[List[SmsMessage]]): One list of messages per fraction, in file order.
    """
    if abs(sum(fractions) - 1.0) > 1e-6 or any(f < 0 for f in fractions):
        raise ValueError(f"fractions must be non-negative and sum to 1, got {list(fractions)}")
    groups = group_duplicates(messages)
    parts: List[List[int]] = [[] for _ in fractions]
    bounds = numpy.cumsum(fractions)
    for stratum in _shuffled_strata(messages, groups, seed):
        cuts = [0] + [int(round(b * len(stratum))) for b in bounds]
        for k in range(len(fractions)):
            for g in stratum[cuts[k] : cuts[k + 1]]:
                parts[k].extend(groups[g])
    return [[messages[i] for i in sorted(part)] for part in parts]


def fold_groups(
    messages: Sequence[SmsMessage], n_folds: int = 5, *, seed: int = 0
) -> List[List[SmsMessage]]:
    """Stratified, duplicate-aware k-fold partition.

    Groups of each label are dealt round-robin over the folds after a seeded shuffle,
    so folds differ by at most one group per label.

    RETURNS (List[List[SmsMessage]]): The messages of each fold, in file order.
    """
    if n_folds < 2:
        raise ValueError(f"n_folds must be at least 2, got {n_folds}")
    groups = group_duplicates(messages)
    folds: List[List[int]] = [[] for _ in range(n_folds)]
    offset = 0
    for stratum in _shuffled_strata(messages, groups, seed):
        for j, g in enumerate(stratum):
            folds[(offset + j) % n_folds].extend(groups[g])
        # Continue dealing where the previous label stopped, to balance fold sizes.
        offset = (offset + len(stratum)) % n_folds
    return [[messages[i] for i in sorted(fold)] for fold in folds]


def cross_validation_splits(
    messages: Sequence[SmsMessage], n_folds: int = 5, *, dev_fraction: float = 0.15, seed: int = 0
) -> List[Tuple[List[SmsMessage], List[SmsMessage], List[SmsMessage]]]:
    """(train, dev, test) per fold: test is the held-out fold, and dev (for early
    stopping) is a duplicate-aware stratified slice of the remaining folds."""
    folds = fold_groups(messages, n_folds, seed=seed)
    splits = []
    for k, test in enumerate(folds):
        rest = [m for j, fold in enumerate(folds) if j != k for m in fold]
        rest.sort(key=lambda m: m.line_no)
        train, dev = split_groups(rest, (1.0 - dev_fraction, dev_fraction), seed=seed + k + 1)
        splits.append((train, dev, test))
    return splits


def messages_to_docbin(
    nlp: Language, messages: Iterable[SmsMessage], labels: Sequence[str] = SMS_LABELS
) -> DocBin:
    """Tokenize messages and store their one-hot `doc.cats`."""
    doc_bin = DocBin(store_user_data=False)
    messages = list(messages)
    for message, doc in zip(messages, nlp.tokenizer.pipe(m.text for m in messages)):
        doc.cats = {label: float(label == message.label) for label in labels}
        doc_bin.add(doc)
    return doc_bin


def describe(messages: Sequence[SmsMessage]) -> Dict[str, int]:
    """Counts printed by the converter: messages, distinct texts and per label."""
    counts = Counter(m.label for m in messages)
    return {
        "messages": len(messages),
        "distinct": len({m.text for m in messages}),
        **{label: counts.get(label, 0) for label in SMS_LABELS},
    }


def leaked_texts(
    train: Iterable[SmsMessage], held_out: Iterable[SmsMessage], limit: Optional[int] = None
) -> List[str]:
    """Texts present on both sides of a split (should always be empty)."""
    seen = {m.text for m in train}
    leaked = sorted({m.text for m in held_out if m.text in seen})
    return leaked[:limit] if limit is not None else leaked
