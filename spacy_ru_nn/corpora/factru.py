"""factRuEval-2016 -> spaCy Docs with PER/LOC/ORG entities.

The mapping is the one of the public Russian NER evaluations (naeval): a Person object gives
one PER span from its first to its last character; an Org object gives an ORG span for each
of its org_name spans; a Location or LocOrg object gives a LOC span for each loc_name span;
where spans overlap the longer one wins; Project and Facility are dropped.

The .coref layer gives each chain of objects its normal forms (firstname/lastname/patronymic
for people, name for places and organisations); `document_normals` aligns them with the
entities, so that a normaliser can be scored against them.
"""
import random
import re
from bisect import bisect_left
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from spacy.language import Language
from spacy.tokens import Doc, Span

OBJECT_SPANS: Dict[str, Tuple[str, Optional[str]]] = {
    # object type: (entity label, span type to take; None = the whole object)
    "Person": ("PER", None),
    "Org": ("ORG", "org_name"),
    "Location": ("LOC", "loc_name"),
    "LocOrg": ("LOC", "loc_name"),
}


# Person span types -> the .coref key that holds that part's normal form.
NAME_PARTS: Dict[str, str] = {
    "name": "firstname",
    "surname": "lastname",
    "patronymic": "patronymic",
    "nickname": "nickname",
}


class CorpusFormatError(ValueError):
    """A malformed record in the corpus, with the file and line it came from."""

    def __init__(self, path: Path, line_no: int, problem: str) -> None:
        super().__init__(f"{path}:{line_no}: {problem}")
        self.path = path
        self.line_no = line_no


@dataclass
class ConversionStats:
    docs: int = 0
    spans: Dict[str, int] = field(default_factory=dict)
    kept: int = 0
    expanded: int = 0  # gold span cut inside a spaCy token: widened to token boundaries
    dropped_overlap: int = 0
    skipped_records: List[str] = field(default_factory=list)

    def report(self) -> str:
        per_type = ", ".join(f"{label} {n}" for label, n in sorted(self.spans.items()))
        lines = [
            f"{self.docs} documents, {self.kept} entity spans kept ({per_type})",
            f"{self.expanded} spans did not align to the tokens and were "
            f"widened to the enclosing tokens (doc.char_span(alignment_mode='expand'))",
            f"{self.dropped_overlap} spans dropped inside a longer overlapping span",
        ]
        if self.skipped_records:
            lines.append(f"{len(self.skipped_records)} malformed records skipped:")
            lines.extend(f"  {record}" for record in self.skipped_records)
        return "\n".join(lines)


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf8")
    except UnicodeDecodeError as err:
        raise CorpusFormatError(path, 0, f"not UTF-8 ({err.reason} at byte {err.start})") from err
    except FileNotFoundError as err:
        raise CorpusFormatError(path, 0, "file is missing") from err


def read_records(path: Path) -> Iterator[Tuple[int, List[str]]]:
    """(line number, fields before the '#' comment) for each non-empty line."""
    for line_no, line in enumerate(read_text(path).splitlines(), start=1):
        fields = line.split("#", 1)[0].split()
        if fields:
            yield line_no, fields


def read_sentence_starts(path: Path, text: str) -> List[int]:
    """Character offsets where the gold sentences begin.

    The .tokens file must match the text it indexes: a token file out of step is an error.
    """
    starts: List[int] = []
    new_sentence = True
    for line_no, line in enumerate(read_text(path).splitlines(), start=1):
        fields = line.split()
        if not fields:
            new_sentence = True
            continue
        if len(fields) < 4:
            raise CorpusFormatError(path, line_no, f"expected 'id start length text', got {fields}")
        try:
            start, length, token = int(fields[1]), int(fields[2]), fields[3]
        except ValueError:
            raise CorpusFormatError(path, line_no, f"start and length must be integers, got {fields}") from None
        if text[start : start + length] != token:
            raise CorpusFormatError(
                path,
                line_no,
                f"token {token!r} at {start} does not match the text there "
                f"({text[start:start + length]!r}): the .tokens file is out of step with .txt",
            )
        if new_sentence:
            starts.append(start)
            new_sentence = False
    return starts


def document_entities(
    stem: Path, text: str, stats: ConversionStats, skip_bad: bool
) -> List[Tuple[int, int, str]]:
    """Character-offset entities of one document, before overlap resolution."""
    spans: Dict[str, Tuple[str, int, int]] = {}
    spans_path = stem.with_suffix(".spans")
    for line_no, fields in read_records(spans_path):
        try:
            span_id, span_type, start, length = fields[0], fields[1], int(fields[2]), int(fields[3])
            if start < 0 or length <= 0 or start + length > len(text):
                raise CorpusFormatError(
                    spans_path, line_no,
                    f"span {start}+{length} falls outside the text ({len(text)} characters)",
                )
        except (IndexError, ValueError) as err:
            if not isinstance(err, CorpusFormatError):
                err = CorpusFormatError(spans_path, line_no, f"malformed span record {fields}")
            if not skip_bad:
                raise err
            stats.skipped_records.append(str(err))
            continue
        spans[span_id] = (span_type, start, start + length)
    entities: List[Tuple[int, int, str]] = []
    objects_path = stem.with_suffix(".objects")
    for line_no, fields in read_records(objects_path):
        if len(fields) < 2:
            err = CorpusFormatError(objects_path, line_no, f"malformed object record {fields}")
            if not skip_bad:
                raise err
            stats.skipped_records.append(str(err))
            continue
        object_type, span_ids = fields[1], fields[2:]
        if object_type not in OBJECT_SPANS:
            continue
        label, wanted = OBJECT_SPANS[object_type]
        members = [spans[i] for i in span_ids if i in spans]
        if wanted is None and members:
            entities.append((min(s for _, s, _ in members), max(e for _, _, e in members), label))
        else:
            entities.extend((s, e, label) for t, s, e in members if t == wanted)
    return entities


def read_chains(path: Path) -> Dict[str, Dict[str, List[str]]]:
    """Object id -> its chain's normal forms, key -> values (a chain may list a key twice)."""
    chains: Dict[str, Dict[str, List[str]]] = {}
    if not path.exists():
        return chains
    for block in read_text(path).split("\n\n"):
        lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
        if not lines:
            continue
        values: Dict[str, List[str]] = {}
        for line in lines[1:]:
            key, _, value = line.partition(" ")
            if value.strip():
                values.setdefault(key, []).append(value.strip())
        for object_id in lines[0].split()[1:]:
            chains[object_id] = values
    return chains


def _starts_alike(word: str, other: str) -> bool:
    """The same first two letters: "Россия" names "России", "РФ" does not."""
    return word[:2].lower().replace("ё", "е") == other[:2].lower().replace("ё", "е")


def _words(text: str, start: int, end: int) -> List[Tuple[int, int]]:
    return [(start + m.start(), start + m.end()) for m in re.finditer(r"\S+", text[start:end])]


def _part_values(values: Dict[str, List[str]], key: str) -> List[str]:
    """A name part's values: "firstname Жан" and "firstname1 Поль" are one "Жан-Поль"."""
    found = values.get(key, [])[:1]
    n = 1
    while found and values.get(f"{key}{n}"):
        found.append(values[f"{key}{n}"][0])
        n += 1
    return found


def _person_normal(text: str, parts: Sequence[Tuple[str, int, int]], values: Dict[str, List[str]]) -> Optional[str]:
    """A person's normal form: the chain's values of the mention's name parts, in its order.

    A part marked word by word ("Реджеп Тайип" as two first names) takes its values one per
    word where the chain lists as many (firstname, firstname1), and the mention has no gold
    normal form otherwise; a hyphenated part ("Жан-Поль") joins its values with a hyphen.
    None where the chain lacks a part."""
    normal: List[str] = []
    i = 0
    while i < len(parts):
        kind = parts[i][0]
        group = [parts[i]]
        while i + len(group) < len(parts) and parts[i + len(group)][0] == kind:
            group.append(parts[i + len(group)])
        i += len(group)
        found = _part_values(values, NAME_PARTS[kind])
        if not found:
            return None
        if len(group) > 1:
            if len(found) != len(group):
                # "Линн Форрестер" as two first names of a chain that lists one.
                return None
            normal.extend(found)
        elif len(group) == 1 and len(found) > 1 and text[group[0][1] : group[0][2]].count("-") == len(found) - 1:
            normal.append("-".join(found))
        else:
            normal.append(found[0])
    return " ".join(normal) if normal else None


def document_normals(stem: Path, text: str) -> Dict[Tuple[int, int, str], str]:
    """(start, end, label) of an entity -> its gold normal form from the .coref layer.

    A person's name parts are the chain's values for those parts, in the mention's order, and
    every word of the mention has to be such a part. A place's or organisation's normal form is
    a chain `name` with as many words as the mention, each starting like the mention's word.
    Entities without such a normal form are left out.
    """
    spans: Dict[str, Tuple[str, int, int]] = {}
    for _, fields in read_records(stem.with_suffix(".spans")):
        try:
            spans[fields[0]] = (fields[1], int(fields[2]), int(fields[2]) + int(fields[3]))
        except (IndexError, ValueError):
            continue
    chains = read_chains(stem.with_suffix(".coref"))
    normals: Dict[Tuple[int, int, str], str] = {}
    for _, fields in read_records(stem.with_suffix(".objects")):
        if len(fields) < 3 or fields[1] not in OBJECT_SPANS or fields[0] not in chains:
            continue
        values = chains[fields[0]]
        label, wanted = OBJECT_SPANS[fields[1]]
        members = sorted((spans[i] for i in fields[2:] if i in spans), key=lambda s: s[1])
        if not members:
            continue
        if wanted is None:
            start, end = members[0][1], members[-1][2]
            words = _words(text, start, end)
            parts = [(t, s, e) for t, s, e in members if t in NAME_PARTS]
            covered = all(any(s <= ws and we <= e for _, s, e in parts) for ws, we in words)
            normal = _person_normal(text, parts, values)
            if covered and normal:
                normals[(start, end, label)] = normal
            continue
        for span_type, start, end in members:
            if span_type != wanted:
                continue
            words = [text[s:e] for s, e in _words(text, start, end)]
            for name in values.get("name", []):
                name_words = name.split()
                if len(name_words) == len(words) and all(map(_starts_alike, name_words, words)):
                    normals[(start, end, label)] = name
                    break
    return normals


def set_sentence_starts(doc: Doc, char_starts: Sequence[int]) -> None:
    """Gold sentence boundaries, mapped to the spaCy tokens that begin at or after them."""
    token_starts = [token.idx for token in doc]
    is_start = [False] * len(doc)
    for char in char_starts:
        i = bisect_left(token_starts, char)
        if i < len(doc):
            is_start[i] = True
    for token, start in zip(doc, is_start):
        token.is_sent_start = start if token.i else True


def resolve_overlaps(
    entities: Sequence[Tuple[int, int, str]], stats: ConversionStats
) -> List[Tuple[int, int, str]]:
    """Keep the longer (outer) of overlapping spans: "мид Грузии" is ORG, not ORG + LOC."""
    kept: List[Tuple[int, int, str]] = []
    for start, end, label in sorted(set(entities), key=lambda e: (-(e[1] - e[0]), e[0], e[2])):
        if any(start < k_end and k_start < end for k_start, k_end, _ in kept):
            stats.dropped_overlap += 1
            continue
        kept.append((start, end, label))
    return sorted(kept)


def convert_document(
    nlp: Language, stem: Path, stats: ConversionStats, *, skip_bad: bool = False
) -> Doc:
    text = read_text(stem.with_suffix(".txt"))
    sentence_starts = read_sentence_starts(stem.with_suffix(".tokens"), text)
    doc = nlp.make_doc(text)
    set_sentence_starts(doc, sentence_starts)
    ents: List[Span] = []
    for start, end, label in resolve_overlaps(document_entities(stem, text, stats, skip_bad), stats):
        span = doc.char_span(start, end, label=label)
        if span is None:
            span = doc.char_span(start, end, label=label, alignment_mode="expand")
            stats.expanded += 1
        if ents and span.start < ents[-1].end:
            # Widening can make two neighbours touch the same token: keep the first.
            stats.dropped_overlap += 1
            continue
        ents.append(span)
        stats.spans[label] = stats.spans.get(label, 0) + 1
    stats.kept += len(ents)
    stats.docs += 1
    doc.ents = ents
    doc.user_data["factru_id"] = stem.name
    normals = document_normals(stem, text)
    # Kept as plain data, so that it survives a DocBin: [start_char, end_char, label, normal].
    doc.user_data["factru_normals"] = [
        [ent.start_char, ent.end_char, ent.label_, normals[(ent.start_char, ent.end_char, ent.label_)]]
        for ent in ents
        if (ent.start_char, ent.end_char, ent.label_) in normals
    ]
    return doc


def convert_folder(
    nlp: Language, folder: Path, *, skip_bad: bool = False
) -> Tuple[List[Doc], ConversionStats]:
    folder = Path(folder)
    # A document is a .tokens file with its siblings; other .txt files (testset/list.txt) are not.
    stems = sorted(folder.glob("*.tokens"), key=lambda p: p.name)
    if not stems:
        raise FileNotFoundError(f"No factRuEval documents (*.tokens + *.txt) in {folder}")
    stats = ConversionStats()
    docs = [convert_document(nlp, p.with_suffix(""), stats, skip_bad=skip_bad) for p in stems]
    return docs, stats


def split_documents(docs: Sequence[Doc], dev_fraction: float, seed: int) -> Tuple[List[Doc], List[Doc]]:
    """Hold out whole documents for early stopping: sentences of one news story stay together."""
    if not 0.0 < dev_fraction < 1.0:
        raise ValueError(f"dev_fraction must be between 0 and 1, got {dev_fraction}")
    order = list(range(len(docs)))
    random.Random(seed).shuffle(order)
    n_dev = max(1, round(len(docs) * dev_fraction))
    dev_ids = set(order[:n_dev])
    train = [doc for i, doc in enumerate(docs) if i not in dev_ids]
    dev = [doc for i, doc in enumerate(docs) if i in dev_ids]
    return train, dev


def fold_documents(docs: Sequence[Doc], n_folds: int, seed: int) -> List[Tuple[List[Doc], List[Doc]]]:
    """(train, held-out) pairs of k-fold cross-validation by document: each document is held
    out exactly once, so every devset document counts in the mean score."""
    if not 2 <= n_folds <= len(docs):
        raise ValueError(f"n_folds must be between 2 and the number of documents ({len(docs)}), got {n_folds}")
    order = list(range(len(docs)))
    random.Random(seed).shuffle(order)
    fold_of = {doc_index: position % n_folds for position, doc_index in enumerate(order)}
    return [
        (
            [doc for i, doc in enumerate(docs) if fold_of[i] != fold],
            [doc for i, doc in enumerate(docs) if fold_of[i] == fold],
        )
        for fold in range(n_folds)
    ]
