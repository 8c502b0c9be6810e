"""A warm Python handler for scripts/bench.sh warm-handlers: each job sleeps its input's sleepMs,
then answers with this process's id, so the benchmark sees one process serve every job.
Run with PYTHONPATH=handlers/python (Ferry's ferry_handler module)."""
import os
import time

import ferry_handler


def handler(job):
    time.sleep(job.input.get("sleepMs", 0) / 1000.0)
    return {"pid": os.getpid()}


ferry_handler.serve(handler)
