"""nnstudio: learn neural networks by building one, training it and looking inside it."""

__version__ = "0.1.0"
