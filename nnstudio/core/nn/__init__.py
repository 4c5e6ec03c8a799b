"""Networks: layers, activation functions, the Sequential network, losses, optimizers, schedules,
model files and the MLP spec that the CLI and the window build networks from."""
from .functional import ACTIVATIONS as FUNCTIONS
from .functional import ActivationFunction, softmax, stable_sigmoid
from .layers import (
    ACTIVATIONS,
    DEFAULT_DTYPE,
    INITS,
    LAYER_TYPES,
    Dense,
    Dropout,
    FunctionLayer,
    Identity,
    Layer,
    LeakyReLU,
    Parameter,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    activation,
    activation_key,
    activation_layer,
    layer_from_config,
)
from .losses import LOSSES, MSE, Loss, SoftmaxCrossEntropy, make_loss
from .network import Network, Sequential
from .optim import DEFAULT_LR, OPTIMIZERS, SGD, Adam, Momentum, Optimizer, make_optimizer
from .schedules import CosineAnnealingLR
from .serialization import FORMAT_NAME, FORMAT_VERSION, ModelFileError, load_model, restore_optimizer, save_model

__all__ = [
    "ACTIVATIONS", "DEFAULT_DTYPE", "DEFAULT_LR", "FORMAT_NAME", "FORMAT_VERSION", "FUNCTIONS", "INITS",
    "LAYER_TYPES", "LOSSES", "MSE", "OPTIMIZERS", "SGD", "ActivationFunction", "Adam", "CosineAnnealingLR",
    "Dense", "Dropout", "FunctionLayer", "Identity", "Layer", "LeakyReLU", "Loss", "ModelFileError", "Momentum",
    "Network", "Optimizer", "Parameter", "ReLU", "Sequential", "Sigmoid", "Softmax", "SoftmaxCrossEntropy", "Tanh",
    "activation", "activation_key", "activation_layer", "layer_from_config", "load_model", "make_loss",
    "make_optimizer", "restore_optimizer", "save_model", "softmax", "stable_sigmoid",
]
