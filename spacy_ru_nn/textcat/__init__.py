"""`nn_textcat` and its models: the component, the registered architectures and the layers
they are built from.

Importing this package imports nothing else: spaCy imports `component` and `architectures`
through their entry points when a config names them.
"""
