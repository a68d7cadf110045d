"""What we add to the paper: the baselines, the Table 2 comparison, export of a found MLP in the
user's units, the Feynman and CSV datasets, and the arithmetic of the embedding and scaling
studies. Imports only swao.method and swao.training."""
