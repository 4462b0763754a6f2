"""Summing 16-bit PCM WAVs in Python, sample for sample what ffmpeg's
`amix=normalize=0:duration=longest:dropout_transition=0` writes to pcm_s16le: the inputs added,
the shorter ones padded with silence, each sum clipped to the 16-bit range.

No per-sample Python loop: each block of samples is widened into 32-bit lanes of one big integer
(`int.from_bytes`), so a single big-integer addition adds every lane, and the clipping is done with
masks built by `bytes.translate`. Inputs of another kind (other sample sizes, rates or channel
counts, compressed or extensible WAVs) are left to ffmpeg.
"""

import wave
from pathlib import Path

FRAMES_PER_BLOCK = 1 << 16
_LANE_BYTES = 4
# Each input sample is stored offset by 32768 (0..65535); the lane also carries this bias, so no lane
# ever goes negative, and a sum inside the 16-bit range is exactly the lanes whose bytes 2-3 read 0x0100.
_LANE_BIAS = 1 << 24
_SIGN_FLIP = bytes(value ^ 0x80 for value in range(256))
_ONE_ONLY = bytes(0xFF if value == 1 else 0 for value in range(256))
_ZERO_ONLY = bytes(0xFF if value == 0 else 0 for value in range(256))
_NONZERO_ONLY = bytes(0 if value == 0 else 0xFF for value in range(256))
MAX_INPUTS = 256  # Σ(65535) + bias stays under 2^32 per lane


def pcm_wavs_sum(*, paths: list[Path], target: Path) -> bool:
    """Writes the clipped sum of the WAVs at `paths` to `target` (16-bit PCM WAV) and returns True;
    returns False, writing nothing, when they are not all 16-bit PCM WAVs of one rate and channel count."""
    if not paths or len(paths) > MAX_INPUTS:
        return False
    readers: list[wave.Wave_read] = []
    try:
        for path in paths:
            readers.append(wave.open(str(path), "rb"))
        layouts = {(reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) for reader in readers}
        if len(layouts) != 1 or next(iter(layouts))[1] != 2:
            return False
        channels, _, frame_rate = layouts.pop()
        with wave.open(str(target), "wb") as writer:
            writer.setnchannels(channels)
            writer.setsampwidth(2)
            writer.setframerate(frame_rate)
            while True:
                blocks = [reader.readframes(FRAMES_PER_BLOCK) for reader in readers]
                longest = max(len(block) for block in blocks)
                if longest == 0:
                    break
                writer.writeframesraw(_block_sum([block.ljust(longest, b"\0") for block in blocks]))
    except (wave.Error, EOFError, OSError):  # ffmpeg then tries, and reports what it finds
        target.unlink(missing_ok=True)
        return False
    finally:
        for reader in readers:
            reader.close()
    return True


def _block_sum(blocks: list[bytes]) -> bytes:
    """The clipped sum of equally long little-endian int16 blocks."""
    sample_count = len(blocks[0]) // 2
    total = 0
    for block in blocks:
        lanes = bytearray(sample_count * _LANE_BYTES)
        lanes[0::_LANE_BYTES] = block[0::2]
        lanes[1::_LANE_BYTES] = block[1::2].translate(_SIGN_FLIP)  # signed → offset by 32768
        total += int.from_bytes(lanes, "little")
    # Per lane: Σ(x + 32768) + bias − 32768·(n − 1) = (Σx + 32768) + bias, never negative.
    lane_offset = _LANE_BIAS - 32768 * (len(blocks) - 1)
    total += int.from_bytes(lane_offset.to_bytes(_LANE_BYTES, "little") * sample_count, "little")
    summed = total.to_bytes(sample_count * _LANE_BYTES, "little")
    low, high, third, fourth = (summed[index::_LANE_BYTES] for index in range(_LANE_BYTES))
    # In range: bytes 2-3 are 0x00, 0x01. Below: byte 3 is 0 → −32768. Above: byte 3 is 1, byte 2 not 0 → 32767.
    in_range = _and(fourth.translate(_ONE_ONLY), third.translate(_ZERO_ONLY))
    if in_range != b"\xff" * sample_count:
        above = _and(fourth.translate(_ONE_ONLY), third.translate(_NONZERO_ONLY))
        low = _or(_and(low, in_range), above)
        high = _or(_and(high, in_range), above)
    samples = bytearray(sample_count * 2)
    samples[0::2] = low
    samples[1::2] = high.translate(_SIGN_FLIP)  # offset → signed
    return bytes(samples)


def _and(left: bytes, right: bytes) -> bytes:
    return (int.from_bytes(left, "little") & int.from_bytes(right, "little")).to_bytes(len(left), "little")


def _or(left: bytes, right: bytes) -> bytes:
    return (int.from_bytes(left, "little") | int.from_bytes(right, "little")).to_bytes(len(left), "little")
