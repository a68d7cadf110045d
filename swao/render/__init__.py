"""Renderers: the tables (the paper's beside ours), the reports of our studies, the figures and
the static explorers. They draw results; they compute none."""
