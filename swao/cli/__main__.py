"""``python -m swao.cli COMMAND ...`` (as ``torchrun -m swao.cli train ...`` runs it)."""
import sys

from swao.cli import main

sys.exit(main())
