"""The backward pass: a topological order of the graph, then the chain rule from the root back."""

from nnstudio.core.exercises.support import Node, var  # noqa: F401  (Node: value, grad, parents, local_backward)


def topological_order(root):
    """Every node root depends on, each once, each after its parents; root last."""
    order, seen = [], set()

    def visit(node):
        if node in seen:
            return
        seen.add(node)
        for parent in node.parents:
            visit(parent)
        order.append(node)

    visit(root)
    return order


def backward(root):
    """Fill node.grad = d(root)/d(node) for every node of the graph."""
    root.grad = 1.0
    for node in reversed(topological_order(root)):
        for parent, g in zip(node.parents, node.local_backward(node.grad)):
            parent.grad += g


if __name__ == "__main__":
    x = var(2.0, "x")
    y = x**2 + 3 * x + 5
    backward(y)
    print("dy/dx at x = 2:", x.grad)  # 7.0
