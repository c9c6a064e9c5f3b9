"""Mention replacement: an augmenter that swaps entity mentions for others of the same label.

Most of the factRuEval testset's ORG mentions never occur in the devset. Training sentences
whose names are swapped for other names of the same type push the tagger to read the context
around a name rather than learn the name by heart.
"""
import random
from typing import Callable, Dict, Iterator, List, Optional, Set, Tuple

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.util import registry

# A mention as the reference tokenized it: its words and whether each is followed by a space.
Mention = Tuple[Tuple[str, ...], Tuple[bool, ...]]


@registry.augmenters("spacy-ru-nn.mention_replacement.v1")
def create_mention_replacement_augmenter(level: float) -> Callable[[Language, Example], Iterator[Example]]:
    """Replace each gold entity, with probability `level`, by a mention of the same label seen
    earlier in the training stream (the first epoch fills the pool). Sentence boundaries and
    the rest of the annotation stay; level = 0 passes every example through untouched and
    draws no random numbers, so training is exactly as without the augmenter.

    level (float): Probability of replacing each entity, 0 to 1.
    """
    if not 0.0 <= level <= 1.0:
        raise ValueError(f"mention_replacement level must be between 0 and 1, got {level}")
    pool = MentionPool()

    def replace_mentions(nlp: Language, example: Example) -> Iterator[Example]:
        if level == 0.0:
            yield example
            return
        pool.add(example.reference)
        yield replace_entities(nlp, example, pool, level)

    return replace_mentions


class MentionPool:
    """Distinct mentions per label, in the order first seen, for uniform sampling."""

    def __init__(self) -> None:
        self.mentions: Dict[str, List[Mention]] = {}
        self.seen: Set[Tuple[str, Mention]] = set()

    def add(self, doc: Doc) -> None:
        for ent in doc.ents:
            mention = as_mention(ent)
            if (ent.label_, mention) not in self.seen:
                self.seen.add((ent.label_, mention))
                self.mentions.setdefault(ent.label_, []).append(mention)

    def sample(self, label: str) -> Optional[Mention]:
        candidates = self.mentions.get(label)
        return random.choice(candidates) if candidates else None


def as_mention(span: Span) -> Mention:
    return tuple(t.text for t in span), tuple(bool(t.whitespace_) for t in span)


def replace_entities(nlp: Language, example: Example, pool: MentionPool, level: float) -> Example:
    """A new example with the same tokens outside entities and, with probability `level`, a
    sampled mention in place of each entity."""
    reference = example.reference
    words: List[str] = []
    spaces: List[bool] = []
    tags: List[Optional[str]] = []
    sent_starts: List[Optional[bool]] = []

    def copy(start: int, end: int) -> None:
        for token in reference[start:end]:
            words.append(token.text)
            spaces.append(bool(token.whitespace_))
            tags.append(f"{token.ent_iob_}-{token.ent_type_}" if token.ent_type_ else (token.ent_iob_ or None))
            sent_starts.append(token.is_sent_start)

    position = 0
    for ent in reference.ents:
        copy(position, ent.start)
        position = ent.end
        replacement = pool.sample(ent.label_) if random.random() < level else None
        if replacement is None:
            copy(ent.start, ent.end)
            continue
        mention_words, mention_spaces = replacement
        words.extend(mention_words)
        # Inner spacing from the mention, the space after it from the text it replaces.
        spaces.extend([*mention_spaces[:-1], bool(reference[ent.end - 1].whitespace_)])
        tags.extend([f"B-{ent.label_}"] + [f"I-{ent.label_}"] * (len(mention_words) - 1))
        sent_starts.extend([reference[ent.start].is_sent_start] + [False] * (len(mention_words) - 1))
    copy(position, len(reference))
    augmented = Doc(nlp.vocab, words=words, spaces=spaces, ents=tags, sent_starts=sent_starts)
    return Example(Doc(nlp.vocab, words=words, spaces=spaces), augmented)
