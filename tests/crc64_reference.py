"""Slow, obviously-correct CRC-64/XZ in pure Python, for the tests.

Also derives, from the polynomial alone, the constants the carry-less-multiply
paths in csrc/crc64_x86.c and csrc/crc64_arm.c use, so a test can check the
numbers written there.
"""
from __future__ import annotations

POLY = 0x42F0E1EBA9EA3693          # ECMA-182, normal (MSB-first) form, x^64 implied
POLY_REFLECTED = 0xC96C5795D7870F42
MASK64 = (1 << 64) - 1


def reflect(value: int, width: int) -> int:
    out = 0
    for _ in range(width):
        out = (out << 1) | (value & 1)
        value >>= 1
    return out


def crc64(data: bytes, crc: int = 0) -> int:
    """Bit by bit, straight from the definition: reflected, init/xorout all ones."""
    reg = crc ^ MASK64
    for byte in data:
        reg ^= byte
        for _ in range(8):
            reg = (reg >> 1) ^ POLY_REFLECTED if reg & 1 else reg >> 1
    return reg ^ MASK64


_TABLE = [crc64(bytes([b]), MASK64) ^ MASK64 for b in range(256)]  # register after one byte, from 0


def crc64_fast(data: bytes, crc: int = 0) -> int:
    """Byte at a time with a table built from crc64() above: same definition, ~8x faster."""
    reg = crc ^ MASK64
    table = _TABLE
    for byte in data:
        reg = table[(reg ^ byte) & 0xFF] ^ (reg >> 8)
    return reg ^ MASK64


def crc64_combine(crc_a: int, crc_b: int, len_b: int) -> int:
    """By definition of the finished value: crc(A + B) from the two CRCs, the slow way."""
    # Feeding len_b zero bytes after A and removing the all-ones effect of
    # B's init is exactly crc(A) * x^(8 len_b) mod P xor crc(B).
    reg = crc_a
    for _ in range(8 * len_b):
        reg = (reg >> 1) ^ POLY_REFLECTED if reg & 1 else reg >> 1
    return reg ^ crc_b


# ---- GF(2) polynomial arithmetic in the normal (MSB-first) form -------------

P_FULL = (1 << 64) | POLY


def _pmod(a: int, m: int) -> int:
    dm = m.bit_length() - 1
    while a.bit_length() - 1 >= dm:
        a ^= m << (a.bit_length() - 1 - dm)
    return a


def _pdiv(a: int, m: int) -> int:
    dm = m.bit_length() - 1
    q = 0
    while a and a.bit_length() - 1 >= dm:
        shift = a.bit_length() - 1 - dm
        q |= 1 << shift
        a ^= m << shift
    return q


def xpow_mod_reflected(n: int) -> int:
    """x^n mod P as a reflected 64-bit value (bit i is the coefficient of x^(63-i))."""
    return reflect(_pmod(1 << n, P_FULL), 64)


def fold_constants(distance_bits: int) -> tuple[int, int]:
    """(low-qword, high-qword) multipliers that move a 128-bit block distance_bits forward.

    The low 64 bits of a reflected 128-bit lane hold the high-degree half, so
    they need x^(distance+64) mod P; a reflected carry-less product carries one
    extra factor x, hence the -1 in both exponents.
    """
    return xpow_mod_reflected(distance_bits + 63), xpow_mod_reflected(distance_bits - 1)


def barrett_constants() -> tuple[int, int]:
    """(mu, p): reflected floor(x^127 / P) (degree 63) and reflected (P - 1) / x (degree 63)."""
    mu = reflect(_pdiv(1 << 127, P_FULL), 64)
    p = reflect(P_FULL >> 1, 64)
    return mu, p


# ---- a model of the folding algorithm, to check the algebra in Python -------

def _clmul(a: int, b: int) -> int:
    r = 0
    while b:
        if b & 1:
            r ^= a
        a <<= 1
        b >>= 1
    return r


def crc64_folding_model(data: bytes, crc: int = 0) -> int:
    """The 16-byte folding + Barrett scheme of the SIMD paths, with Python integers."""
    if len(data) < 16:
        return crc64(data, crc)
    nblocks = len(data) // 16
    blocks = [int.from_bytes(data[16 * i:16 * i + 16], "little") for i in range(nblocks)]
    acc = blocks[0] ^ (crc ^ MASK64)
    k_lo, k_hi = fold_constants(128)
    for blk in blocks[1:]:
        acc = _clmul(acc & MASK64, k_lo) ^ _clmul(acc >> 64, k_hi) ^ blk
    # 128 -> (acc * x^64) as a 128-bit value, then Barrett to 64 bits.
    y = _clmul(acc & MASK64, xpow_mod_reflected(127)) ^ (acc >> 64)
    mu, p = barrett_constants()
    t = _clmul(y & MASK64, mu) & MASK64
    reg = ((y ^ _clmul(t, p)) >> 64) ^ t
    return crc64(data[16 * nblocks:], reg ^ MASK64)
