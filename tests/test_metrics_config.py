"""Eq. 7 on hand-computed cases; the scales' configuration and its errors."""
import pytest
import torch

from swao.training.config import SCALES, get_config, resolve_device
from helpers import mean_mpe
from swao.method.metrics import mpe


def test_mpe_hand_computed():
    y = torch.tensor([1.0, 2.0, -4.0, 10.0])
    y_hat = torch.tensor([1.1, 1.0, -4.0, 13.0])
    # errors in percent: 10, 50, 0, 30 -> median of an even count = (10 + 30) / 2
    assert mpe(y_hat, y).item() == pytest.approx(20.0)
    assert mpe(y_hat[:3], y[:3]).item() == pytest.approx(10.0)
    batch = torch.stack([y_hat, y])
    assert mpe(batch, torch.stack([y, y])).tolist() == pytest.approx([20.0, 0.0])
    assert mean_mpe(batch, torch.stack([y, y])) == pytest.approx(10.0)


def test_mpe_with_zero_target_and_errors():
    y = torch.tensor([0.0, 1.0, 1.0])
    assert mpe(torch.tensor([1.0, 1.0, 1.5]), y).item() == pytest.approx(50.0)
    with pytest.raises(ValueError, match="same"):
        mpe(torch.zeros(3), torch.zeros(4))
    with pytest.raises(ValueError, match="NaN"):
        mpe(torch.tensor([float("nan")]), torch.tensor([1.0]))


def test_scales():
    for name in SCALES:
        c = get_config(name)
        assert c.scale == name and c.total_steps >= 1
    paper = get_config("paper")
    assert paper.train_mlps == 3_200_000 and paper.epochs == 4 and paper.eval_mlps == 1000
    assert paper.search_points == 100_000 and paper.search_steps == 30_000
    assert get_config("smoke", epochs=2).epochs == 2


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(scale="huge"), "scale must be one of"),
        (dict(scale="smoke", epochs=0), "epochs must be >= 1"),
        (dict(scale="smoke", lr=-1.0), "lr must be a positive"),
        (dict(scale="smoke", batch_size=2.5), "batch_size must be an int"),
        (dict(scale="smoke", colour="red"), "unknown config parameter 'colour'"),
        (dict(scale="smoke", seed=-3), "seed must be >= 0"),
    ],
)
def test_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        get_config(**kwargs)


def test_config_is_frozen():
    with pytest.raises(Exception):
        get_config("smoke").epochs = 3


def test_devices():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda")
    with pytest.raises(ValueError, match="device must be"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


def test_rank_correlation_against_a_loop():
    from swao.ours.embedding import rank_correlation

    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(30, generator=g), torch.rand(30, generator=g)
    # reference: Spearman's formula with distinct ranks, 1 - 6 sum d^2 / (n (n^2 - 1))
    ra = {v: i for i, v in enumerate(sorted(a.tolist()))}
    rb = {v: i for i, v in enumerate(sorted(b.tolist()))}
    d2 = sum((ra[x] - rb[y]) ** 2 for x, y in zip(a.tolist(), b.tolist()))
    n = 30
    assert rank_correlation(a, b) == pytest.approx(1 - 6 * d2 / (n * (n * n - 1)), abs=1e-12)
    assert rank_correlation(a, a * 3 + 1) == pytest.approx(1.0)
    assert rank_correlation(a, -a) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="1-d"):
        rank_correlation(a, b[:5])


def test_setup_run_validates_notebook_parameters():
    from swao.training.config import setup_run

    config, dev = setup_run("smoke", "cpu", 3)
    assert config.seed == 3 and dev.type == "cpu" and torch.get_num_threads() == 2
    with pytest.raises(ValueError, match="unknown config parameter 'retrain'"):
        setup_run("smoke", "cpu", 0, retrain=True)  # retrain goes to the result functions (recompute=)
    with pytest.raises(ValueError, match="scale must be one of"):
        setup_run("big")
    with pytest.raises(ValueError, match="device must be"):
        setup_run("smoke", "gpu")


def test_mpe_and_rank_correlation_refuse_what_they_cannot_score():
    from swao.ours.embedding import rank_correlation

    with pytest.raises(ValueError, match="must be torch tensors"):
        mpe(torch.ones(3), [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="same non-empty shape"):
        mpe(torch.ones(2, 0), torch.ones(2, 0))
    assert rank_correlation(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([3.0, 5.0, 9.0])) == pytest.approx(1.0)  # 3: enough
    with pytest.raises(ValueError, match=">= 3"):
        rank_correlation(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0]))
