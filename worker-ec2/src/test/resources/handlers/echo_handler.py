# A warm handler for the tests: its behaviour is chosen by each job's input.
import os
import sys
import time

import ferry_handler

if os.environ.get("SETUP_FAILS"):
    raise RuntimeError("cannot load the model: out of GPU memory")
time.sleep(float(os.environ.get("SETUP_SECONDS", "0")))
started_at = time.time()


def handler(job):
    what = job.input.get("do", "echo")
    print("working on", job.job_id, "attempt", job.attempt)  # a stray print: the job's log
    job.progress(0.5, "half way")
    if what == "crash":
        sys.stderr.write("segfault in the model\n")
        sys.stderr.flush()
        os._exit(3)
    if what == "sleep":
        time.sleep(job.input["seconds"])
    if what == "bad":
        raise ferry_handler.NoRetry("field prompt is empty")
    if what == "flaky":
        raise ValueError("CUDA error: an illegal memory access")
    if what == "nan":
        return {"score": float("nan")}
    if what == "long-line":
        sys.stderr.write("x" * 200_000)  # no newline: one endless line
        sys.stderr.write("\r50%|#####     |\r100%|##########|\n")  # a progress bar redrawn with \r
        sys.stderr.flush()
    if what == "file":
        with open(job.output_path("out.txt"), "w") as f:
            f.write("hello")
    return {"pid": os.getpid(), "input": job.input, "cuda": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "started": started_at}


ferry_handler.serve(handler)
