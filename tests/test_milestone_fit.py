"""milestones.common.fit on scripted evaluations: which epoch is best, when it stops, what it restores;
milestones.common.Progress on a scripted clock: a line while a long loop runs, none for a short one."""

from __future__ import annotations

import pytest

from milestones.common import Progress, fit


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


def test_progress_prints_a_line_every_interval_with_the_time_left(capsys):
    clock = iter(range(0, 1000, 10))                           # 10 s per step
    batches = list(range(8))
    seen = list(Progress(batches, "CNN", every_s=30.0, clock=lambda: next(clock)))
    assert seen == batches and len(Progress(batches, "CNN")) == 8
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["    CNN      step 3/8 (38%), 30 s; about 0.8 min left",
                     "    CNN      step 6/8 (75%), 60 s; about 0.3 min left"]


def test_progress_without_a_length_and_a_short_loop():
    clock = iter(range(0, 1000, 40))
    out = Progress(iter("ab"), "GPT", every_s=30.0, clock=lambda: next(clock))
    assert list(out) == ["a", "b"] and out.line(2, 80.0) == "    GPT      step 2, 80 s"
    with pytest.raises(TypeError, match="no length"):
        len(out)
    quick = Progress([1, 2, 3], "MLP", every_s=30.0, clock=lambda: 0.0)
    assert list(quick) == [1, 2, 3]                             # a loop under 30 s prints nothing
