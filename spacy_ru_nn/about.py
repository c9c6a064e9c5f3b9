__title__ = "spacy-ru-nn"
__version__ = "0.1.0"
