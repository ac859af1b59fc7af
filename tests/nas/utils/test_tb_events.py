from torch.utils.tensorboard import SummaryWriter

from nas.utils.tb_events import event_files, read_scalars, trim_events


def _write(folder, rows):
    w = SummaryWriter(str(folder))
    for tag, value, step, wall in rows:
        w.add_scalar(tag, value, step, walltime=wall)
    w.close()


def test_trim_keeps_events_up_to_the_checkpoint_on_every_step_counter(tmp_path):
    # Two tags on separate step counters: a purge by step would lose "a" steps 3..4 along with "b" 3.
    _write(tmp_path, [("a", 1.0, 3, 100.0), ("a", 2.0, 4, 101.0), ("b", 5.0, 0, 102.0), ("b", 6.0, 1, 110.0)])
    assert trim_events(tmp_path, 105.0) == 1
    assert read_scalars(tmp_path) == {"a": [(3, 1.0), (4, 2.0)], "b": [(0, 5.0)]}
    _write(tmp_path, [("b", 7.0, 1, 120.0)])  # the resumed run logs the redone unit again
    assert read_scalars(tmp_path) == {"a": [(3, 1.0), (4, 2.0)], "b": [(0, 5.0), (1, 7.0)]}
    assert trim_events(tmp_path, 200.0) == 0  # merged into one file, nothing lost
    assert len(event_files(tmp_path)) == 1
    assert read_scalars(tmp_path)["b"] == [(0, 5.0), (1, 7.0)]


def test_trim_survives_a_torn_record_and_a_half_done_trim(tmp_path):
    _write(tmp_path, [("a", float(i), i, 100.0 + i) for i in range(5)])
    (path,) = event_files(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:-7])  # the kill tore the last record
    copy = tmp_path / (path.name + ".copy")
    copy.write_bytes(data[:-7])  # and an earlier trim left a duplicate file behind
    trim_events(tmp_path, 102.5)
    assert read_scalars(tmp_path) == {"a": [(0, 0.0), (1, 1.0), (2, 2.0)]}


def test_trim_to_nothing_removes_every_file(tmp_path):
    _write(tmp_path, [("a", 1.0, 0, 100.0)])
    assert trim_events(tmp_path, float("-inf")) == 1
    assert event_files(tmp_path) == [] and read_scalars(tmp_path) == {}
    assert trim_events(tmp_path / "missing", 0.0) == 0
