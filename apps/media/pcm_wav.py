"""16-bit PCM WAVs summed and cut in Python, sample for sample what ffmpeg writes, without starting it.

- Sum: ffmpeg's `amix=normalize=0:duration=longest:dropout_transition=0` to pcm_s16le: the inputs
  added, the shorter ones padded with silence, each sum clipped to the 16-bit range. No per-sample
  Python loop: each block of samples is widened into 32-bit lanes of one big integer
  (`int.from_bytes`), so a single big-integer addition adds every lane, and the clipping is done
  with masks built by `bytes.translate`.
- Cut: ffmpeg's output-side `-ss S -t D` (its trim filter) to pcm_s16le WAV: the frames from
  round(S × rate) on, round(D × rate) of them (halves rounded up), the source's RIFF INFO tags kept
  (the comment, the title …) except its encoder tag.

Inputs of another kind (other sample sizes, rates or channel counts, compressed or extensible
WAVs, other chunks) are left to ffmpeg: the functions answer False and write nothing.
"""

import struct
import wave
from dataclasses import dataclass
from pathlib import Path

from apps.media.wav_layout import WAVE_FORMAT_PCM, wav_layout

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


_COPY_CHUNK_BYTES = 1 << 20
_ENCODER_TAG = b"ISFT"  # ffmpeg writes its own


@dataclass(frozen=True)
class _PlainPcmWav:
    channels: int
    frame_rate: int
    data_offset: int
    frame_count: int
    info_entries: bytes  # the body of its LIST INFO chunk after "INFO", without the encoder tag

    @property
    def frame_bytes(self) -> int:
        return self.channels * 2


def pcm_wav_cut(*, source: Path, target: Path, start_ms: int | None, duration_ms: int | None) -> bool:
    """Writes the window of `source` that `ffmpeg -ss start -t duration -c:a pcm_s16le` writes (the
    whole audio without a window) to `target` and returns True; False, writing nothing, when the
    source is not a plain 16-bit PCM WAV of one or two channels or the window holds no frame."""
    wav = _plain_pcm_wav(source)
    if wav is None:
        return False
    first = 0 if start_ms is None else _frames_at(start_ms, wav.frame_rate)
    count = wav.frame_count - first if duration_ms is None else _frames_at(duration_ms, wav.frame_rate)
    count = min(count, wav.frame_count - first)
    if count <= 0:
        return False
    data_size = count * wav.frame_bytes
    info = b"LIST" + struct.pack("<I", 4 + len(wav.info_entries)) + b"INFO" + wav.info_entries
    if not wav.info_entries:
        info = b""
    fmt = struct.pack(
        "<4sIHHIIHH", b"fmt ", 16, WAVE_FORMAT_PCM, wav.channels, wav.frame_rate,
        wav.frame_rate * wav.frame_bytes, wav.frame_bytes, 16,
    )  # fmt: skip
    riff_size = 4 + len(fmt) + len(info) + 8 + data_size + data_size % 2
    try:
        with open(source, "rb") as reader, open(target, "wb") as writer:
            writer.write(b"RIFF" + struct.pack("<I", riff_size) + b"WAVE" + fmt + info)
            writer.write(b"data" + struct.pack("<I", data_size))
            reader.seek(wav.data_offset + first * wav.frame_bytes)
            remaining = data_size
            while remaining:
                block = reader.read(min(remaining, _COPY_CHUNK_BYTES))
                if not block:
                    raise OSError(f"{source.name} ended inside its data chunk")
                writer.write(block)
                remaining -= len(block)
    except OSError:  # ffmpeg then tries, and reports what it finds
        target.unlink(missing_ok=True)
        return False
    return True


def _frames_at(milliseconds: int, frame_rate: int) -> int:
    """ffmpeg's av_rescale_q of a time to samples: to the nearest, halves up (times are not negative)."""
    return (milliseconds * frame_rate + 500) // 1000


def _plain_pcm_wav(path: Path) -> _PlainPcmWav | None:
    layout = wav_layout(path)
    if layout is None or layout.other_chunks:
        return None
    fmt = layout.format_chunk
    if fmt.format_tag != WAVE_FORMAT_PCM or fmt.bits_per_sample != 16 or fmt.channels not in (1, 2):
        return None
    if fmt.sample_rate < 1 or fmt.block_align != fmt.channels * 2:
        return None
    return _PlainPcmWav(
        channels=fmt.channels,
        frame_rate=fmt.sample_rate,
        data_offset=layout.data_offset,
        frame_count=layout.data_size // fmt.block_align,
        info_entries=b"".join(_info_entries_without_encoder(entries) for entries in layout.info_lists),
    )


def _info_entries_without_encoder(entries: bytes) -> bytes:
    kept, offset = b"", 0
    while offset + 8 <= len(entries):
        entry_id, entry_size = entries[offset : offset + 4], struct.unpack("<I", entries[offset + 4 : offset + 8])[0]
        end = offset + 8 + entry_size + entry_size % 2
        if entry_id != _ENCODER_TAG:
            kept += entries[offset:end]
        offset = end
    return kept
