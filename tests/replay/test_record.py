"""The recorder still drives every lifecycle path, and what it records replays."""

from temporalio.client import WorkflowHistory

from tests.replay.record import record_all
from tests.replay.test_replay import RECORDED, replayer


async def test_recorder_writes_histories_that_replay(sessions, tmp_path):
    written = await record_all(sessions, tmp_path)
    # A path added to the recorder needs its history committed too.
    assert {p.name for p in written} == {p.name for p in RECORDED}
    for path in written:
        await replayer().replay_workflow(WorkflowHistory.from_json(path.stem, path.read_text()))
