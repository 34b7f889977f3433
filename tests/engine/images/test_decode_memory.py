"""Decoding hostile images within a bounded amount of memory, measured as the peak resident
memory of a fresh process: ``imagine-bot parse --image`` for one image, and eight decodes at
once (as ``ImageFetcher.fetch_all`` runs them) for a prompt's worth."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest
from PIL import Image

SCRIPT = Path(sys.executable).parent / "imagine-bot"
MB = 1024 * 1024
WORST_SIDE = 6324
"""A square just under the 40-megapixel cap: the largest image that is decoded."""


def peak_rss(command: list[str], env: dict[str, str]) -> tuple[int, str]:
    """The peak resident memory (bytes) of ``command``, run as the only child of a fresh
    Python, and its stderr."""
    measure = textwrap.dedent(
        """
        import resource, subprocess, sys
        done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
        print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
        print(done.returncode, done.stderr.strip().replace("\\n", " | "))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", measure, *command],
        capture_output=True,
        text=True,
        env={**os.environ, **env, "OMP_NUM_THREADS": "1"},
        timeout=600,
    )
    peak, outcome = done.stdout.strip().splitlines()
    return int(peak), outcome


def strip_png(path: Path, width: int, height: int) -> Path:
    """An RGB PNG of ``width`` x ``height`` black pixels, written without holding it in memory."""
    chunks = []

    def chunk(kind: bytes, data: bytes) -> None:
        body = kind + data
        chunks.append(len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big"))

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    chunk(b"IHDR", ihdr)
    compressor = zlib.compressobj(9)
    row = bytes(1 + 3 * width)
    rows_per_block = max(1, (1 << 20) // len(row))
    compressed = []
    for start in range(0, height, rows_per_block):
        compressed.append(compressor.compress(row * min(rows_per_block, height - start)))
    compressed.append(compressor.flush())
    chunk(b"IDAT", b"".join(compressed))
    chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"".join(chunks))
    return path


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile-images")
    small = folder / "small.png"
    Image.new("RGBA", (64, 64), (9, 9, 9, 128)).save(small)
    worst = folder / "worst.png"
    Image.new("RGBA", (WORST_SIDE, WORST_SIDE), (9, 9, 9, 128)).save(worst, compress_level=1)
    return {"small": small, "strip": strip_png(folder / "strip.png", 1, 40_000_000), "worst": worst}


@pytest.mark.slow
def test_the_worst_images_decode_within_a_bounded_peak(
    images: dict[str, Path], test_env: dict[str, str]
) -> None:
    def parse_with(image: Path) -> tuple[int, str]:
        return peak_rss([str(SCRIPT), "parse", "a fox", "--image", str(image)], test_env)

    baseline, outcome = parse_with(images["small"])
    assert outcome.split()[0] == "0", outcome
    strip, outcome = parse_with(images["strip"])
    assert outcome.split()[0] == "2" and "longer than 12,000 pixels" in outcome, outcome
    worst, outcome = parse_with(images["worst"])
    assert outcome.split()[0] == "0", outcome
    print(
        f"peak over the baseline: strip {(strip - baseline) / MB:.0f} MB, "
        f"40 MP RGBA {(worst - baseline) / MB:.0f} MB"
    )
    assert strip - baseline < 50 * MB
    # One full-size RGBA copy is 153 MB; shrinking it needs a second (premultiplied alpha).
    # The old decoder made five (764 MB).
    assert worst - baseline < 400 * MB


@pytest.mark.slow
def test_a_prompts_eight_images_cost_what_one_costs(images: dict[str, Path]) -> None:
    decode = textwrap.dedent(
        f"""
        import sys
        from concurrent.futures import ThreadPoolExecutor
        from imagine_bot.engine.images.decode import decode_image
        data = open({str(images["worst"])!r}, "rb").read()
        def one(_):
            return decode_image(data, max_pixels=40_000_000, max_side=1024, name="x").size
        with ThreadPoolExecutor(int(sys.argv[1])) as pool:
            assert set(pool.map(one, range(int(sys.argv[1])))) == {{(1024, 1024)}}
        """
    )
    one, outcome = peak_rss([sys.executable, "-c", decode, "1"], {})
    assert outcome.split()[0] == "0", outcome
    eight, outcome = peak_rss([sys.executable, "-c", decode, "8"], {})
    assert outcome.split()[0] == "0", outcome
    print(f"peak: one image {one / MB:.0f} MB, eight at once {eight / MB:.0f} MB")
    assert eight < one + 100 * MB
