import threading

import pytest

from inference.portrait.batcher import RequestBatcher
from inference.portrait.pipeline import PortraitParams, PortraitPipeline, PortraitRequest
from tests.inference.portrait.test_pipeline import SMALL, CentredFaceAnalyzer

OTHER = PortraitParams(**{**SMALL.__dict__, "steps": 3})


class RecordingPipeline(PortraitPipeline):
    """The real pipeline, recording which request ids each run received."""

    def __init__(self, *args, gate: threading.Event | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.batches, self.gate = [], gate

    def run(self, requests, **kwargs):
        if self.gate is not None:
            self.gate.wait(10)
        self.batches.append([r.request_id for r in requests])
        return super().run(requests, **kwargs)


@pytest.fixture
def pipeline(tiny_models):
    return RecordingPipeline(tiny_models, CentredFaceAnalyzer())


def test_compatible_requests_run_as_one_batch_and_each_caller_gets_its_result(pipeline):
    batcher = RequestBatcher(pipeline, max_batch_size=4, timeout=0.5)
    tickets = [batcher.submit(PortraitRequest(f"r{i}", "portrait", seed=i, params=SMALL)) for i in range(3)]
    results = [t.result(timeout=60) for t in tickets]
    batcher.close()
    assert pipeline.batches == [["r0", "r1", "r2"]]
    assert [r.request_id for r in results] == ["r0", "r1", "r2"] and all(r.ok for r in results)


def test_incompatible_requests_are_split_and_the_size_is_capped(pipeline):
    batcher = RequestBatcher(pipeline, max_batch_size=2, timeout=0.3)
    tickets = [batcher.submit(PortraitRequest(f"a{i}", "p", params=SMALL)) for i in range(3)]
    tickets.append(batcher.submit(PortraitRequest("b0", "p", params=OTHER)))
    for ticket in tickets:
        assert ticket.result(timeout=60).ok
    batcher.close()
    assert sorted(pipeline.batches) == [["a0", "a1"], ["a2"], ["b0"]]


def test_a_request_cancelled_while_queued_never_runs(tiny_models):
    gate = threading.Event()
    pipeline = RecordingPipeline(tiny_models, CentredFaceAnalyzer(), gate=gate)
    batcher = RequestBatcher(pipeline, max_batch_size=1, timeout=0.0)
    first = batcher.submit(PortraitRequest("first", "p", params=SMALL))  # holds the worker at the gate
    second = batcher.submit(PortraitRequest("second", "p", params=SMALL))
    second.cancel()
    assert second.result(timeout=1).status == "canceled"  # answered at once, while the worker is busy
    gate.set()
    assert first.result(timeout=60).ok
    batcher.close()
    assert pipeline.batches == [["first"]]


def test_a_request_cancelled_mid_run_leaves_its_batch(pipeline):
    batcher = RequestBatcher(pipeline, max_batch_size=2, timeout=1.0)
    kept = batcher.submit(PortraitRequest("kept", "p", params=SMALL))
    dropped = None

    def cancel_after_first_step(progress):
        if progress.progress.step >= 1:
            dropped.cancel()

    dropped = batcher.submit(
        PortraitRequest("dropped", "p", params=SMALL), on_progress=cancel_after_first_step
    )
    assert kept.result(timeout=60).ok and dropped.result(timeout=60).status == "canceled"
    batcher.close()
    assert pipeline.batches == [["kept", "dropped"]]


def test_progress_goes_to_the_right_caller(pipeline):
    batcher = RequestBatcher(pipeline, timeout=0.2)
    seen = {"x": [], "y": []}
    tickets = [
        batcher.submit(PortraitRequest(k, "p", params=SMALL), on_progress=seen[k].append) for k in seen
    ]
    for ticket in tickets:
        ticket.result(timeout=60)
    batcher.close()
    assert {p.request_id for p in seen["x"]} == {"x"} and {p.request_id for p in seen["y"]} == {"y"}


def test_a_crashing_batch_answers_every_caller(tiny_models):
    class Broken(RecordingPipeline):
        def run(self, requests, **kwargs):
            raise RuntimeError("CUDA out of memory")

    batcher = RequestBatcher(Broken(tiny_models, CentredFaceAnalyzer()), timeout=0.1)
    result = batcher.submit(PortraitRequest("z", "p", params=SMALL)).result(timeout=30)
    batcher.close()
    assert result.status == "failed" and result.error_code == "internal_error"
    assert "CUDA" not in result.error  # internals stay out of the visitor's message


def test_a_batch_that_breaks_the_batcher_still_answers_and_the_batcher_lives_on(tiny_models):
    class ShortChanging(RecordingPipeline):
        def run(self, requests, **kwargs):
            results = super().run(requests, **kwargs)
            return results[:-1] if len(requests) > 1 else results  # one answer missing

    pipeline = ShortChanging(tiny_models, CentredFaceAnalyzer())
    batcher = RequestBatcher(pipeline, max_batch_size=2, timeout=0.5)
    broken = batcher.submit_many(
        [PortraitRequest(f"b{i}", "portrait", seed=i, params=SMALL) for i in range(2)]
    )
    assert [t.result(timeout=60).status for t in broken] == ["failed", "failed"]
    assert batcher.alive
    alone = batcher.submit(PortraitRequest("after", "portrait", seed=5, params=SMALL))
    assert alone.result(timeout=60).ok
    batcher.close()
