"""One module per exercise, named like it, with ``check(checker)``: the checks run in the check process."""
