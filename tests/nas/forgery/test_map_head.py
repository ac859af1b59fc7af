"""The map head's gate and the region losses: what each minimises, and their options from the config."""
import pytest
import torch

from nas.config import build_config
from nas.config.retrain import RetrainConfig
from nas.errors import NasError
from nas.forgery import create_detector
from nas.forgery.losses import REGION_LOSSES, region_loss, soft_dice

G = "st_topo:mobilenetv2"


@pytest.mark.parametrize("gate", ["hard", "soft"])
def test_grey_map_is_the_grey_level_gated_by_the_region(gate):
    torch.manual_seed(0)
    det = create_detector(G, task="forgery_spatial", classes=(), resolution=32, map_gate=gate).eval()
    with torch.no_grad():
        det.mask_head.out.bias.copy_(torch.tensor([0.0, 0.0]))  # region near 1/2: both sides of the cut occur
        out = det(torch.randn(3, 3, 32, 32))
    region, grey = out["region"], out["grey"]
    assert ((region >= 0.5).any() and (region < 0.5).any())
    want = grey * (region >= 0.5) if gate == "hard" else grey * region
    assert torch.equal(out["mask"], want)


def test_bad_gate_is_one_line():
    with pytest.raises(NasError, match="map_gate"):
        create_detector(G, task="forgery_spatial", resolution=32, map_gate="median")


def _minimiser(kind, share):
    """Fit one constant probability to targets with ``share`` positives under ``kind``'s BCE term alone."""
    target = (torch.arange(1000) < share * 1000).float()
    logit = torch.zeros((), requires_grad=True)
    opt = torch.optim.SGD([logit], lr=2.0)
    for _ in range(500):
        opt.zero_grad()
        REGION_LOSSES[kind](torch.sigmoid(logit).expand(1000), target).backward()
        opt.step()
    return float(torch.sigmoid(logit.detach()))


def test_plain_bce_is_calibrated_and_balanced_bce_swells_the_region():
    # a pixel manipulated in 10% of cases: plain BCE predicts 0.1 (outside the region), balanced BCE about 1/2
    assert _minimiser("bce_dice", 0.1) == pytest.approx(0.1, abs=0.01)
    assert _minimiser("balanced_dice", 0.1) == pytest.approx(0.5, abs=0.02)


def test_region_loss_kinds_and_an_empty_map_does_not_win():
    target = torch.zeros(2, 8, 8)
    target[:, 2:5, 2:5] = 1
    empty, found = torch.full_like(target, 0.01), target * 0.98 + 0.01
    for kind in ("bce_dice", "balanced_dice"):
        assert region_loss(found, target, kind) < region_loss(empty, target, kind)


def test_dice_per_image_counts_a_missed_small_region_as_much_as_a_found_large_one():
    target = torch.zeros(3, 16, 16)
    target[0] = 1  # a large region, found
    target[1, :2, :2] = 1  # a small region, missed
    p = target.clone()
    p[1] = 0  # the third image is real and empty: it holds no region, so it is not averaged in
    batch, image = soft_dice(p, target), soft_dice(p, target, per="image")
    assert batch < 0.02  # pooled, the 4 missed pixels hardly count against 256 found ones
    assert image == pytest.approx(0.5 * (1 - 1 / 5), abs=1e-6)  # (0 + 1 - 1 / (4 + 1)) / 2, eps = 1
    assert soft_dice(torch.rand(2, 4, 4), torch.zeros(2, 4, 4), per="image") == 0  # no region at all


def test_map_width_sets_the_decoder():
    det = create_detector(G, task="forgery_spatial", classes=(), resolution=32, map_width=8)
    assert det.mask_head.last.out_channels == 8
    with pytest.raises(NasError, match="map_width"):
        create_detector(G, task="forgery_spatial", resolution=32, map_width=0)


@pytest.mark.parametrize("key,value", [("region_loss", "dice"), ("map_gate", "median"), ("dice", "pixel"),
                                       ("map_width", "0")])
def test_bad_config_value_is_one_line(key, value):
    with pytest.raises(NasError, match=f"forgery.{key}"):
        build_config(RetrainConfig, recipe=None, flags={}, opts=["task=forgery_spatial", f"forgery.{key}={value}"])
