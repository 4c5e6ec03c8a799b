"""Fine-tuning on the user's own digits: the one recipe the Draw page and ``nnstudio fine-tune`` share."""

import numpy as np

from nnstudio.core.data.mydigits import MyDigits
from nnstudio.core.nn import load_model
from nnstudio.core.training import evaluate, fine_tune
from nnstudio.resources import pretrained_model_path


def test_fine_tuning_learns_the_users_handwriting_and_keeps_mnist(tmp_path, mnist):
    """Digits in a 'handwriting' the shipped model reads badly (MNIST digits mirrored left-right)
    become readable after fine-tuning on them, while MNIST itself stays well read."""
    net = load_model(pretrained_model_path("mnist"))
    original = [p.data.copy() for p in net.parameters()]
    store = MyDigits(tmp_path / "d.npz")
    rng = np.random.default_rng(0)
    for i in rng.choice(len(mnist.y_test), 60, replace=False):
        store.add(mnist.x_test[i][:, ::-1], int(mnist.y_test[i]))
    result = fine_tune(net, store, replay=mnist.flat("train"), replay_count=3000)
    assert result.state == "finished" and len(result.history.epochs) == 3
    assert result.replayed == 3000
    assert result.accuracy_before < 0.75 and result.accuracy_after >= 0.95
    _, mnist_after = evaluate(result.network, *mnist.flat("test"))
    assert mnist_after > 0.95
    # the model that was fine-tuned is a copy: the original is untouched
    assert all(np.array_equal(a, p.data) for a, p in zip(original, net.parameters()))
    assert "mixed with 3,000 MNIST digits" in result.note
