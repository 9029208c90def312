"""Ring buffer: audio-rate producer against a slow consumer, wrap-around, overruns."""

import threading
import time

import numpy as np

from streaming.ring_buffer import RingBuffer


def test_producer_at_audio_rate_slow_consumer_loses_nothing() -> None:
    rate, block, seconds = 16000, 320, 2.0  # 20 ms blocks for 2 s
    ring = RingBuffer(capacity=rate, channels=1)  # 1 s: wraps twice
    total = int(rate * seconds)
    source = np.arange(total, dtype=np.float32)[:, None]

    def produce() -> None:
        for start in range(0, total, block):
            ring.write(source[start : start + block])
            time.sleep(block / rate)

    producer = threading.Thread(target=produce)
    producer.start()
    received, position = [], 0
    while position < total:
        ring.wait_written(position + 1, timeout=1.0)
        stop = ring.written
        received.append(ring.read(position, stop))
        ring.release(stop)
        position = stop
        time.sleep(0.05)  # a consumer slower than the 20 ms block rate
    producer.join()
    assert np.array_equal(np.concatenate(received), source)
    assert ring.dropped_blocks == 0


def test_overrun_drops_whole_blocks_and_counts_them() -> None:
    ring = RingBuffer(capacity=100, channels=2)
    block = np.ones((40, 2), np.float32)
    assert ring.write(block) and ring.write(block)
    assert not ring.write(block)  # 120 > 100 unreleased frames
    assert ring.dropped_blocks == 1 and ring.dropped_frames == 40
    ring.release(40)
    assert ring.write(block * 2)
    assert ring.written == 120
    assert np.array_equal(ring.read(80, 120), block * 2)  # wrapped across the end


def test_read_outside_the_live_range_is_refused() -> None:
    ring = RingBuffer(capacity=10, channels=1)
    ring.write(np.zeros((5, 1), np.float32))
    ring.release(3)
    for start, stop in [(0, 4), (3, 6)]:
        try:
            ring.read(start, stop)
        except IndexError:
            continue
        raise AssertionError(f"read({start}, {stop}) should fail")


def test_wait_free_blocks_a_file_producer_until_released() -> None:
    ring = RingBuffer(capacity=10, channels=1)
    ring.write(np.zeros((10, 1), np.float32))
    assert not ring.wait_free(5, timeout=0.05)
    threading.Timer(0.05, ring.release, args=(6,)).start()
    assert ring.wait_free(5, timeout=1.0)


def test_a_long_session_of_drops_keeps_a_bounded_gap_list() -> None:
    ring = RingBuffer(capacity=100, channels=1)
    block = np.ones((30, 1), np.float32)
    for _ in range(3000):  # each round: 90 frames in, two drops at one cut, all released
        while ring.write(block):
            pass
        assert not ring.write(block[:20])
        ring.release(ring.written)
    assert ring.dropped_frames == 3000 * (30 + 20)
    assert len(ring.gaps) <= 10
    # Every lost frame is still counted before the newest index, and none after the last cut.
    assert ring.lost_before(ring.written) == ring.dropped_frames
    last_cut = ring.gaps[-1][0]
    assert ring.lost_before(last_cut, inclusive=False) == ring.dropped_frames - 50
