"""`compare-segmentation`: how tokens and sentence boundaries change what slovnet's pretrained
NER encoder reads, scored on gold data (project.yml gives it the devset, which slovnet never
saw).

slovnet's news models learnt from razdel's tokens and from running text. This command runs
slovnet's NER model (our torch port of its encoder, with its own CRF transitions) over spaCy's
Russian tokens and over razdel's, on whole documents and sentence by sentence (spaCy's
`sentencizer` or `razdel_sentencizer`), and scores its entities against the gold. It also
scores each sentence splitter against factRuEval's gold sentences and counts the gold entities
a boundary cuts in two, which a tagger reading sentence by sentence cannot find.
"""
import json
import tarfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy
import spacy
import torch
import typer
from spacy.language import Language
from spacy.scorer import get_ner_prf
from spacy.tokens import Doc, DocBin, Span
from spacy.training import Example
from spacy.util import filter_spans
from wasabi import msg

from ._app import app
from spacy_ru_nn.ner.slovnet import NER_TAGS, SlovnetEncoder, navec_unknown_vector, read_slovnet_pack, resolve_pack_path, shape_id
from spacy_ru_nn.tables import markdown_table
from spacy_ru_nn.tokenizer import RazdelTokenizer


def _crf_transitions() -> numpy.ndarray:
    """slovnet's learned tag transitions (from -> to), from the NER pack."""
    with tarfile.open(resolve_pack_path("slovnet_ner")) as tar:
        tree = json.loads(tar.extractfile("model.json").read())  # type: ignore[union-attr]
        leaf = tree["head"]["crf"]["transitions"]
        data = tar.extractfile(f"arrays/{leaf['array']}.bin").read()  # type: ignore[union-attr]
    return numpy.frombuffer(data, dtype=leaf["dtype"]).reshape(leaf["shape"])


def _viterbi(emissions: numpy.ndarray, transitions: numpy.ndarray) -> List[int]:
    """slovnet's decoding: no start or end scores."""
    score = emissions[0].copy()
    backpointers = []
    for step in emissions[1:]:
        candidates = score[:, None] + transitions
        backpointers.append(candidates.argmax(axis=0))
        score = candidates.max(axis=0) + step
    best = [int(score.argmax())]
    for pointers in reversed(backpointers):
        best.append(int(pointers[best[-1]]))
    return best[::-1]


def _bio_spans(tags: Sequence[int]) -> List[Tuple[int, int, str]]:
    """slovnet's reading of BIO: B opens a span, I extends an open one, anything else closes."""
    spans: List[List] = []
    open_span: Optional[List] = None
    for i, tag in enumerate(NER_TAGS[t] for t in tags):
        if tag.startswith("B-"):
            open_span = [i, i + 1, tag[2:]]
            spans.append(open_span)
        elif tag.startswith("I-") and open_span is not None:
            open_span[1] = i + 1
        else:
            open_span = None
    return [tuple(span) for span in spans]  # type: ignore[misc]


class SlovnetOnTokens:
    """slovnet's NER model over any token sequence."""

    def __init__(self) -> None:
        from natasha.data import NEWS_EMBEDDING
        from navec import Navec

        self.navec = Navec.load(NEWS_EMBEDDING)
        self.encoder = SlovnetEncoder(n_scores=len(NER_TAGS), include_hidden=False)
        self.encoder.load_pack(read_slovnet_pack("slovnet_ner"), navec_unknown_vector("natasha"))
        self.encoder.eval()
        self.transitions = _crf_transitions()

    def spans(self, words: List[str]) -> List[Tuple[int, int, str]]:
        vocab = sorted(set(words))
        row = {word: i for i, word in enumerate(vocab)}
        vectors = torch.zeros(len(vocab), 300)
        found = torch.zeros(len(vocab), dtype=torch.bool)
        for word, i in row.items():
            if word.lower() in self.navec.vocab:
                vectors[i] = torch.from_numpy(numpy.asarray(self.navec[word.lower()]))
                found[i] = True
        shapes = torch.tensor([shape_id(word) for word in vocab])
        positions = torch.tensor([row[word] for word in words]).unsqueeze(1)
        with torch.no_grad():
            taps = self.encoder.embed_words(vectors, found, shapes)
            emissions = self.encoder(taps, positions, torch.ones_like(positions, dtype=torch.bool))[:, 0].numpy()
        return _bio_spans(_viterbi(emissions, self.transitions))


def _pipeline(tokenizer: str, sentences: Optional[str]) -> Language:
    nlp = spacy.blank("ru")
    if tokenizer == "razdel":
        nlp.tokenizer = RazdelTokenizer(nlp.vocab)
    if sentences is not None:
        nlp.add_pipe(sentences)
    return nlp


def _segmentation_scores(nlp: Language, gold: List[Doc]) -> Tuple[float, int]:
    """Sentence-start F against the gold segmentation, and the gold entities cut in two."""
    found = expected = correct = cut = 0
    for reference in gold:
        doc = nlp(reference.text)
        starts = {sentence.start_char for sentence in doc.sents}
        gold_starts = {sentence.start_char for sentence in reference.sents}
        found, expected, correct = found + len(starts), expected + len(gold_starts), correct + len(starts & gold_starts)
        cut += sum(any(ent.start_char < start < ent.end_char for start in starts) for ent in reference.ents)
    return 2 * correct / (found + expected), cut


@app.command("compare-segmentation")
def compare_segmentation(
    data_path: Path = typer.Argument(..., help=".spacy file with gold entities and sentences", exists=True, dir_okay=False),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Markdown table"),
) -> None:
    """slovnet's NER model over spaCy's and razdel's tokens, whole documents or sentences."""
    gold = list(DocBin().from_disk(data_path).get_docs(spacy.blank("ru").vocab))
    slovnet = SlovnetOnTokens()
    header = ("tokens", "the encoder reads", "slovnet entity F", "F PER", "F LOC", "F ORG", "sentence F", "gold entities cut")
    rows = []
    for tokenizer in ("spacy", "razdel"):
        for sentences in (None, "sentencizer", "razdel_sentencizer"):
            nlp = _pipeline(tokenizer, sentences)
            examples = []
            for reference in gold:
                doc = nlp(reference.text)
                pieces = [doc[:]] if sentences is None else list(doc.sents)
                ents: List[Span] = []
                for piece in pieces:
                    words = [token.text for token in piece if not token.is_space]
                    index = [token.i for token in piece if not token.is_space]
                    if words:
                        ents += [Span(doc, index[a], index[b - 1] + 1, label) for a, b, label in slovnet.spans(words)]
                doc.ents = filter_spans(ents)
                examples.append(Example(doc, reference))
            scores = get_ner_prf(examples)
            per_type: Dict = scores["ents_per_type"]
            boundary = ("-", "-")
            if sentences is not None:
                sentence_f, cut = _segmentation_scores(nlp, gold)
                boundary = (f"{sentence_f:.3f}", str(cut))
            rows.append((
                "spaCy's Russian" if tokenizer == "spacy" else "razdel",
                "whole documents" if sentences is None else f"sentences ({sentences})",
                f"{scores['ents_f']:.3f}",
                *(f"{per_type.get(label, {}).get('f', 0.0):.3f}" for label in ("PER", "LOC", "ORG")),
                *boundary,
            ))  # fmt: skip
            msg.info(" | ".join(rows[-1]))
    msg.table(rows, header=header, divider=True)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(markdown_table(header, rows), encoding="utf8")
        msg.good(f"Saved the table to {output}")

