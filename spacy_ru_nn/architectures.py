"""Registered model builders. Only builders live here; the layers are in `layers/`."""
from typing import List, Optional

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model
from thinc.types import Floats2d

from .layers.features import TokenFeaturizer, n_lexical_features
from .layers.slovnet import slovnet_encoders
from .layers.tagger import BiLSTMTagger, TorchTokenEncoder
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
