import os

import torch

torch.set_num_threads(int(os.environ.get("SWAO_TEST_THREADS", "2")))
