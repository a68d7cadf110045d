"""The ``swao`` command: ``swao train ...``, ``swao search ...``, ``swao reproduce ...``
(``swao COMMAND --help``); ``python -m swao.cli`` (and ``torchrun -m swao.cli``) alike.

Each subcommand is a module of this package (its arguments, its output); this one only
dispatches, importing only the command asked for.
"""
from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "train": ("swao.cli.train", "train a multi-scale autoencoder (Section 3.1)"),
    "search": ("swao.cli.search", "search an MLP for a dataset in the embedding space (Section 3.2)"),
    "reproduce": ("swao.cli.reproduce", "compute (and cache) every result of the book at one scale"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: swao COMMAND [options]\n\ncommands:")
        for name, (_, help_) in COMMANDS.items():
            print(f"  {name:<10}{help_}")
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"swao: unknown command {name!r}; choose from {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return int(module.cli_main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
