"""`bilstm_ner`: named entities from per-token tags predicted by a PyTorch BiLSTM."""
from itertools import islice
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import numpy
from spacy.attrs import IS_SPACE
from spacy.errors import Errors
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc, Span
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.vocab import Vocab
from thinc.api import Config, Model, Optimizer, set_dropout_rate
from thinc.types import Ints1d

from ..about import __version__
from ..invisible import has_invisible, strip_invisible, visible_view
from ..tag_schemes import biluo_to_scheme, check_scheme, decode_spans, tag_names
from ..torch_glue import UsesTorchAverages, set_torch_dropout_rate
from ..versions import VERSION_KEY, CheckedLoading
from . import tagger

default_model_config = """
[model]
@architectures = "spacy-ru-nn.EntityTagger.v1"

[model.embed]
@architectures = "spacy-ru-nn.RussianTokenEmbed.v1"
width = 128
attrs = ["PREFIX", "SUFFIX", "SHAPE"]
rows = [1000, 5000, 500]
hash_width = 64
char_width = 32
char_filters = 0
char_kernel = 3
max_chars = 20
n_chars = 2048
morphology = true
morph_width = 32
vectors = "natasha"
vectors_width = 300
lexicon = true
gazetteers = []
word_dropout = 0.0
window = 512
pretrained = ["slovnet_ner"]
pretrained_outputs = "both"
fine_tune_pretrained = true
pretrained_skip = true
inference_precision = "auto"

[model.encode]
@architectures = "spacy-ru-nn.BiLSTMEncoder.v1"
width = 128
depth = 1
inference_precision = "auto"

[model.output]
@architectures = "spacy-ru-nn.CRFTagOutput.v1"
"""
DEFAULT_NER_MODEL = Config().from_str(default_model_config)["model"]
# The model name of the replaced `spacy-ru-nn.BiLSTMTagger.v1`/`.v2` (spacy_ru_nn/legacy/ner.py).
LEGACY_MODEL_NAME = "bilstm_tagger"


@Language.factory(
    "bilstm_ner",
    assigns=["doc.ents", "token.ent_iob", "token.ent_type"],
    default_config={
        "model": DEFAULT_NER_MODEL,
        "tag_scheme": "BIO",
        "scorer": {"@scorers": "spacy.ner_scorer.v1"},
    },
    default_score_weights={"ents_f": 1.0, "ents_p": 0.0, "ents_r": 0.0, "ents_per_type": None},
)
def make_bilstm_ner(
    nlp: Language, name: str, model: Model, tag_scheme: str, scorer: Optional[Callable]
) -> "BiLSTMEntityRecognizer":
    """Create a BiLSTM entity recognizer.

    model (Model[List[Doc], Ragged]): Per-token tag scores, e.g. `spacy-ru-nn.EntityTagger.v1`
        (or the legacy `spacy-ru-nn.BiLSTMTagger.v1`/`.v2`).
    tag_scheme (str): "IO" (the smallest tag set) or "BIO".
    scorer (Optional[Callable]): Scoring method, `spacy.ner_scorer.v1` by default.
    """
    return BiLSTMEntityRecognizer(nlp.vocab, model, name, tag_scheme=tag_scheme, scorer=scorer)


class BiLSTMEntityRecognizer(CheckedLoading, UsesTorchAverages, TrainablePipe):
    """Tag each token (IO or BIO) and decode the tags into non-overlapping `doc.ents`."""

    factory_name = "bilstm_ner"

    def __init__(
        self,
        vocab: Vocab,
        model: Model,
        name: str = "bilstm_ner",
        *,
        tag_scheme: str = "BIO",
        scorer: Optional[Callable] = None,
    ) -> None:
        self.vocab = vocab
        self.model = model
        self.name = name
        # The version that wrote the component is saved with it: loading refuses newer ones.
        self.cfg: Dict = {"labels": [], "tag_scheme": check_scheme(tag_scheme), VERSION_KEY: __version__}
        self.scorer = scorer

    @property
    def labels(self) -> tuple:
        return tuple(self.cfg["labels"])

    @property
    def label_data(self) -> List[str]:
        return list(self.labels)

    @property
    def tags(self) -> List[str]:
        return tag_names(self.labels, self.cfg["tag_scheme"])

    def add_label(self, label: str) -> int:
        """Add a label; on a trained model the output layer (and its CRF) grows, keeping what it
        learned for the labels it knows.

        label (str): The label to add.
        RETURNS (int): 0 if the label is already present, otherwise 1.
        """
        if not isinstance(label, str):
            raise ValueError(Errors.E187)
        if label in self.labels:
            return 0
        tagging = self._tagging
        self.cfg["labels"] = sorted([*self.labels, label])
        tagging.set_tags(self.model, self.tags)
        self.vocab.strings.add(label)
        return 1

    @property
    def _tagging(self) -> "tagger.Tagging":
        """What predicts tags and computes the loss for this model: the functions of
        `ner.tagger`, or, for a pipeline saved with `spacy-ru-nn.BiLSTMTagger.v1`/`.v2`, the
        legacy adapter, which is given the tags its model does not store."""
        if self.model.name == LEGACY_MODEL_NAME:
            # Imported here: only a pipeline saved with the old architecture needs that code.
            from ..legacy.ner import LegacyTagging

            return LegacyTagging(self.tags)
        return tagger

    def _add_new_labels(self, examples: Iterable[Example]) -> None:
        """Add the gold labels the component does not know yet. A sourced pipeline is not
        initialized by `spacy train`, so this is where it learns of a new label instead of
        reading it as missing."""
        for eg in examples:
            for ent in eg.reference.ents:
                if ent.label_ not in self.cfg["labels"]:
                    self.add_label(ent.label_)

    def predict(self, docs: Iterable[Doc]) -> List[Ints1d]:
        """Best tag ids per doc (Viterbi's path under a CRF, the argmax per token under a softmax).

        The model reads each doc's visible view (`invisible.visible_view`): a token made only
        of invisible characters is not read and gets -1.
        """
        docs = list(docs)
        tagging = self._tagging
        if not tagging.is_initialized(self.model):
            raise ValueError(Errors.E109.format(name=self.name))
        views, keeps = _visible_views(docs)
        if not any(len(view) for view in views):
            # Handle cases where there are no tokens in any docs.
            tag_ids = [numpy.zeros(len(view), dtype="int64") for view in views]
        else:
            tag_ids = tagging.predict_tags(self.model, views)
        return [_spread(ids, keep, len(doc)) for ids, keep, doc in zip(tag_ids, keeps, docs)]

    def set_annotations(self, docs: Iterable[Doc], tag_ids: List[Ints1d]) -> None:
        tags = self.tags
        for doc, doc_tag_ids in zip(docs, tag_ids):
            if not len(doc):
                doc.ents = []
                continue
            doc_tag_ids = numpy.asarray(doc_tag_ids)
            # The tokens the model read: entities are decoded over those, so that a token it
            # skipped lies inside an entity or outside, never at an edge.
            read = numpy.flatnonzero(doc_tag_ids >= 0)
            read_tag_ids = doc_tag_ids[read]
            # Whitespace tokens are never part of an entity, whatever the model says.
            read_tag_ids[_is_space(doc, read)] = 0
            spans = [
                Span(doc, int(read[start]), int(read[end - 1]) + 1, label)
                for start, end, label in decode_spans(read_tag_ids, tags)
            ]
            doc.set_ents(spans, default="outside")

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Optimizer] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        if losses is None:
            losses = {}
        losses.setdefault(self.name, 0.0)
        validate_examples(examples, "BiLSTMEntityRecognizer.update")
        examples = list(examples)
        views, _ = _visible_views([eg.predicted for eg in examples])
        if not any(len(view) for view in views):
            # Handle cases where there are no tokens in any docs (or only invisible ones).
            return losses
        self._add_new_labels(examples)
        set_torch_dropout_rate(self.model, drop)
        set_dropout_rate(self.model, drop)
        scores, backprop = self.model.begin_update(views)
        loss, d_scores = self.get_loss(examples, scores)
        backprop(d_scores)
        if sgd not in (None, False):
            self.finish_update(sgd)
        losses[self.name] += loss
        return losses

    def get_loss(self, examples: Iterable[Example], scores) -> Tuple[float, Any]:
        """The loss and its gradient, for the scores of the examples' visible views; the model
        computes them (`ner.tagger.get_loss`)."""
        validate_examples(examples, "BiLSTMEntityRecognizer.get_loss")
        examples = list(examples)
        scheme = self.cfg["tag_scheme"]
        tag_index = {tag: i for i, tag in enumerate(self.tags)}
        views, keeps = _visible_views([eg.predicted for eg in examples])
        gold = []
        for eg, keep in zip(examples, keeps):
            doc_truths = biluo_to_scheme(eg.get_aligned_ner(), scheme)
            if keep is not None:
                doc_truths = [doc_truths[i] for i in keep]
            # -1: the gold tag is unknown (missing annotation, or a label the model lacks).
            gold.append(numpy.asarray([tag_index.get(t, -1) if t else -1 for t in doc_truths], dtype="int64"))
        loss, d_scores = self._tagging.get_loss(self.model, views, scores, gold)
        if numpy.isnan(loss):
            raise ValueError(Errors.E910.format(name=self.name))
        return loss, d_scores

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[List[str]] = None,
    ) -> None:
        """Collect labels (or take them from `spacy init labels`) and size the output layer.

        This is also when the pretrained vectors are read into the model.
        """
        validate_get_examples(get_examples, "BiLSTMEntityRecognizer.initialize")
        if labels is not None:
            for label in labels:
                self.add_label(label)
        else:
            for example in get_examples():
                for ent in example.reference.ents:
                    self.add_label(ent.label_)
        self._require_labels()
        doc_sample = []
        label_sample = []
        tags = self.tags
        for example in islice(get_examples(), 10):
            doc_sample.append(example.x)
            one_hot = numpy.zeros((len(example.x), len(tags)), dtype="f")
            label_sample.append(self.model.ops.asarray2f(one_hot))
        if not doc_sample:
            raise ValueError(Errors.E923.format(name=self.name))
        self._tagging.set_tags(self.model, tags)
        self.model.initialize(X=doc_sample, Y=label_sample)


def _visible_views(docs: List[Doc]) -> Tuple[List[Doc], List[Optional[numpy.ndarray]]]:
    """Each doc's visible view and the tokens it keeps (None for a doc that is its own)."""
    views = [visible_view(doc) for doc in docs]
    return [view for view, _ in views], [keep for _, keep in views]


def _spread(tag_ids: Ints1d, keep: Optional[numpy.ndarray], n_tokens: int) -> Ints1d:
    """Tag ids of a view's tokens as the doc's; -1 for the tokens the view leaves out."""
    if keep is None:
        return tag_ids
    spread = numpy.full(n_tokens, -1, dtype="int64")
    spread[keep] = tag_ids
    return spread


def _is_space(doc: Doc, tokens: numpy.ndarray) -> numpy.ndarray:
    """Which of the tokens are whitespace, invisible characters aside."""
    if not has_invisible(doc.text):
        return doc.to_array(IS_SPACE).astype(bool)[tokens]
    return numpy.asarray([strip_invisible(doc[int(i)].text).isspace() for i in tokens], dtype=bool)
