"""The registered builders of `nn_textcat`'s models and of their sublayers."""
from typing import List, Optional

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model
from thinc.types import Floats2d

from .bilstm import BiLSTMClassifier, check_classifier_settings
from .embed import TokenEmbed
from .mlp import SparseMLP, check_mlp_settings
from .model import (
    bilstm_classifier_init,
    bow_perceptron_init,
    convert_doc_vectors,
    convert_features,
    text_classifier,
)
from .vectorizer import NgramFeatures, NgramVectorizer


@registry.architectures("spacy-ru-nn.BoWPerceptron.v3")
def build_bow_perceptron_v3(
    vectorizer: Model[List[Doc], NgramFeatures],
    hidden_width: int,
    depth: int,
    activation: str,
    init: str,
    nO: Optional[int] = None,
) -> Model[List[Doc], Floats2d]:
    """Weighted bag of n-grams -> [Linear -> act] * depth -> Linear -> sigmoid (two labels) or
    softmax (more): from logistic regression (depth 0) to a perceptron with three hidden
    layers. The first layer has a row per feature of the vectorizer, which initialize fits.

    vectorizer (Model[List[Doc], NgramFeatures]): Docs -> weighted bags of feature ids, such
        as `spacy-ru-nn.NgramVectorizer.v1`.
    hidden_width (int): Width of each hidden layer.
    depth (int): Number of hidden layers, 0 (logistic regression: the weighted bag straight
        to the output) to 3.
    activation (str): "relu" or "tanh".
    init (str): "default" (random weights) or "zeros" (every weight and bias 0: fine for
        logistic regression; a hidden layer then never learns, all its units stay alike).
    nO (Optional[int]): Number of labels; set from the data at initialize when null.
    """
    check_mlp_settings(depth=depth, activation=activation, init=init)
    return text_classifier(
        "bow_perceptron",
        ("vectorizer", vectorizer),
        module_class=SparseMLP,
        convert_inputs=convert_features,
        init=bow_perceptron_init,
        attrs={"hidden_width": hidden_width, "depth": depth, "activation": activation, "init": init},
        nO=nO,
    )


@registry.architectures("spacy-ru-nn.NgramVectorizer.v1")
def build_ngram_vectorizer_v1(
    features: str,
    n_buckets: int,
    min_df: int,
    ngram_range: List[int],
    lowercase: bool,
    token_attrs: List[str],
    char_ngram_range: Optional[List[int]],
    weighting: str,
    sublinear_tf: bool,
) -> Model[List[Doc], NgramFeatures]:
    """Docs -> weighted bags of word n-grams, token attribute values and, optionally, the
    words' character n-grams. The vocabulary and the idf are fitted at initialize on the
    whole training set and saved with the model.

    features (str): "hash" (n-grams hashed into n_buckets features) or "vocab" (the n-grams
        of the training set that occur in at least min_df docs; others are ignored).
    n_buckets (int): Number of features with features = "hash".
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
    """
    return NgramVectorizer(
        features=features,
        n_buckets=n_buckets,
        min_df=min_df,
        ngram_range=ngram_range,
        lowercase=lowercase,
        token_attrs=token_attrs,
        char_ngram_range=char_ngram_range,
        weighting=weighting,
        sublinear_tf=sublinear_tf,
    )


@registry.architectures("spacy-ru-nn.BiLSTMClassifier.v2")
def build_bilstm_classifier_v2(
    embed: Model[List[Doc], List[Floats2d]],
    width: int,
    depth: int,
    pooling: str,
    nO: Optional[int] = None,
) -> Model[List[Doc], Floats2d]:
    """Token vectors -> BiLSTM -> pooling -> Linear -> sigmoid (two labels) or softmax
    (more): a recurrent text classifier. The BiLSTM reads the embed's vectors, whose width
    is the embed's nO.

    embed (Model[List[Doc], List[Floats2d]]): Docs -> a vector per token, such as
        `spacy-ru-nn.TokenEmbed.v1` or spaCy's `spacy.MultiHashEmbed.v2`.
    width (int): BiLSTM output width, both directions together (even).
    depth (int): Number of stacked BiLSTM layers.
    pooling (str): "last" (forward state at the last token + backward state at the first),
        "mean", "max" or "attention" (additive; weights via `nn_textcat.attention(doc)`).
        Padding is masked in every mode.
    nO (Optional[int]): Number of labels; set from the data at initialize when null.
    """
    check_classifier_settings(width=width, depth=depth, pooling=pooling)
    return text_classifier(
        "bilstm_classifier",
        ("embed", embed),
        module_class=BiLSTMClassifier,
        convert_inputs=convert_doc_vectors,
        init=bilstm_classifier_init,
        attrs={"width": width, "depth": depth, "pooling": pooling},
        nO=nO,
    )


@registry.architectures("spacy-ru-nn.TokenEmbed.v1")
def build_token_embed_v1(
    attrs: List[str],
    rows: List[int],
    attr_width: int,
    width: int,
    max_tokens: int,
    static_vectors: bool = False,
) -> Model[List[Doc], List[Floats2d]]:
    """Hashed token attributes -> one vector per token read: a table per attribute,
    concatenated and projected to width. Whitespace tokens (and tokens made only of invisible
    characters) are not read.

    attrs (List[str]): Token attributes embedded by hashing, e.g. ["LOWER", "SHAPE", "PREFIX",
        "SUFFIX"]; each gets its own table.
    rows (List[int]): Hash buckets of each attribute's table.
    attr_width (int): Width of each attribute's table.
    width (int): Width of the token vectors.
    max_tokens (int): Longest message read (non-whitespace tokens); the rest is cut off.
    static_vectors (bool): Also read the pipeline's pretrained vectors (`[initialize] vectors`,
        looked up by lowercase form) through a learned projection.
    """
    return TokenEmbed(
        attrs=attrs,
        rows=rows,
        attr_width=attr_width,
        width=width,
        max_tokens=max_tokens,
        static_vectors=static_vectors,
    )
