"""A warm Python handler for scripts/bench.sh: each job sleeps its input's sleepMs, then answers with
this process's id (warm-handlers: one process serves every job) and when its sleep began and ended,
in seconds since the epoch (pipeline: the slot's busy time, as the handler itself saw it).
Run with PYTHONPATH=handlers/python (Ferry's ferry_handler module)."""
import os
import time

import ferry_handler


def handler(job):
    started = time.time()
    time.sleep(job.input.get("sleepMs", 0) / 1000.0)
    return {"pid": os.getpid(), "startedAt": started, "endedAt": time.time()}


ferry_handler.serve(handler)
