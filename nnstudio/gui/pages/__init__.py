"""The pages of the main window, in navigation order (the course's order of ideas after the studio).

Each entry is (module, class name). A page is a QWidget whose constructor takes
the :class:`~nnstudio.gui.context.AppContext`; it has a class attribute
``title`` (the navigation label) and an ``objectName`` of its own.
"""

PAGES = (
    ("nnstudio.gui.pages.studio_page", "StudioPage"),
    ("nnstudio.gui.pages.draw_page", "DrawPage"),
    ("nnstudio.gui.pages.backprop_page", "BackpropPage"),
    ("nnstudio.gui.pages.autograd_page", "AutogradPage"),
    ("nnstudio.gui.pages.perceptron_page", "PerceptronPage"),
    ("nnstudio.gui.pages.activations_page", "ActivationsPage"),
    ("nnstudio.gui.pages.playground_page", "PlaygroundPage"),
    ("nnstudio.gui.pages.memory_page", "MemoryPage"),
    ("nnstudio.gui.pages.runs_page", "RunsPage"),
    ("nnstudio.gui.pages.exercises_page", "ExercisesPage"),
)
