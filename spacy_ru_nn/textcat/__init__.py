"""`nn_textcat` and its models: the component, the architectures and their layers.

Importing this package imports nothing else: spaCy imports `component` and `architectures`
through their entry points when a config names them.
"""
