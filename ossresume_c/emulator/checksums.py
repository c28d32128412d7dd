"""CRC-64/XZ for the emulator: the project's C implementation, checked once at import.

The emulator shares only the signer and the CRC with the client. While the native
module is missing or not yet trustworthy (a development tree with stub C code),
a slow table-driven fallback keeps the emulator correct, and a warning says so.
"""
from __future__ import annotations

import logging
from typing import Callable, Tuple

log = logging.getLogger("ossresume_c.emulator")

_CHECK_INPUT = b"123456789"
_CHECK_VALUE = 0x995DC9BBDF1939FA
_POLY_REFLECTED = 0xC96C5795D7870F42
_MASK = (1 << 64) - 1


def _reference_table() -> Tuple[int, ...]:
    table = []
    for byte in range(256):
        value = byte
        for _ in range(8):
            value = (value >> 1) ^ _POLY_REFLECTED if value & 1 else value >> 1
        table.append(value)
    return tuple(table)


_TABLE = _reference_table()


def _reference_update(data: bytes, crc: int = 0) -> int:
    value = crc ^ _MASK
    table = _TABLE
    for byte in bytes(data):
        value = table[(value ^ byte) & 0xFF] ^ (value >> 8)
    return value ^ _MASK


def _gf2_times(matrix: list, vector: int) -> int:
    total = 0
    index = 0
    while vector:
        if vector & 1:
            total ^= matrix[index]
        vector >>= 1
        index += 1
    return total


def _gf2_square(matrix: list) -> list:
    return [_gf2_times(matrix, row) for row in matrix]


def _reference_combine(crc_a: int, crc_b: int, len_b: int) -> int:
    """zlib's crc32_combine algorithm, for the 64-bit reflected polynomial."""
    if len_b <= 0:
        return crc_a
    odd = [_POLY_REFLECTED] + [1 << i for i in range(63)]
    even = _gf2_square(odd)
    odd = _gf2_square(even)
    while True:
        even = _gf2_square(odd)
        if len_b & 1:
            crc_a = _gf2_times(even, crc_a)
        len_b >>= 1
        if not len_b:
            break
        odd = _gf2_square(even)
        if len_b & 1:
            crc_a = _gf2_times(odd, crc_a)
        len_b >>= 1
        if not len_b:
            break
    return crc_a ^ crc_b


def _select() -> Tuple[Callable[..., int], Callable[[int, int, int], int], bool]:
    try:
        from ..native import crc64 as native_update
        from ..native import crc64_combine as native_combine
    except Exception:  # noqa: BLE001 - any failure means "not usable"
        native_update = None  # type: ignore[assignment]
        native_combine = None  # type: ignore[assignment]
    if native_update is not None and native_combine is not None:
        try:
            ok = (
                native_update(_CHECK_INPUT) == _CHECK_VALUE
                and native_combine(native_update(b"1234"), native_update(b"56789"), 5) == _CHECK_VALUE
            )
        except Exception:  # noqa: BLE001
            ok = False
        if ok:
            return native_update, native_combine, True
    log.warning("ossresume_c.native CRC-64 unavailable or wrong; using a Python fallback")
    return _fallback_update(), _reference_combine, False


def _fallback_update() -> Callable[..., int]:
    try:
        import crcmod  # type: ignore[import-not-found]

        function = crcmod.mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, xorOut=_MASK, rev=True)
    except Exception:  # noqa: BLE001
        return _reference_update

    def update(data: bytes, crc: int = 0) -> int:
        return int(function(bytes(data), crc))

    return update


crc64, crc64_combine, NATIVE = _select()
