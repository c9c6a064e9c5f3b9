"""spacy-ru-nn: BiLSTM NER for Russian and a bag-of-words perceptron text classifier, as spaCy components."""
from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).parent
about: dict = {}
exec((ROOT / "spacy_ru_nn" / "about.py").read_text(encoding="utf8"), about)

setup(
    name=about["__title__"],
    version=about["__version__"],
    description="PyTorch BiLSTM NER for Russian and a bag-of-words perceptron textcat for spaCy",
    long_description=(ROOT / "README.md").read_text(encoding="utf8"),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.9",
    packages=find_packages(include=["spacy_ru_nn", "spacy_ru_nn.*"]),
    package_data={"spacy_ru_nn": ["py.typed"]},
    install_requires=[
        "spacy>=3.8,<3.9",
        "thinc>=8.3.12,<8.4",
        # A range, not a pin: install the CPU wheel (torch==2.13.0) first to avoid a CUDA build.
        "torch>=2.1",
        "typer>=0.9",
        "numpy>=1.23",
        "srsly>=2.4",
        # navec vectors and name dictionaries ship inside natasha; read at initialize only.
        "natasha>=1.6",
        "navec>=0.10",
        "pymorphy3[fast]>=2.0",
        "pymorphy3-dicts-ru",
        # natasha's tokenizer, which navec and slovnet's encoders were trained on.
        "razdel>=0.5",
    ],
    extras_require={
        "test": ["pytest>=7"],
        "plots": ["matplotlib>=3.7"],
        "benchmark": ["scikit-learn>=1.3", "matplotlib>=3.7"],
        # Everything `spacy project run all` needs beyond the plugin: scikit-learn for the
        # spam metrics (evaluate-spam, the benchmarks) and baselines, matplotlib for the
        # plots, and `build` for `spacy package --build wheel`. The pipelines need none of it.
        "project": ["scikit-learn>=1.3", "matplotlib>=3.7", "build>=1.0"],
        # `annotate`: Parquet input and output, and the Ray engine (`--engine ray`).
        "parquet": ["pyarrow>=14"],
        "ray": ["ray[data]>=2.60,<3", "pyarrow>=14"],
    },
    entry_points={
        "spacy_factories": [
            "bilstm_ner = spacy_ru_nn.ner.component:make_bilstm_ner",
            "razdel_sentencizer = spacy_ru_nn.sentencizer:make_razdel_sentencizer",
            "nn_textcat = spacy_ru_nn.textcat.component:make_nn_textcat",
            "entity_normalizer = spacy_ru_nn.normalizer.component:make_entity_normalizer",
        ],
        "spacy_callbacks": [
            "spacy-ru-nn.torch_threads.v1 = spacy_ru_nn.callbacks:make_torch_threads",
            "spacy-ru-nn.training_torch_threads.v1 = spacy_ru_nn.callbacks:make_training_torch_threads",
            "spacy-ru-nn.russian_like_num.v1 = spacy_ru_nn.callbacks:make_russian_like_num",
        ],
        "spacy_architectures": [
            "spacy-ru-nn.EntityTagger.v1 = spacy_ru_nn.ner.architectures:build_entity_tagger_v1",
            "spacy-ru-nn.RussianTokenEmbed.v1 = spacy_ru_nn.ner.architectures:build_russian_token_embed_v1",
            "spacy-ru-nn.BiLSTMEncoder.v1 = spacy_ru_nn.ner.architectures:build_bilstm_encoder_v1",
            "spacy-ru-nn.CRFTagOutput.v1 = spacy_ru_nn.ner.architectures:build_crf_tag_output_v1",
            "spacy-ru-nn.SoftmaxTagOutput.v1 = spacy_ru_nn.ner.architectures:build_softmax_tag_output_v1",
            "spacy-ru-nn.BoWPerceptron.v3 = spacy_ru_nn.textcat.architectures:build_bow_perceptron_v3",
            "spacy-ru-nn.NgramVectorizer.v1 = spacy_ru_nn.textcat.architectures:build_ngram_vectorizer_v1",
            "spacy-ru-nn.BiLSTMClassifier.v2 = spacy_ru_nn.textcat.architectures:build_bilstm_classifier_v2",
            "spacy-ru-nn.TokenEmbed.v1 = spacy_ru_nn.textcat.architectures:build_token_embed_v1",
            # Replaced versions, kept so that pipelines trained with them load.
            "spacy-ru-nn.BiLSTMTagger.v1 = spacy_ru_nn.legacy.ner:build_bilstm_tagger_v1",
            "spacy-ru-nn.BiLSTMTagger.v2 = spacy_ru_nn.legacy.ner:build_bilstm_tagger_v2",
            "spacy-ru-nn.BoWPerceptron.v1 = spacy_ru_nn.legacy.textcat.architectures:build_bow_perceptron_v1",
            "spacy-ru-nn.BoWPerceptron.v2 = spacy_ru_nn.legacy.textcat.architectures:build_bow_perceptron_v2",
            "spacy-ru-nn.BiLSTMClassifier.v1 = spacy_ru_nn.legacy.textcat.architectures:build_bilstm_classifier_v1",
        ],
        "spacy_tokenizers": [
            "spacy-ru-nn.RazdelTokenizer.v1 = spacy_ru_nn.tokenizer:create_razdel_tokenizer",
            "spacy-ru-nn.InvisibleAwareTokenizer.v1 = spacy_ru_nn.tokenizer:create_invisible_aware_tokenizer",
        ],
        "spacy_scorers": [
            "spacy-ru-nn.textcat_scorer.v1 = spacy_ru_nn.scorers:make_textcat_scorer",
        ],
        "spacy_augmenters": [
            "spacy-ru-nn.mention_replacement.v1 = spacy_ru_nn.corpora.augment:create_mention_replacement_augmenter",
        ],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Framework :: spaCy",
        "Natural Language :: Russian",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
