"""wrk as the load campaign runs it: one command for every endpoint and server, its figures parsed."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

WRK_LINE = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
BOUNDARY = "narcisloadboundary"


def wrk(url: str, *, duration: int, connections: int, headers: list[str], script: str | None = None) -> dict:
    """req/s, p50/p99 in ms and the responses that were not 2xx/3xx (wrk counts socket errors apart:
    reported when there are any). A request unanswered after 10 s is a timeout (wrk's own 2 s would
    leave a slow submit out of the latencies and the rate)."""
    command = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "--latency",
        *headers,
        url,
    ]
    if script:
        command[1:1] = ["-s", script]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    latency = {f"p{p}_ms": round(float(v) * UNIT_MS[u], 1) for p, v, u in WRK_LINE.findall(out)}
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    report = {"req_s": round(rate), **latency, "non_2xx": int(errors.group(1)) if errors else 0}
    socket_errors = re.search(r"Socket errors: (.*)", out)
    if socket_errors:
        report["socket_errors"] = socket_errors.group(1).strip()
    return report


def post_script(folder: Path, cookie: str, csrf: str) -> str:
    """A wrk script that submits a portrait as the form does (a 512² JPEG face, the CSRF pair); the
    body is read from a file next to it."""
    import skimage.data
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(skimage.data.astronaut()).save(buffer, format="JPEG")
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="idea"\r\n\r\ncorporate confidence\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="face"; filename="me.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode("latin-1")
        + buffer.getvalue()
        + f"\r\n--{BOUNDARY}--\r\n".encode("latin-1")
    )
    (folder / "body.bin").write_bytes(body)
    script = folder / f"post-{abs(hash(cookie))}.lua"
    script.write_text(
        f'local f = io.open("{folder / "body.bin"}", "rb")\nwrk.body = f:read("*all")\nf:close()\n'
        'wrk.method = "POST"\n'
        f'wrk.headers["Content-Type"] = "multipart/form-data; boundary={BOUNDARY}"\n'
        f'wrk.headers["Cookie"] = "{cookie}; csrftoken={csrf}"\n'
        f'wrk.headers["X-CSRFToken"] = "{csrf}"\n'
    )
    return str(script)
