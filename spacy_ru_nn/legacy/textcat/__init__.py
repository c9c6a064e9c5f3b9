"""The replaced text classifier architectures and the code they are built from.

`spacy-ru-nn.BoWPerceptron.v1`/`.v2` and `spacy-ru-nn.BiLSTMClassifier.v1`, which
`BoWPerceptron.v3` and `BiLSTMClassifier.v2` replace, unchanged so that pipelines saved with
them load and predict as they did.

Nothing outside this package imports it: spaCy imports `architectures` through its entry point
when a config names one of these versions.
"""
