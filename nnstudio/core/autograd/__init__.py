"""A small reverse-mode autograd engine over NumPy (micrograd, with tensors), and math expressions
typed by a person: parsed safely, evaluated on the engine and differentiated symbolically."""

from . import expr
from .gradcheck import GradcheckError, gradcheck, numerical_gradient
from .tensor import Tensor, is_grad_enabled, no_grad, softmax_cross_entropy, tensor

__all__ = [
    "expr",
    "GradcheckError",
    "Tensor",
    "gradcheck",
    "is_grad_enabled",
    "no_grad",
    "numerical_gradient",
    "softmax_cross_entropy",
    "tensor",
]
