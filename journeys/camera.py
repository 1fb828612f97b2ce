"""A fake camera for the gate page's browser tests: Chromium reads a Y4M file as
its video device (--use-file-for-fake-video-capture), so a test shows it a QR code."""

from __future__ import annotations

import io
from pathlib import Path

import segno
from PIL import Image

WIDTH, HEIGHT = 640, 480
FAKE_CAMERA_ARGS = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream")


def qr_y4m(content: str, path: Path, *, frames: int = 4) -> Path:
    """`content` as a QR code (segno, as the ticket pages draw it) in a Y4M video."""
    out = io.BytesIO()
    segno.make(content, error="m", micro=False).save(out, kind="png", scale=10, border=4)
    return image_y4m(out.getvalue(), path, frames=frames)


def image_y4m(png: bytes, path: Path, *, frames: int = 4) -> Path:
    """A picture (e.g. a screenshot of a ticket's QR) centred on a white 640x480
    frame, as a Y4M video of `frames` identical frames (Chromium loops it):
    4:2:0, grey (U = V = 128)."""
    image = Image.open(io.BytesIO(png)).convert("L")
    side = min(WIDTH, HEIGHT) - 60
    image = image.resize((side, side), Image.NEAREST)
    picture = Image.new("L", (WIDTH, HEIGHT), 255)
    picture.paste(image, ((WIDTH - side) // 2, (HEIGHT - side) // 2))
    luma = picture.tobytes()
    chroma = bytes([128]) * ((WIDTH // 2) * (HEIGHT // 2))
    with path.open("wb") as video:
        video.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            video.write(b"FRAME\n" + luma + chroma + chroma)
    return path


def camera_browser(browser, video: Path):
    """Another headless Chromium like `browser` (conftest.py), whose camera shows `video`."""
    return browser.browser_type.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[*BROWSER_ARGS, *FAKE_CAMERA_ARGS, f"--use-file-for-fake-video-capture={video}"],
    )


CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = (
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip
