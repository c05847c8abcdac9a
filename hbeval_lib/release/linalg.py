"""Exact linear algebra over a prime field: is a vector determined by a set of published linear equations?

A reader who sees published cells ``b = A x`` (``A`` a 0/1 incidence matrix of cells over unknown "atoms") can
compute every linear combination ``f·x`` whose coefficient vector ``f`` lies in the row space of ``A``. Whether it
does is decided here with Gaussian elimination modulo the prime ``P = 2**31 - 1`` — integer arithmetic, so the answer
is the same on every machine (no floating-point rank tolerance). A vector in the rational row space is always in the
row space modulo ``P``; the converse can fail only if ``P`` divides one of the few determinants involved, which for
0/1 matrices of the sizes used here (entries of the elimination bounded far below ``P``) does not happen in practice;
:func:`in_rowspace` therefore errs, if ever, on the side of protection (calling a cell determined).
"""

from __future__ import annotations

import numpy as np

P = 2_147_483_647  # the Mersenne prime 2**31 - 1: products of two residues fit in int64


def _inv(a: int) -> int:
    return pow(int(a), P - 2, P)


class RowSpace:
    """The row space of an integer matrix modulo :data:`P`, kept in reduced row-echelon form.

    >>> rs = RowSpace(np.array([[1, 1, 0], [0, 1, 1]]))
    >>> rs.contains(np.array([1, 0, -1])), rs.contains(np.array([1, 0, 0]))
    (True, False)
    """

    def __init__(self, rows: np.ndarray, track: bool = False):
        a = np.mod(np.asarray(rows, dtype=np.int64), P)
        if a.ndim != 2:
            raise ValueError("rows must be a 2-d array")
        m, n = a.shape
        if track:  # carry the identity along: basis = T @ rows, so a combination can be named row by row
            a = np.concatenate([a, np.eye(m, dtype=np.int64)], axis=1)
        pivots: list[int] = []
        r = 0
        for c in range(n):  # pivot only on the matrix columns, never on the tracking identity
            if r >= m:
                break
            nz = np.nonzero(a[r:, c])[0]
            if nz.size == 0:
                continue
            k = r + int(nz[0])
            if k != r:
                a[[r, k]] = a[[k, r]]
            a[r] = (a[r] * _inv(a[r, c])) % P
            col = a[:, c].copy()
            col[r] = 0
            nzr = np.nonzero(col)[0]
            if nzr.size:
                a[nzr] = (a[nzr] - (col[nzr, None] * a[r][None, :]) % P) % P
            pivots.append(c)
            r += 1
        self.basis = a[:r, :n]
        self.transform = a[:r, n:] if track else None
        self.pivots = pivots
        self.n = n

    @property
    def rank(self) -> int:
        return len(self.pivots)

    def reduce(self, v: np.ndarray) -> np.ndarray:
        """``v`` minus its component in the row space (zero exactly when ``v`` is in it)."""
        v = np.mod(np.asarray(v, dtype=np.int64), P)
        for i, c in enumerate(self.pivots):
            if v[c]:
                v = (v - (v[c] * self.basis[i]) % P) % P
        return v

    def contains(self, v: np.ndarray) -> bool:
        """True when ``v`` is a linear combination of the rows (a reader can compute ``v·x``)."""
        return not self.reduce(v).any()

    def combination(self, v: np.ndarray) -> np.ndarray | None:
        """Coefficients (mod P) of the original rows that give ``v``, or ``None`` when ``v`` is not in the row space.

        Needs ``track=True``. Only which coefficients are non-zero is meaningful to callers (the rows a reader uses).
        """
        if self.transform is None:
            raise ValueError("RowSpace(track=True) is needed for combinations")
        v = np.mod(np.asarray(v, dtype=np.int64), P)
        coef = np.zeros(len(self.pivots), dtype=np.int64)
        for i, c in enumerate(self.pivots):
            if v[c]:
                coef[i] = v[c]
                v = (v - (v[c] * self.basis[i]) % P) % P
        if v.any():
            return None
        out = np.zeros(self.transform.shape[1], dtype=np.int64)
        for i in np.nonzero(coef)[0]:
            out = (out + (coef[i] * self.transform[i]) % P) % P
        return out

    def contains_many(self, vs: np.ndarray) -> np.ndarray:
        """:meth:`contains` for each row of ``vs`` (vectorised)."""
        v = np.mod(np.asarray(vs, dtype=np.int64), P)
        if v.ndim == 1:
            v = v[None, :]
        for i, c in enumerate(self.pivots):
            coef = v[:, c].copy()
            nz = np.nonzero(coef)[0]
            if nz.size:
                v[nz] = (v[nz] - (coef[nz, None] * self.basis[i][None, :]) % P) % P
        return ~v.any(axis=1)
