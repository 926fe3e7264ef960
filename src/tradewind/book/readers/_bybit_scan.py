"""Compiled scanner for Bybit v5 ``orderbook.N`` JSON lines, straight from bytes to arrays.

A general JSON parser builds a Python object per string and then ``float()`` parses each one again;
this scanner walks the bytes once and writes levels into preallocated arrays. Decimal strings are
converted with the exact fast path (an integer mantissa below 2**53 divided by a power of ten up to
10**22 is correctly rounded, so the result equals ``float(text)``); any number outside it (too many
digits, an exponent) is handed back to Python to parse, so the output is always identical to
``float()``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_POW10 = np.array([10.0**k for k in range(23)], dtype=np.float64)
_MAX_EXACT = 2**53

QUOTE = 34  # "
COLON = 58
COMMA = 44
LBRACK = 91
RBRACK = 93
LBRACE = 123
RBRACE = 125
NEWLINE = 10
DOT = 46
MINUS = 45
ZERO = 48

ERR_SYNTAX = -1
ERR_MISSING = -2


@njit(cache=True, inline="always")
def _ws(buf: np.ndarray, i: int, end: int) -> int:
    while i < end and (buf[i] == 32 or buf[i] == 9 or buf[i] == 13):
        i += 1
    return i


@njit(cache=True, inline="always")
def _parse_decimal(buf: np.ndarray, i: int, end: int, pow10: np.ndarray) -> tuple[float, int, bool]:
    # Parse an unquoted decimal starting at i; return (value, index after it, exact).
    neg = False
    if i < end and buf[i] == MINUS:
        neg = True
        i += 1
    mant = 0
    digits = 0
    frac = 0
    seen_dot = False
    ok = True
    start = i
    while i < end:
        c = buf[i]
        if 48 <= c <= 57:
            if mant > 0 or c != ZERO:
                digits += 1
            if digits <= 18:
                mant = mant * 10 + (c - ZERO)
            else:
                ok = False
            if seen_dot:
                frac += 1
        elif c == DOT and not seen_dot:
            seen_dot = True
        else:
            break
        i += 1
    if i == start or (i < end and (buf[i] == 101 or buf[i] == 69)):  # e / E: leave to Python
        ok = False
        while i < end and buf[i] != QUOTE and buf[i] != COMMA and buf[i] != RBRACK:
            i += 1
    if not ok or mant >= _MAX_EXACT or frac > 22:
        return np.nan, i, False
    value = mant / pow10[frac]
    return (-value if neg else value), i, True


@njit(cache=True)
def _skip_value(buf: np.ndarray, i: int, end: int) -> int:
    # Skip a JSON value that is not descended into; objects are entered by the flat key scan.
    c = buf[i]
    if c == QUOTE:
        i += 1
        while i < end and buf[i] != QUOTE:
            if buf[i] == 92:  # backslash escape
                i += 1
            i += 1
        return i + 1
    if c == LBRACK:
        depth = 0
        in_str = False
        while i < end:
            c = buf[i]
            if in_str:
                if c == 92:
                    i += 1
                elif c == QUOTE:
                    in_str = False
            elif c == QUOTE:
                in_str = True
            elif c == LBRACK:
                depth += 1
            elif c == RBRACK:
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        return -1
    if c == LBRACE:
        return i + 1  # step inside: its keys are read by the same scan
    while i < end and buf[i] != COMMA and buf[i] != RBRACE and buf[i] != RBRACK:
        i += 1
    return i


@njit(cache=True)
def _parse_int(buf: np.ndarray, i: int, end: int) -> tuple[int, int]:
    neg = False
    if i < end and buf[i] == QUOTE:
        i += 1
    if i < end and buf[i] == MINUS:
        neg = True
        i += 1
    v = 0
    start = i
    while i < end and 48 <= buf[i] <= 57:
        v = v * 10 + (buf[i] - ZERO)
        i += 1
    if i == start:
        return 0, -1
    if i < end and buf[i] == QUOTE:
        i += 1
    return (-v if neg else v), i


@njit(cache=True)
def scan(
    buf: np.ndarray,
    msg_ts: np.ndarray,
    msg_snapshot: np.ndarray,
    msg_id: np.ndarray,
    msg_seq: np.ndarray,
    msg_start: np.ndarray,
    msg_end: np.ndarray,
    level_side: np.ndarray,
    level_price: np.ndarray,
    level_size: np.ndarray,
    slow: np.ndarray,
    pow10: np.ndarray,
) -> tuple[int, int, int, int]:
    """Decode every line of ``buf``; return (messages, levels, slow numbers, error byte or -1).

    ``slow`` rows are (level index, field 0 price / 1 size, first byte, end byte) of numbers the
    caller must parse with ``float()``.
    """
    n = len(buf)
    m = 0
    lv = 0
    ns = 0
    pos = 0
    while pos < n:
        line_end = pos
        while line_end < n and buf[line_end] != NEWLINE:
            line_end += 1
        i = _ws(buf, pos, line_end)
        if i >= line_end:
            pos = line_end + 1
            continue
        ts = -1
        uid = -1
        seq = -1
        kind = -1
        msg_start[m] = lv
        while i < line_end:
            if buf[i] != QUOTE:
                i += 1
                continue
            k0 = i + 1
            k1 = k0
            while k1 < line_end and buf[k1] != QUOTE:
                k1 += 1
            j = _ws(buf, k1 + 1, line_end)
            if j >= line_end or buf[j] != COLON:
                i = k1 + 1  # a string value met outside a known key: step over it
                continue
            v = _ws(buf, j + 1, line_end)
            if v >= line_end:
                return m, lv, ns, v
            klen = k1 - k0
            c0 = buf[k0]
            if klen == 2 and c0 == 116 and buf[k0 + 1] == 115:  # "ts"
                ts, i = _parse_int(buf, v, line_end)
            elif klen == 1 and c0 == 117:  # "u"
                uid, i = _parse_int(buf, v, line_end)
            elif klen == 3 and c0 == 115 and buf[k0 + 1] == 101 and buf[k0 + 2] == 113:  # "seq"
                seq, i = _parse_int(buf, v, line_end)
            elif klen == 4 and c0 == 116 and buf[k0 + 1] == 121:  # "type"
                if buf[v] != QUOTE:
                    return m, lv, ns, v
                kind = 1 if buf[v + 1] == 115 else 0  # "snapshot" / "delta"
                i = _skip_value(buf, v, line_end)
            elif klen == 1 and c0 in (98, 97):  # "b" / "a"
                side = 0 if c0 == 98 else 1
                if buf[v] != LBRACK:
                    return m, lv, ns, v
                i = _ws(buf, v + 1, line_end)
                while i < line_end and buf[i] != RBRACK:
                    if buf[i] == COMMA:
                        i = _ws(buf, i + 1, line_end)
                        continue
                    if buf[i] != LBRACK:
                        return m, lv, ns, i
                    i = _ws(buf, i + 1, line_end)
                    for field in range(2):
                        if buf[i] != QUOTE:
                            return m, lv, ns, i
                        s0 = i + 1
                        val, i, exact = _parse_decimal(buf, s0, line_end, pow10)
                        if i >= line_end or buf[i] != QUOTE:
                            return m, lv, ns, i
                        if not exact:
                            slow[ns, 0] = lv
                            slow[ns, 1] = field
                            slow[ns, 2] = s0
                            slow[ns, 3] = i
                            ns += 1
                        if field == 0:
                            level_price[lv] = val
                        else:
                            level_size[lv] = val
                        i = _ws(buf, i + 1, line_end)
                        if field == 0:
                            if buf[i] != COMMA:
                                return m, lv, ns, i
                            i = _ws(buf, i + 1, line_end)
                    while i < line_end and buf[i] != RBRACK:  # extra fields, if any
                        i += 1
                    level_side[lv] = side
                    lv += 1
                    i = _ws(buf, i + 1, line_end)
                i += 1
            else:
                i = _skip_value(buf, v, line_end)
            if i < 0:
                return m, lv, ns, pos
        if ts < 0 or uid < 0 or kind < 0:
            return m, lv, ns, pos
        msg_ts[m] = ts
        msg_snapshot[m] = kind == 1
        msg_id[m] = uid
        msg_seq[m] = seq
        msg_end[m] = lv
        m += 1
        pos = line_end + 1
    return m, lv, ns, -1
