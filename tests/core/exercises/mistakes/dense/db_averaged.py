# A typical mistake: the check must name it.
# mistake: db_averaged
# expect: sum it instead
"""A fully connected layer: y = x @ W + b, and its gradients."""


class Dense:
    def __init__(self, W, b):
        self.W = W  # (inputs, outputs)
        self.b = b  # (outputs,)
        self.x = None  # the last input, kept by forward for backward
        self.dW = None
        self.db = None

    def forward(self, x):
        """y = x @ W + b for a batch x of shape (N, inputs)."""
        self.x = x
        return x @ self.W + self.b

    def backward(self, grad_y):
        """Given dL/dy (N, outputs): set self.dW and self.db, return dL/dx (N, inputs)."""
        self.dW = self.x.T @ grad_y
        self.db = grad_y.mean(axis=0)
        return grad_y @ self.W.T
