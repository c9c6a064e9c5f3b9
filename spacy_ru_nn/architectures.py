"""Registered model builders. Only builders live here; the layers are in `layers/`."""
from typing import List, Optional

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model
from thinc.types import Floats2d

from .layers.bilstm_classifier import (
    BiLSTMClassifier,
    bilstm_classifier_init,
    check_hyperparameters as check_bilstm_settings,
    convert_token_inputs,
    token_attention,
    token_ids,
)
from .layers.bow import BoWPerceptron, bow_perceptron_init, check_settings, convert_bag_inputs
from .layers.features import TokenFeaturizer, n_lexical_features
from .layers.ngrams import bag_of_ngrams
from .layers.slovnet import slovnet_encoders
from .layers.tagger import BiLSTMTagger, TorchTokenEncoder
from .layers.text_classifier import text_classifier
from .layers.torch_modules import BiLSTMTokenEncoder


@registry.architectures("spacy-ru-nn.BiLSTMTagger.v2")
def build_bilstm_tagger_v2(
    width: int,
    depth: int,
    attrs: List[str],
    rows: List[int],
    hash_width: int,
    char_width: int,
    char_filters: int,
    char_kernel: int,
    max_chars: int,
    n_chars: int,
    morphology: bool,
    morph_width: int,
    vectors: Optional[str],
    vectors_width: int,
    window: int,
    crf: bool,
    gazetteers: List[str] = [],
    lexicon: bool = False,
    word_dropout: float = 0.0,
    inference_precision: str = "float32",
    pretrained: List[str] = [],
    pretrained_outputs: str = "both",
    fine_tune_pretrained: bool = False,
    pretrained_skip: bool = False,
) -> Model[List[Doc], List[Floats2d]]:
    """Token features [-> pretrained context encoders] -> BiLSTM -> per-token tag scores: a
    BiLSTM reads each token in its context and a per-token classifier tags it.

    width (int): BiLSTM output width (both directions together).
    depth (int): Number of stacked BiLSTM layers.
    attrs, rows: Token attributes embedded by hashing, and the bucket count for each.
    hash_width (int): Width of each hashed attribute embedding.
    char_width, char_filters, char_kernel, max_chars, n_chars: Character CNN; char_filters = 0
        turns it off.
    morphology (bool): Add pymorphy3 grammeme features (Name, Surn, Geox, Orgn, case, ...).
    morph_width (int): Width the grammeme vector is projected to.
    vectors (Optional[str]): 'natasha' for the navec vectors inside natasha, a navec .tar path,
        or null. Read once at initialize and stored in the model.
    vectors_width (int): Dimension of those vectors (300 for navec); 0 turns vectors off.
    window (int): Longest token sequence the BiLSTM reads; longer docs are cut into windows,
        which bounds memory on huge documents.
    crf (bool): Score whole tag sequences with a linear-chain CRF (learned transitions,
        invalid BIO transitions forbidden) instead of a per-token softmax.
    gazetteers (List[str]): Word lists, one flag each (a word or its lemma is in the list):
        natasha's 'first', 'last', 'maybe_first' or paths to UTF-8 files, one entry per line.
        Read at initialize and stored in the model.
    lexicon (bool): Precompute the grammemes and gazetteer flags of every word of the vector
        table at initialize and store them in the model, so that pymorphy3 runs only for
        words outside it.
    word_dropout (float): In training, the share of tokens whose word vector is replaced by the
        learned out-of-vocabulary vector, so the model learns to tag unseen names from context.
    inference_precision (str): 'float32', 'bfloat16' or 'auto'. With bfloat16 the BiLSTM and
        the pretrained encoders run under torch.autocast at inference (training stays
        float32), which is faster where the hardware has native bfloat16 (AVX512-BF16 or AMX
        CPUs, recent GPUs) and slower where it is emulated. 'auto' uses it only where native.
    pretrained (List[str]): Pretrained encoders whose per-token states feed the BiLSTM:
        'slovnet_ner' and/or 'slovnet_morph', the CNN encoders of natasha's slovnet news
        models (their knowledge comes from Nerus, a silver corpus licensed CC BY-NC-SA 4.0).
        They read the navec table, so `vectors` must be 'natasha'. Read at initialize and
        stored in the model.
    pretrained_outputs (str): What slovnet's NER encoder contributes: 'hidden' (its 64
        convolution states), 'scores' (its 8 tag scores) or 'both'. The morphology encoder
        always contributes its hidden states.
    fine_tune_pretrained (bool): Train the pretrained encoders' weights with the rest, or keep
        them frozen.
    pretrained_skip (bool): Also give slovnet's NER tag scores straight to the output layer,
        past the BiLSTM (needs pretrained_outputs 'scores' or 'both').
    """
    use_chars = char_filters > 0
    if vectors is None:
        vectors_width = 0
    if pretrained and not vectors_width:
        raise ValueError(
            f"pretrained = {pretrained} reads navec's word vectors: set vectors = 'natasha' "
            "and vectors_width = 300"
        )
    if pretrained_skip and ("slovnet_ner" not in pretrained or pretrained_outputs == "hidden"):
        raise ValueError(
            "pretrained_skip passes slovnet_ner's tag scores to the output layer: add 'slovnet_ner' "
            "to pretrained and set pretrained_outputs to 'scores' or 'both'"
        )
    featurizer = TokenFeaturizer(
        attrs,
        rows,
        n_chars=n_chars,
        max_chars=max_chars,
        use_chars=use_chars,
        use_morphology=morphology,
        gazetteers=gazetteers,
        use_lexicon=lexicon and (morphology or bool(gazetteers)),
        use_shapes=bool(pretrained),
        window=window,
    )
    module = BiLSTMTokenEncoder(
        hash_rows=rows,
        hash_width=hash_width,
        n_chars=n_chars,
        char_width=char_width,
        char_filters=char_filters,
        char_kernel=char_kernel,
        n_morph=n_lexical_features(morphology, gazetteers),
        morph_width=morph_width,
        vectors_width=vectors_width,
        width=width,
        depth=depth,
        dropout=0.0,
        word_dropout=word_dropout,
        inference_precision=inference_precision,
        context_encoders=slovnet_encoders(pretrained, pretrained_outputs, fine_tune_pretrained),
        skip_scores=pretrained_skip,
    )
    return BiLSTMTagger(
        featurizer,
        TorchTokenEncoder(module),
        width=module.output_width,
        vectors=vectors,
        crf=crf,
        pretrained=pretrained,
    )


@registry.architectures("spacy-ru-nn.BiLSTMTagger.v1")
def build_bilstm_tagger_v1(
    width: int,
    depth: int,
    attrs: List[str],
    rows: List[int],
    hash_width: int,
    char_width: int,
    char_filters: int,
    char_kernel: int,
    max_chars: int,
    n_chars: int,
    morphology: bool,
    morph_width: int,
    vectors: Optional[str],
    vectors_width: int,
    window: int,
    crf: bool,
    gazetteers: List[str] = [],
    lexicon: bool = False,
    word_dropout: float = 0.0,
    inference_precision: str = "float32",
) -> Model[List[Doc], List[Floats2d]]:
    """`spacy-ru-nn.BiLSTMTagger.v2` without pretrained encoders: pipelines trained with v1
    keep loading."""
    return build_bilstm_tagger_v2(**locals())


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
    return text_classifier(
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
    return text_classifier(
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
