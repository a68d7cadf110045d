"""Training the autoencoder: the scales' configurations, the training loop (resumable, DDP),
checkpoints, and the evaluation of Tables 1 and 3 with its floors. Imports only swao.method."""
