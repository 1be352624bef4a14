"""The per-event step times: the split into parts, the percentiles, the bounded ring."""

from ari_callback.engine.metrics import StepTimes


def test_given_one_step_when_summarised_then_each_part_is_its_own_interval_in_ms():
    times = StepTimes()
    times.record(arrived=1.000, taken=1.001, stored=1.003, sent=1.007)
    figures = times.summary()
    assert figures["count"] == 1
    assert round(figures["queued"]["p50"], 6) == 1.0
    assert round(figures["machine_store"]["p50"], 6) == 2.0
    assert round(figures["ari"]["p99"], 6) == 4.0
    assert round(figures["total"]["max"], 6) == 7.0


def test_given_100_steps_when_summarised_then_p50_and_p99_are_nearest_rank():
    times = StepTimes()
    for ms in range(1, 101):
        times.record(0.0, ms / 1000, ms / 1000, ms / 1000)
    figures = times.summary()
    assert round(figures["total"]["p50"], 6) == 50.0
    assert round(figures["total"]["p99"], 6) == 99.0


def test_given_more_steps_than_the_ring_holds_when_summarised_then_only_the_newest_count():
    times = StepTimes(samples=3)
    for n in range(5):
        times.record(0.0, float(n), float(n), float(n))
    assert times.summary()["count"] == 3
    assert times.summary()["queued"]["p50"] == 3000.0


def test_given_no_steps_when_summarised_then_the_count_is_zero_and_parts_empty():
    figures = StepTimes().summary()
    assert figures["count"] == 0 and figures["total"] == {}
