"""A WAV's RIFF layout read from its header: its format chunk, where its data lies, its INFO tags.

The one reader of WAV headers: `ffmpeg.wav_header_info` (ffprobe's facts of a PCM WAV) and
`pcm_wav` (16-bit PCM cut in Python) each take from it what they can handle and leave the rest
to ffmpeg. It answers None for what neither takes: not RIFF/WAVE, a chunk cut short, no data
chunk among the first MAX_CHUNKS, data before the format chunk or past the end of the file, a
second format chunk, a format chunk too short for its format, a format or INFO chunk over
MAX_READ_CHUNK_BYTES (an upload's header is never read into memory whole).
"""

import struct
from dataclasses import dataclass
from pathlib import Path

WAVE_FORMAT_PCM = 1
WAVE_FORMAT_FLOAT = 3
WAVE_FORMAT_EXTENSIBLE = 0xFFFE
MAX_CHUNKS = 32  # a header is not walked chunk by chunk for ever
MAX_READ_CHUNK_BYTES = 64 * 1024  # a format or INFO chunk read into memory; larger: left to ffmpeg


@dataclass(frozen=True)
class WavFormat:
    format_tag: int  # as written: WAVE_FORMAT_EXTENSIBLE for an extensible WAV
    codec_tag: int  # the format tag; an extensible WAV's is its sub-format's
    channels: int
    sample_rate: int
    block_align: int
    bits_per_sample: int


@dataclass(frozen=True)
class WavLayout:
    format_chunk: WavFormat
    data_offset: int
    data_size: int
    info_lists: tuple[bytes, ...]  # the body of each LIST INFO chunk after "INFO"
    other_chunks: bool  # a chunk besides fmt, fact and LIST INFO comes before the data


def wav_layout(path: Path) -> WavLayout | None:
    try:
        file_size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            format_chunk: WavFormat | None = None
            info_lists: list[bytes] = []
            other_chunks = False
            for _ in range(MAX_CHUNKS):
                chunk_head = handle.read(8)
                if len(chunk_head) < 8:
                    return None
                chunk_id, chunk_size = chunk_head[:4], struct.unpack("<I", chunk_head[4:])[0]
                body_offset = handle.tell()
                if chunk_id == b"data":
                    if format_chunk is None or body_offset + chunk_size > file_size:
                        return None
                    return WavLayout(format_chunk, body_offset, chunk_size, tuple(info_lists), other_chunks)
                if chunk_id in (b"fmt ", b"LIST") and chunk_size > MAX_READ_CHUNK_BYTES:
                    return None
                if chunk_id == b"fmt ":
                    if format_chunk is not None:  # ffmpeg reads the first, a reader of the last would differ
                        return None
                    format_chunk = _wav_format(handle.read(chunk_size))
                    if format_chunk is None:
                        return None
                elif chunk_id == b"LIST" and chunk_size >= 4 and handle.read(4) == b"INFO":
                    info_lists.append(handle.read(chunk_size - 4))
                elif chunk_id != b"fact":
                    other_chunks = True
                handle.seek(body_offset + chunk_size + chunk_size % 2)  # past the end if cut short: the next read fails
    except (OSError, struct.error):
        return None
    return None


def _wav_format(body: bytes) -> WavFormat | None:
    if len(body) < 16:
        return None
    format_tag, channels, sample_rate, _byte_rate, block_align, bits = struct.unpack("<HHIIHH", body[:16])
    codec_tag = format_tag
    if format_tag == WAVE_FORMAT_EXTENSIBLE:
        if len(body) < 40:
            return None
        codec_tag = struct.unpack("<H", body[24:26])[0]
    return WavFormat(format_tag, codec_tag, channels, sample_rate, block_align, bits)
