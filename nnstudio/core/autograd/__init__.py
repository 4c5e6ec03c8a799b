"""A small reverse-mode autograd engine over NumPy (micrograd, with tensors), and math expressions
typed by a person: parsed safely, evaluated on the engine and differentiated symbolically."""

from .tensor import Tensor, is_grad_enabled, no_grad, softmax_cross_entropy, tensor

__all__ = ["Tensor", "is_grad_enabled", "no_grad", "softmax_cross_entropy", "tensor"]
