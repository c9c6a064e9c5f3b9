"""The legacy text classifier builders, registered here and through their entry points.

`spacy-ru-nn.BoWPerceptron.v1`/`.v2` and `spacy-ru-nn.BiLSTMClassifier.v1`.

Each model carries its own `resize_output`, as spaCy's own resizable models do, so that a
label added to a loaded pipeline grows its output layer as it did.
"""
from typing import List, Optional

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model
from thinc.types import Floats2d

from .bilstm_classifier import (
    BiLSTMClassifier,
    bilstm_classifier_init,
    check_hyperparameters as check_bilstm_settings,
    convert_token_inputs,
    token_attention,
    token_ids,
)
from .bow import BoWPerceptron, bow_perceptron_init, check_settings, convert_bag_inputs
from .ngrams import bag_of_ngrams
from .resize import resize_classifier_output
from .text_classifier import text_classifier


@registry.architectures("spacy-ru-nn.BoWPerceptron.v2")
def build_bow_perceptron_v2(
    features: str,
    n_buckets: int,
    min_df: int,
    ngram_range: List[int],
    lowercase: bool,
    token_attrs: List[str],
    char_ngram_range: Optional[List[int]],
    weighting: str,
    sublinear_tf: bool,
    hidden_width: int,
    depth: int,
    activation: str,
    init: str,
    nO: Optional[int] = None,
) -> Model[List[Doc], Floats2d]:
    """Bag of word and character n-grams -> [Linear -> act] * depth -> Linear -> sigmoid (two
    labels) or softmax (more): from logistic regression (depth 0) to a perceptron with three
    hidden layers.

    features (str): "hash" (n-grams hashed into n_buckets rows) or "vocab" (the n-grams
        of the training set that occur in at least min_df docs; others are ignored).
    n_buckets (int): Rows of the first layer with features = "hash".
    min_df (int): Minimum document frequency with features = "vocab".
    ngram_range (List[int]): [min_n, max_n] word n-gram sizes, e.g. [1, 2].
    lowercase (bool): Use LOWER instead of ORTH.
    token_attrs (List[str]): Token attributes added as unigram features, e.g. ["SHAPE"]
        (numbers, prices and phone numbers share shapes); [] for words only.
    char_ngram_range (Optional[List[int]]): [min_n, max_n] character n-grams of each word
        (" word " padded, as scikit-learn's "char_wb"), e.g. [2, 5]; null for none. Same
        features, min_df / n_buckets and weighting as the word n-grams; with tf-idf, the
        doc's sum of its words' n-gram vectors is divided by the root of their summed
        squared norms.
    weighting (str): "count", "binary" or "tfidf" (smoothed idf, L2-normalized per doc).
    sublinear_tf (bool): Count a word n-gram seen n times in a doc as 1 + ln(n).
    hidden_width (int): Width of each hidden layer.
    depth (int): Number of hidden layers, 0 (logistic regression: the weighted bag straight
        to the output) to 3.
    activation (str): "relu" or "tanh".
    init (str): "default" (random weights) or "zeros" (every weight and bias 0: fine for
        logistic regression; a hidden layer then never learns, all its units stay alike).
    nO (Optional[int]): Number of labels; set from the data at initialize when null.
    """
    settings = {
        "features": features,
        "n_buckets": n_buckets,
        "min_df": min_df,
        "weighting": weighting,
        "sublinear_tf": sublinear_tf,
        "hidden_width": hidden_width,
        "depth": depth,
        "activation": activation,
        "init": init,
    }
    model = text_classifier(
        "bow_perceptron",
        bag_of_ngrams(
            tuple(ngram_range),  # type: ignore[arg-type]
            lowercase,
            token_attrs,
            None if char_ngram_range is None else tuple(char_ngram_range),  # type: ignore[arg-type]
        ),
        convert_inputs=convert_bag_inputs,
        module_class=BoWPerceptron,
        init=bow_perceptron_init,
        attrs=check_settings(settings),
        nO=nO,
    )
    model.attrs["resize_output"] = resize_classifier_output
    return model


@registry.architectures("spacy-ru-nn.BoWPerceptron.v1")
def build_bow_perceptron_v1(
    features: str,
    n_buckets: int,
    min_df: int,
    ngram_range: List[int],
    lowercase: bool,
    token_attrs: List[str],
    weighting: str,
    hidden_width: int,
    depth: int,
    activation: str,
    nO: Optional[int] = None,
) -> Model[List[Doc], Floats2d]:
    """`spacy-ru-nn.BoWPerceptron.v2` with word features only, raw term counts and random
    weights (char_ngram_range = null, sublinear_tf = false, init = "default"); depth 1 to 3."""
    if depth < 1:
        raise ValueError(f"depth must be 1 to 3 in BoWPerceptron.v1 (v2 has depth 0), got {depth}")
    return build_bow_perceptron_v2(**locals(), char_ngram_range=None, sublinear_tf=False, init="default")


@registry.architectures("spacy-ru-nn.BiLSTMClassifier.v1")
def build_bilstm_classifier_v1(
    attrs: List[str],
    rows: List[int],
    embed_width: int,
    width: int,
    depth: int,
    pooling: str,
    max_tokens: int,
    static_vectors: bool = False,
    nO: Optional[int] = None,
) -> Model[List[Doc], Floats2d]:
    """Hashed token embeddings -> BiLSTM -> pooling -> Linear -> sigmoid (two labels) or
    softmax (more): a recurrent text classifier for `nn_textcat`.

    attrs (List[str]): Token attributes embedded by hashing, e.g. ["LOWER", "SHAPE", "PREFIX",
        "SUFFIX"]; each gets its own table.
    rows (List[int]): Hash buckets of each attribute's table.
    embed_width (int): Width of each attribute embedding (concatenated, then projected to width).
    width (int): BiLSTM output width, both directions together (even).
    depth (int): Number of stacked BiLSTM layers.
    pooling (str): "last" (forward state at the last token + backward state at the first),
        "mean", "max" or "attention" (additive; weights via `nn_textcat.attention(doc)`).
        Padding is masked in every mode.
    max_tokens (int): Longest message read (non-whitespace tokens); the rest is cut off.
    static_vectors (bool): Also read the pipeline's pretrained vectors (`[initialize] vectors`,
        looked up by lowercase form) through a learned projection. Off for the English
        spam filter, whose blank pipeline has none.
    nO (Optional[int]): Number of labels; set from the data at initialize when null.
    """
    if len(rows) != len(attrs):
        raise ValueError(f"rows needs one bucket count per attribute: {len(attrs)} attrs, {len(rows)} rows")
    check_bilstm_settings(rows=rows, embed_width=embed_width, width=width, depth=depth, pooling=pooling)
    model = text_classifier(
        "bilstm_classifier",
        token_ids(attrs, max_tokens, static_vectors),
        convert_inputs=convert_token_inputs,
        module_class=BiLSTMClassifier,
        init=bilstm_classifier_init,
        nO=nO,
        attrs={
            "rows": list(rows),
            "embed_width": embed_width,
            "width": width,
            "depth": depth,
            "pooling": pooling,
            "static_vectors": static_vectors,
            "attention": token_attention,
        },
    )
    model.attrs["resize_output"] = resize_classifier_output
    return model
