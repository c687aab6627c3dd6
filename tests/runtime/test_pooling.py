"""Pooling functions against straightforward per-row loops."""

import numpy as np
import pytest

from edge_embed.lineage.manifest import Pooling
from edge_embed.runtime.pooling import normalize, pool, truncate_dim

RNG = np.random.default_rng(7)
TOKENS = RNG.standard_normal((3, 5, 4)).astype(np.float32)
MASK = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 0, 0, 0, 0]])


def _loop(mode: Pooling) -> np.ndarray:
    rows = []
    for tokens, mask in zip(TOKENS, MASK):
        real = tokens[: int(mask.sum())]
        rows.append(
            {
                Pooling.MEAN: real.mean(axis=0),
                Pooling.CLS: tokens[0],
                Pooling.MAX: real.max(axis=0),
                Pooling.LAST_TOKEN: real[-1],
                Pooling.MEAN_SQRT_LEN: real.sum(axis=0) / np.sqrt(len(real)),
            }[mode]
        )
    return np.stack(rows)


@pytest.mark.parametrize("mode", list(Pooling))
def test_pool_matches_loop_and_ignores_padding(mode):
    got = pool(TOKENS, MASK, mode)
    assert got.dtype == np.float32 and got.shape == (3, 4)
    np.testing.assert_allclose(got, _loop(mode), rtol=1e-6, atol=1e-6)
    # Changing what sits in padded positions must not change the result.
    noisy = TOKENS.copy()
    noisy[MASK == 0] = 1e3
    np.testing.assert_allclose(pool(noisy, MASK, mode), got, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mode", list(Pooling))
def test_a_batch_without_padding_pools_as_the_loop_does(mode):
    full = np.ones_like(MASK)
    expected = {Pooling.MEAN: TOKENS.mean(axis=1), Pooling.MEAN_SQRT_LEN: TOKENS.sum(axis=1) / np.sqrt(5)}
    got = pool(TOKENS, full, mode)
    assert got.dtype == np.float32
    if mode in expected:
        np.testing.assert_allclose(got, expected[mode], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got[:1], pool(TOKENS, MASK, mode)[:1], rtol=1e-6, atol=1e-6)  # row 0 is unpadded


def test_normalize_unit_rows_and_zero_rows_stay_zero():
    x = np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32)
    np.testing.assert_allclose(normalize(x), [[0.6, 0.8], [0.0, 0.0]])


def test_truncate_dim_renormalizes_only_when_asked():
    x = normalize(RNG.standard_normal((4, 8)).astype(np.float32))
    cut = truncate_dim(x, 3, renormalize=True)
    assert cut.shape == (4, 3)
    np.testing.assert_allclose(np.linalg.norm(cut, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(truncate_dim(x, 3, renormalize=False), x[:, :3])
