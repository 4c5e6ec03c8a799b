"""The course's lessons as plain objects the pages show: the perceptron, activation functions,
the 2-D playground and one backpropagation step traced operation by operation."""
