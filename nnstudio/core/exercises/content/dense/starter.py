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
        raise NotImplementedError("return x @ W + b")

    def backward(self, grad_y):
        """Given dL/dy (N, outputs): set self.dW and self.db, return dL/dx (N, inputs)."""
        raise NotImplementedError("self.dW = ...; self.db = ...; return ...")
