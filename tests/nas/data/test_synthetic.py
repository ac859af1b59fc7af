import numpy as np
import pytest
import torch
import torch.nn.functional as F

import nas
from nas.data.synthetic import NUM_CLASSES, ShapesSpec, make_shapes, shapes_datasets


def test_deterministic_from_seed():
    a = make_shapes(500, 32, 0.1, np.random.default_rng(5))
    b = make_shapes(500, 32, 0.1, np.random.default_rng(5))
    c = make_shapes(500, 32, 0.1, np.random.default_rng(6))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    assert set(np.unique(a[1])) == set(range(NUM_CLASSES))
    assert a[0].shape == (500, 3, 32, 32) and 0 <= a[0].min() and a[0].max() <= 1


@pytest.mark.slow  # about 30-50 s on 2 cores; run with -m slow
def test_small_standalone_model_learns_it():
    torch.manual_seed(0)
    train, val, k = shapes_datasets(ShapesSpec(train=3000, val=500, resolution=32, seed=0))
    model = nas.create_model("st_topo:mobilenetv2", num_classes=k, width=0.5, dropout=0.0, stem_stride=1)
    model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=4e-5)
    x, y = train.tensors
    steps = 300
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=steps, pct_start=0.15)
    gen = torch.Generator().manual_seed(0)
    model.train()
    for step in range(steps):
        idx = torch.randint(0, len(y), (64,), generator=gen)
        loss = F.cross_entropy(model(x[idx].contiguous(memory_format=torch.channels_last)), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    vx, vy = val.tensors
    with torch.no_grad():
        acc = (model(vx).argmax(1) == vy).float().mean().item()
    assert acc > 0.3, acc  # chance is 0.1


def test_search_config_noise_reaches_the_embedded_set():
    """``data.noise`` changes the pixels of the embedded set and nothing else: same labels, same clean images."""
    from nas.config import build_config
    from nas.config.search import SearchConfig
    from nas.search.data import proxy_datasets

    def sets(noise):
        d = build_config(SearchConfig, opts=["data.train_size=64", "data.val_size=32",
                                             f"data.noise={noise}"]).data
        return proxy_datasets(d)

    (a, av, _), (b, bv, _), (c, _, _) = sets(0.05), sets(0.05), sets(0.3)
    assert build_config(SearchConfig, opts=[]).data.noise == ShapesSpec().noise  # the default set is unchanged
    assert torch.equal(a.tensors[0], b.tensors[0]) and torch.equal(av.tensors[1], bv.tensors[1])
    assert torch.equal(a.tensors[1], c.tensors[1])  # the labels do not depend on the noise
    resid = lambda ds: (ds.tensors[0] - a.tensors[0]).std().item()  # noqa: E731
    assert resid(c) > 0.3  # normalised units: a std of 0.3 in [0, 1] is ~1.2 after (x - 0.5) / 0.25, less clipping


def test_more_shapes_add_classes_and_keep_the_default_set():
    """``shapes`` above 5 adds the fine-outline shapes; the default draws exactly the five-shape images."""
    from nas.data.synthetic import SHAPES, _shape_mask

    a = make_shapes(300, 32, 0.05, np.random.default_rng(2))
    b = make_shapes(300, 32, 0.05, np.random.default_rng(2), shapes=5)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    x, y = make_shapes(2000, 32, 0.05, np.random.default_rng(2), shapes=10)
    assert set(np.unique(y)) == set(range(20))
    assert shapes_datasets(ShapesSpec(train=40, val=20, shapes=7))[2] == 14
    # every shape has its own outline: at one pose no two masks are the same, and none is empty
    u, v = np.meshgrid(np.arange(64.0) - 32, np.arange(64.0) - 32)
    masks = [_shape_mask(np.full(u.shape, k), u, v, np.full(u.shape, 20.0)) for k in range(len(SHAPES))]
    assert all(m.sum() > 100 for m in masks)
    assert all((masks[i] != masks[j]).sum() > 20 for i in range(len(masks)) for j in range(i))
    with pytest.raises(ValueError, match="shapes must be in 2..10"):
        make_shapes(4, 32, 0.05, np.random.default_rng(0), shapes=11)


@pytest.mark.parametrize("value", ["1", "11", "x"])
def test_search_config_rejects_bad_shapes(value):
    from nas.config import build_config
    from nas.config.search import SearchConfig
    from nas.errors import NasError

    with pytest.raises(NasError, match="data.shapes"):
        build_config(SearchConfig, opts=[f"data.shapes={value}"])
