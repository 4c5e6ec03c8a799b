"""A small reverse-mode autograd engine over NumPy (micrograd, with tensors), and math expressions
typed by a person: parsed safely, evaluated on the engine and differentiated symbolically."""

# expr before the engine. tensor.py imports expr.rules, and importing any module of expr runs
# expr/__init__ first, which imports graph.py and expression.py, which need the finished Tensor
# class. Started from here, expr is the outer import: it imports the engine, and the engine's
# import of expr.rules (which needs only expr.parse) completes inside it.
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
