"""Render the HTML part of a previewed message with headless Chromium and
check a screenshot is produced and is not blank.  Skipped (77) when
chromium is not installed."""
import glob
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.dirname(__file__))
import fixture  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def png_ink(path):
    """Fraction of decompressed scanline bytes that are neither 0 nor 255:
    ~0 for a blank (all white or all black) page."""
    data = open(path, "rb").read()
    fixture.check(data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG")
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + n]
        pos += 12 + n
    raw = zlib.decompress(idat)
    return sum(1 for b in raw if b not in (0, 255)) / max(len(raw), 1)


def main():
    if not os.path.exists(CHROMIUM):
        fixture.skip("chromium not installed")
    d = fixture.make_site()
    profile = tempfile.mkdtemp(prefix="herald-chromium-")
    try:
        shutil.copy(os.path.join(fixture.SRC, "lists", "example.csv"), os.path.join(d, "lists"))
        post = os.path.join(fixture.SRC, "doc", "examples", "2027-11-22-async-office-hours.md")
        r = fixture.run(["preview", post, "--list", "lists/example.csv", "--out", "out"], d)
        fixture.check(r.returncode == 0, r.stderr.decode())
        html = sorted(f for f in glob.glob(os.path.join(d, "out", "*.html"))
                      if not f.endswith("index.html"))[0]
        shot = os.path.join(d, "shot.png")
        cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--hide-scrollbars",
               f"--user-data-dir={profile}", "--window-size=700,1400",
               f"--screenshot={shot}", "file://" + html]
        p = subprocess.run(cmd, capture_output=True, timeout=120)
        fixture.check(os.path.exists(shot), p.stderr.decode()[-2000:])
        ink = png_ink(shot)
        fixture.check(ink > 0.005, f"screenshot looks blank (ink {ink:.4f})")
        keep = os.environ.get("HERALD_BUILD")
        if keep:
            shutil.copy(shot, os.path.join(keep, "preview-screenshot.png"))
        print(f"ok: screenshot ink {ink:.3f}")
        return 0
    finally:
        shutil.rmtree(d, ignore_errors=True)
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
