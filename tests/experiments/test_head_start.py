"""The head-start figure's arithmetic: epochs to a target accuracy, and the tested difference between arms."""
from experiments.head_start import epochs_to, summarise


def test_epochs_to_target_counts_a_miss_as_one_past_the_end():
    assert epochs_to([0.2, 0.5, 0.6, 0.4], 0.55) == 3
    assert epochs_to([0.2, 0.3], 0.55) == 3
    assert epochs_to([0.6], 0.6) == 1


def test_summary_shows_a_clear_head_start_and_not_a_tie():
    fast = [[0.3, 0.6, 0.7]] * 5
    slow = [[0.1, 0.2, 0.3]] * 5
    runs = ([{"arm": "pretrained", "seed": s, "top1": c} for s, c in enumerate(fast)]
            + [{"arm": "scratch", "seed": s, "top1": c} for s, c in enumerate(slow)])
    out = summarise(runs, 0.55)
    assert out["epochs_to_target"] == {"scratch": [4] * 5, "pretrained": [2] * 5}
    assert out["epochs_saved"] == 2 and out["p"] < 0.05 and out["verdict"] == "met"
    tie = summarise([dict(r, top1=[0.3, 0.6]) for r in runs], 0.55)
    assert tie["epochs_saved"] == 0 and tie["p"] > 0.5 and tie["verdict"] == "not shown"
