"""The backward pass: a topological order of the graph, then the chain rule from the root back."""

from nnstudio.core.exercises.support import Node, var  # noqa: F401  (Node: value, grad, parents, local_backward)


def topological_order(root):
    """Every node root depends on, each once, each after its parents; root last."""
    raise NotImplementedError("depth-first: parents first, then the node")


def backward(root):
    """Fill node.grad = d(root)/d(node) for every node of the graph."""
    raise NotImplementedError("root.grad = 1, then pass gradients back in reverse topological order")


if __name__ == "__main__":
    x = var(2.0, "x")
    y = x**2 + 3 * x + 5
    backward(y)
    print("dy/dx at x = 2:", x.grad)  # 7.0
