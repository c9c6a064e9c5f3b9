"""The `nn_textcat` factory and component: exclusive text classes from a torch classifier.

The component is spaCy's `TextCategorizer` with four changes that the models need:
`initialize` fits on the whole training set (vocabulary and idf are data, not shapes),
`get_loss` is cross-entropy on the logits instead of squared error on probabilities,
empty docs go through the model (a bag of no words scores as the learned prior), and a label
added to a trained model grows its output instead of being refused.
"""
import warnings
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import numpy
from spacy.errors import Errors
from spacy.language import Language
from spacy.pipeline.textcat import TextCategorizer
from spacy.tokens import Doc, Token
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.vocab import Vocab
from spacy.util import SimpleFrozenDict
from thinc.api import Config, Model, Optimizer, set_dropout_rate
from thinc.types import Floats2d

from ..about import __version__
from ..scorers import decide
from ..torch_glue import UsesTorchAverages, is_built, set_torch_dropout_rate
from ..versions import VERSION_KEY, CheckedLoading
from .model import forget_resized_params, resize_labels, token_attention

default_model_config = """
[model]
@architectures = "spacy-ru-nn.BoWPerceptron.v3"
hidden_width = 64
depth = 1
activation = "relu"
init = "default"
nO = null

[model.vectorizer]
@architectures = "spacy-ru-nn.NgramVectorizer.v1"
features = "vocab"
n_buckets = 262144
min_df = 2
ngram_range = [1, 2]
lowercase = true
token_attrs = ["SHAPE"]
char_ngram_range = null
weighting = "tfidf"
sublinear_tf = false
"""
DEFAULT_BOW_PERCEPTRON_MODEL = Config().from_str(default_model_config)["model"]


@Language.factory(
    "nn_textcat",
    assigns=["doc.cats"],
    default_config={
        "model": DEFAULT_BOW_PERCEPTRON_MODEL,
        "threshold": 0.5,
        "class_weights": {},
        "scorer": {"@scorers": "spacy-ru-nn.textcat_scorer.v1"},
    },
    default_score_weights={
        "cats_score": 1.0,
        "cats_score_desc": None,
        "cats_micro_p": None,
        "cats_micro_r": None,
        "cats_micro_f": None,
        "cats_macro_p": None,
        "cats_macro_r": None,
        "cats_macro_f": None,
        "cats_macro_auc": 0.0,
        "cats_f_per_type": None,
    },
)
def make_nn_textcat(
    nlp: Language,
    name: str,
    model: Model,
    threshold: float,
    scorer: Optional[Callable],
    class_weights: Dict[str, float] = SimpleFrozenDict(),
) -> "BoWTextCategorizer":
    """Create a text categorizer on a torch classifier, a bag-of-words perceptron by default.

    model (Model[List[Doc], Floats2d]): One probability per label and doc.
    threshold (float): With two labels and a `positive_label`, the probability at which
        a doc counts as positive when scoring. Argmax decides otherwise.
    scorer (Optional[Callable]): Scoring method, `spacy-ru-nn.textcat_scorer.v1` by default.
    class_weights (Dict[str, float]): Weight of a training example's loss by its gold label,
        e.g. {"spam": 2.0}; labels not named weigh 1.
    """
    return BoWTextCategorizer(
        nlp.vocab, model, name, threshold=threshold, scorer=scorer, class_weights=class_weights
    )


class BoWTextCategorizer(CheckedLoading, UsesTorchAverages, TextCategorizer):
    """Single-label text classifier on `spacy-ru-nn.BoWPerceptron.v3` or another model of
    `textcat/model.py`, such as `spacy-ru-nn.BiLSTMClassifier.v2`.

    With two labels, `doc.cats` is `{positive: p, other: 1 - p}` from one sigmoid;
    with more, a softmax distribution over the labels.
    """

    factory_name = "nn_textcat"

    def __init__(
        self,
        vocab: Vocab,
        model: Model,
        name: str = "nn_textcat",
        *,
        threshold: float = 0.5,
        scorer: Optional[Callable] = None,
        class_weights: Dict[str, float] = SimpleFrozenDict(),
    ) -> None:
        """Initialize the component.

        vocab (Vocab): The shared vocabulary.
        model (Model[List[Doc], Floats2d]): One probability per label and doc.
        name (str): Component instance name, the key in the losses dict.
        threshold (float): Decision threshold on the positive label's probability.
        scorer (Optional[Callable]): Scoring method.
        class_weights (Dict[str, float]): Loss weight of the examples of each label (default 1).
        """
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be within [0, 1], got {threshold}")
        if any(not weight > 0 for weight in class_weights.values()):
            raise ValueError(f"class_weights must be positive, got {dict(class_weights)}")
        super().__init__(vocab, model, name, threshold=threshold, scorer=scorer)
        self.class_weights = dict(class_weights)
        # The version that wrote the component is saved with it: loading refuses newer ones.
        self.cfg[VERSION_KEY] = __version__
        self._resized = False

    @property
    def is_resizable(self) -> bool:
        """Every model of the component can grow its output (see `add_label`)."""
        return True

    def add_label(self, label: str) -> int:
        """Add a label; a trained model's output grows, keeping the rows of its labels.

        Past two labels the task is no longer binary: `positive_label` is dropped and the
        highest-scoring label wins.

        label (str): The label to add.
        RETURNS (int): 0 if the label is already present, otherwise 1.
        """
        if not isinstance(label, str):
            raise ValueError(Errors.E187)
        if label in self.labels:
            return 0
        n_labels = len(self.labels)
        self.cfg["labels"].append(label)
        self.vocab.strings.add(label)
        if is_built(self.model):
            # The legacy architectures bring their own resize_output, as spaCy's models do.
            resize = self.model.attrs.get("resize_output", resize_labels)
            self.model = resize(self.model, len(self.labels))
            self._resized = True
        if n_labels == 2 and self.cfg.get("positive_label") is not None:
            warnings.warn(
                f"[{self.name}] Label {label!r} makes a third label: positive_label "
                f"{self.cfg['positive_label']!r} and the threshold no longer apply."
            )
            self.cfg["positive_label"] = None
        return 1

    def _add_new_labels(self, examples: Iterable[Example]) -> None:
        """Add the gold labels the component does not know yet. A sourced pipeline is not
        initialized by `spacy train`, so this is where it learns of a new label instead of
        failing on it."""
        for eg in examples:
            for label in eg.reference.cats:
                if label not in self.labels:
                    self.add_label(label)

    def finish_update(self, sgd: Optimizer) -> None:
        """Update the weights; after a resize, first drop the optimizer state of the old size."""
        if self._resized:
            forget_resized_params(self.model, sgd)
            self._resized = False
        super().finish_update(sgd)

    def predict(self, docs: Iterable[Doc]) -> Floats2d:
        """Score a batch of docs without modifying them.

        Unlike TextCategorizer, a batch whose docs are all empty is not answered with
        zeros: that would break `p(other) = 1 - p(positive)` and make a doc's scores
        depend on its batch. The model scores an empty bag as its learned prior.

        docs (Iterable[Doc]): The documents to predict.
        RETURNS (Floats2d): One row of label probabilities per doc.
        """
        docs = list(docs)
        if not is_built(self.model):
            raise ValueError(Errors.E109.format(name=self.name))
        if not docs:
            return self.model.ops.alloc2f(0, len(self.labels))
        return self.model.predict(docs)

    def set_annotations(self, docs: Iterable[Doc], scores: Floats2d) -> None:
        """Write the label probabilities to `doc.cats`.

        docs (Iterable[Doc]): The documents to modify.
        scores (Floats2d): The output of `predict`.
        """
        labels = self.labels
        for doc, row in zip(docs, self.model.ops.to_numpy(scores).tolist()):
            for label, score in zip(labels, row):
                doc.cats[label] = score

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Optimizer] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        """Learn from a batch of examples.

        Empty docs are kept: they still teach the prior, and the model handles them.

        examples (Iterable[Example]): A batch of Example objects.
        drop (float): Dropout rate for the torch hidden layers.
        sgd (Optional[Optimizer]): The optimizer.
        losses (Optional[Dict[str, float]]): Record of the loss, keyed by component name.
        RETURNS (Dict[str, float]): The updated losses dictionary.
        """
        if losses is None:
            losses = {}
        losses.setdefault(self.name, 0.0)
        examples = list(examples)
        validate_examples(examples, "BoWTextCategorizer.update")
        self._validate_categories(examples)
        if not examples:
            return losses
        self._add_new_labels(examples)
        set_dropout_rate(self.model, drop)
        set_torch_dropout_rate(self.model, drop)
        scores, bp_scores = self.model.begin_update([eg.predicted for eg in examples])
        loss, d_scores = self.get_loss(examples, scores)
        bp_scores(d_scores)
        if sgd is not None:
            self.finish_update(sgd)
        losses[self.name] += loss
        return losses

    def get_loss(self, examples: Iterable[Example], scores: Floats2d) -> Tuple[float, Floats2d]:
        """Mean cross-entropy of the batch and its gradient, each example weighted by the
        class weight of its gold label.

        The gradient `w * (scores - truths) / n` is with respect to the logits: the model's
        backward pass takes it as such, which is exact for softmax and sigmoid heads.

        examples (Iterable[Example]): The batch of examples.
        scores (Floats2d): The model's probabilities for those examples.
        RETURNS (Tuple[float, Floats2d]): The loss and the gradient.
        """
        examples = list(examples)
        validate_examples(examples, "BoWTextCategorizer.get_loss")
        self._validate_categories(examples)
        truths, _ = self._examples_to_truth(examples)
        missing = numpy.flatnonzero(self.model.ops.to_numpy(truths).sum(axis=1) == 0)
        if len(missing):
            example = examples[int(missing[0])]
            raise ValueError(
                f"[{self.name}] {len(missing)} example(s) in this batch have no gold "
                f"category among the labels {list(self.labels)}; each doc needs exactly "
                f"one, e.g. doc.cats = {{{self.labels[0]!r}: 1.0, ...}}. First one: "
                f"{example.reference.text[:80]!r} with cats {dict(example.reference.cats)}"
            )
        xp = self.model.ops.xp
        n = len(examples)
        label_weights = xp.asarray([self.class_weights.get(label, 1.0) for label in self.labels], dtype="f")
        weights = (truths * label_weights).sum(axis=1, keepdims=True)
        loss = -float((weights * truths * xp.log(xp.clip(scores, 1e-7, 1.0))).sum()) / n
        return loss, weights * (scores - truths) / n

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[Iterable[str]] = None,
        positive_label: Optional[str] = None,
    ) -> None:
        """Collect the labels, fit the features on all examples and build the model.

        get_examples (Callable[[], Iterable[Example]]): Returns the training examples.
            All of them are featurized to fit the vocabulary and idf statistics.
        nlp (Optional[Language]): The current nlp object.
        labels (Optional[Iterable[str]]): Labels from `spacy init labels`; read from the
            examples when not given.
        positive_label (Optional[str]): The positive label of a binary task, e.g. "spam".
        """
        validate_get_examples(get_examples, "BoWTextCategorizer.initialize")
        examples = list(get_examples())
        self._validate_categories(examples)
        if labels is None:
            for example in examples:
                for cat in example.y.cats:
                    self.add_label(cat)
        else:
            for label in labels:
                self.add_label(label)
        if len(self.labels) < 2:
            raise ValueError(Errors.E867)
        self._require_labels()
        if positive_label is not None:
            if positive_label not in self.labels:
                err = Errors.E920.format(pos_label=positive_label, labels=self.labels)
                raise ValueError(err)
            if len(self.labels) != 2:
                err = Errors.E919.format(pos_label=positive_label, labels=self.labels)
                raise ValueError(err)
        self.cfg["positive_label"] = positive_label
        assert len(examples) > 0, Errors.E923.format(name=self.name)
        truths, _ = self._examples_to_truth(examples)
        self.model.initialize(X=[eg.reference for eg in examples], Y=truths)

    def attention(self, doc: Doc) -> List[Tuple[Token, float]]:
        """Which tokens the classifier attended to: the attention pooling's weights.

        Only models with attention pooling have them (`spacy-ru-nn.BiLSTMClassifier.v2`
        with `pooling = "attention"`). Tokens the model does not read (whitespace, tokens made
        only of invisible characters, tokens beyond the embed's `max_tokens`) are not listed;
        the listed weights sum to 1.

        doc (Doc): A document (tokenized; it need not have been through the pipeline).
        RETURNS (List[Tuple[Token, float]]): (token, weight) pairs in document order.
        """
        if not is_built(self.model):
            raise ValueError(Errors.E109.format(name=self.name))
        # The legacy BiLSTMClassifier.v1 brings its own.
        get_attention = self.model.attrs.get("attention", token_attention)
        return get_attention(self.model, doc)

    def decide(self, doc: Doc) -> str:
        """The predicted label of an annotated doc, using the threshold when binary.

        doc (Doc): A doc whose `cats` this component has set.
        RETURNS (str): The positive label if its probability reaches the threshold,
            the other one otherwise; the highest-scoring label with more than two.
        """
        return decide(doc.cats, self.labels, self.cfg["positive_label"], self.cfg["threshold"])


__all__ = ["BoWTextCategorizer", "DEFAULT_BOW_PERCEPTRON_MODEL", "make_nn_textcat"]
