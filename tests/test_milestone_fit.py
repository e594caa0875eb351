"""milestones.common.fit on scripted evaluations: which epoch is best, when it stops, what it restores."""

from __future__ import annotations

import pytest

from milestones.common import fit


def _scripted(evaluations, **kwargs):
    """fit over `evaluations` (one dict per epoch); returns (history, [epochs saved], [state loaded])."""
    epoch, saved, loaded = [0], [], []

    def train_epoch():
        epoch[0] += 1
        return 1.0 / epoch[0]

    def save_state():
        saved.append(epoch[0])
        return f"state of epoch {epoch[0]}"

    history = fit(train_epoch, lambda: evaluations[epoch[0] - 1], epochs=len(evaluations),
                  save_state=save_state, load_state=loaded.append, **kwargs)
    return history, saved, loaded


def test_accuracy_ties_go_to_the_lower_loss_and_patience_stops_training():
    evaluations = [{"loss": 1.0, "accuracy": 0.5}, {"loss": 0.9, "accuracy": 0.7}, {"loss": 0.8, "accuracy": 0.7},
                   {"loss": 0.7, "accuracy": 0.6}, {"loss": 0.6, "accuracy": 0.65}, {"loss": 0.1, "accuracy": 0.9}]
    history, saved, loaded = _scripted(evaluations, patience=2, tie_break="loss")
    assert (history.best_epoch, history.epochs_run, history.stopped_early) == (3, 5, True)
    assert saved == [1, 2, 3] and loaded == ["state of epoch 3"]
    assert history.val["accuracy"] == [0.5, 0.7, 0.7, 0.6, 0.65] and history.best == evaluations[2]
    assert list(history.columns()) == ["train_loss", "val_loss", "val_accuracy", "lr"]


def test_a_validation_loss_is_minimised_and_the_last_epoch_can_be_the_best():
    losses = [3.0, 2.0, 2.5, 1.5]
    history, saved, loaded = _scripted([{"loss": v} for v in losses], patience=2, metric="loss", mode="min")
    assert (history.best_epoch, history.stopped_early) == (4, False)
    assert saved == [1, 2, 4] and loaded == ["state of epoch 4"]


def test_the_schedule_sets_the_learning_rate_before_each_epoch_and_it_is_recorded():
    class Optimizer:
        lr = 1.0

    seen = []
    optimizer = Optimizer()
    history = fit(lambda: seen.append(optimizer.lr) or 0.0, lambda: {"loss": 1.0}, epochs=3, patience=5,
                  metric="loss", mode="min", save_state=lambda: None, load_state=lambda state: None,
                  optimizer=optimizer, schedule=lambda i: 0.1 / (i + 1))
    assert seen == history.lr == [0.1, 0.05, 0.1 / 3]


def test_wrong_settings_say_what_is_wrong():
    with pytest.raises(ValueError, match="mode"):
        _scripted([{"loss": 1.0}], patience=1, metric="loss", mode="lowest")
    with pytest.raises(KeyError, match="accuracy"):
        _scripted([{"loss": 1.0}], patience=1)
