import numpy as np
import pytest

from nnstudio.core.nn import Dense, Dropout, FunctionLayer, Identity, LeakyReLU, ReLU, Sequential, Sigmoid, Tanh
from nnstudio.resources import pretrained_model_path


@pytest.fixture(scope="session")
def shipped():
    from nnstudio.core.nn import load_model

    return load_model(pretrained_model_path("mnist"))


@pytest.fixture
def every_layer():
    """A small network with every layer kind nnstudio exports, its weights random but fixed."""
    rng = np.random.default_rng(7)
    net = Sequential(
        [
            Dense(784, 32, seed=1),
            LeakyReLU(0.2),
            Dropout(0.3),
            Dense(32, 24, seed=2),
            Sigmoid(),
            Dense(24, 20, init="xavier", seed=3),
            Tanh(),
            Identity(),
            Dense(20, 16, seed=4),
            FunctionLayer("elu"),
            Dense(16, 16, seed=5),
            FunctionLayer("softplus"),
            Dense(16, 12, seed=6),
            FunctionLayer("gelu"),
            Dense(12, 10, seed=7),
            ReLU(),
            Dense(10, 10, seed=8),
        ]
    )
    for p in net.parameters():
        p.data[...] = rng.normal(0, 0.5, p.data.shape)
    net.meta = {"dataset": "mnist", "class_names": [str(i) for i in range(10)]}
    return net
