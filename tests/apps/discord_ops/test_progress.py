"""The progress message: at most one edit every 2 s, none when the text did not change."""

from types import SimpleNamespace

from apps.discord_ops.progress import MIN_INTERVAL, ProgressEditor, progress_text
from apps.discord_ops.selectors import SessionSummary


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_edits_are_spaced_and_never_repeated():
    clock = Clock()
    editor = ProgressEditor(clock=clock)
    assert editor.take("1/4") == "1/4"
    assert editor.take("1/4") is None  # unchanged
    clock.now += 0.5
    assert editor.take("2/4") is None  # too soon: held back
    clock.now += MIN_INTERVAL
    assert editor.take("1/4") is None and editor.flush() is None  # back to what is shown: nothing to send
    assert editor.take("3/4") == "3/4"
    clock.now += 0.1
    assert editor.take("4/4") is None
    assert editor.flush() == "4/4" and editor.flush() is None


def test_the_text_shows_counts_bar_and_eta():
    summary = SessionSummary(
        session=SimpleNamespace(pk=7, built_at="built"),
        total=4,
        done=2,
        running=1,
        queued=0,
        failed=1,
        canceled=0,
        eta_seconds=40,
    )
    text = progress_text(summary)
    assert (
        text.startswith("session 7 [") and "3/4" in text and "1 failed" in text and "about 40 s left" in text
    )
    assert text.count("█") == 15  # three quarters of 20


def test_the_text_shows_where_the_sessions_next_job_is_in_the_whole_queue():
    summary = SessionSummary(
        session=SimpleNamespace(pk=8, built_at="built"),
        total=3,
        done=0,
        running=0,
        queued=3,
        failed=0,
        canceled=0,
        eta_seconds=None,
        queue_position=5,
    )
    assert progress_text(summary).endswith("0/3 · 0 done, 0 running, 3 queued · next job 6 in the queue")
