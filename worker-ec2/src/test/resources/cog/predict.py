# A small CPU model for the tests, served by the real Cog (coglet) without Docker: its behaviour
# is chosen by each prediction's input. Standard library only, besides cog.
import hashlib
import os
import struct
import sys
import tempfile
import time
import zlib

from cog import BasePredictor, BaseRunner, CancelationException, Input, Path


def tiny_png(width, height, rgb):
    """A solid-colour PNG, made with zlib alone (no Pillow)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


class Runner(BaseRunner):
    def setup(self):
        print("loading the model")
        if os.environ.get("SETUP_FAILS"):
            raise RuntimeError("cannot load the model: out of GPU memory")
        self.loaded_at = time.time()

    def run(self, do: str = "echo", text: str = "hello", seconds: float = 0.0, steps: int = 4,
            file: Path = Input(default=None)) -> dict:
        print(f"working on {text}")
        if do == "fail":
            sys.stderr.write("about to fail\n")
            raise ValueError(text)
        if do == "crash":
            os._exit(3)
        # Cog's cancel reaches Python code between two bytecodes, not inside one long native call:
        # like a diffusion loop, these sleep in short steps.
        if do == "sleep":
            try:
                for _ in range(int(seconds * 10)):
                    time.sleep(0.1)
            except CancelationException:
                print("canceled cleanly")
                raise
            return {"slept": seconds}
        if do == "stubborn":
            deadline = time.time() + seconds
            while time.time() < deadline:
                try:
                    time.sleep(0.1)
                except CancelationException:
                    print("ignoring the cancel")
            return {"slept": seconds}
        if do == "read":
            data = file.read_bytes()
            return {"name": file.name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        if do == "metric":
            for i in range(steps):
                time.sleep(seconds / steps)
                self.record_metric("progress", (i + 1) / steps)
                print(f"step {i + 1} of {steps}", flush=True)  # a metric goes out with the webhook a log line sends
            return {"steps": steps}
        for i in range(steps):  # a tqdm-like bar on stderr, redrawn after \r
            sys.stderr.write(f"\r{100 * (i + 1) // steps:3d}%|{'#' * (i + 1):<{steps}}| {i + 1}/{steps} [00:00<00:00]")
            sys.stderr.flush()
            time.sleep(seconds / steps)
        sys.stderr.write("\n")
        out = tempfile.mkdtemp()
        image = Path(os.path.join(out, "image.png"))
        image.write_bytes(tiny_png(2, 2, (255, 0, 0)))
        frames = []
        for i in range(2):
            frame = Path(os.path.join(out, f"frame{i}.txt"))
            frame.write_text(f"frame {i} of {text}")
            frames.append(frame)
        print("done")
        return {"pid": os.getpid(), "text": text, "cuda": os.environ.get("CUDA_VISIBLE_DEVICES"),
                "slot": os.environ.get("FERRY_SLOT"), "loadedAt": self.loaded_at, "image": image, "frames": frames}


class Predictor(BasePredictor):
    """The older way of writing a Cog model (BasePredictor, predict), which Cog still serves."""

    def predict(self, text: str = "hello") -> str:
        print("predicting")
        return f"{text} from {os.getpid()}"
