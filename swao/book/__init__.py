"""The book's pipeline: every result computed once per configuration and cached, ``swao
reproduce`` and its plan, the paper's numbers, and the findings. Imports no renderer."""
