"""The embedded task queue: messages written while a consumer reads all arrive
whole, and a file that cannot be decoded is set aside instead of killing the
worker (the stock transport raises on it)."""

import threading

import pytest
from kombu import Connection

from pagurus.tasks.fstransport import Transport


def _connection(folder):
    folder.mkdir(exist_ok=True)
    (folder / "done").mkdir(exist_ok=True)
    return Connection(transport=Transport, transport_options={
        "data_folder_in": str(folder), "data_folder_out": str(folder),
        "processed_folder": str(folder / "done"), "store_processed": False,
        "control_folder": str(folder / "control"),
        "polling_interval": 0.01})


def test_messages_written_while_consumed_all_arrive_whole(tmp_path):
    total = 400
    producer_conn, consumer_conn = _connection(tmp_path / "q"), _connection(tmp_path / "q")
    received: list[dict] = []
    failures: list[BaseException] = []
    # declared before the writer starts: what is under test is messages, not
    # kombu's exchange table, which both sides would otherwise create at once
    queue = consumer_conn.SimpleQueue("jobs")

    def produce():
        try:
            out = producer_conn.SimpleQueue("jobs")
            for i in range(total):
                out.put({"n": i, "pad": "x" * (i * 37 % 5000)})
            out.close()
        except BaseException as exc:  # surfaced below instead of a silent timeout
            failures.append(exc)

    writer = threading.Thread(target=produce)
    writer.start()
    while len(received) < total and not failures:
        try:
            message = queue.get(timeout=5)
        except Exception:
            if writer.is_alive():
                continue
            break
        received.append(message.payload)
        message.ack()
    writer.join()
    queue.close()
    producer_conn.close()
    consumer_conn.close()
    assert not failures, failures
    assert sorted(m["n"] for m in received) == list(range(total))
    assert all(len(m["pad"]) == m["n"] * 37 % 5000 for m in received)
    leftovers = [p.name for p in (tmp_path / "q").rglob("*.msg*")]
    assert leftovers == []


def test_a_corrupt_message_is_set_aside_not_fatal(tmp_path):
    conn = _connection(tmp_path / "q")
    # kombu keeps exchange state per transport class: a queue name of its own
    (tmp_path / "q" / "1_bad.other.msg").write_bytes(b"{not json")
    queue = conn.SimpleQueue("other")
    queue.put({"ok": True})
    assert queue.get(timeout=10).payload == {"ok": True}
    # the bad file may sort after the good one: drain until nothing is left
    with pytest.raises(queue.Empty):
        queue.get(timeout=0.3)
    assert (tmp_path / "q" / "done" / "1_bad.other.msg.bad").exists()
    queue.close()
    conn.close()
