"""Visible tests for module 14 (KV caching): the cache's storage, cached attention equal to full
attention, and cached greedy generation equal to uncached generation."""

import numpy as np
import pytest

from tinytorch.core.attention import MultiHeadAttention, causal_mask
from tinytorch.core.tensor import Tensor
from tinytorch.generation.kv_cache import (KVCache, attention_flops_per_token, attention_with_cache,
                                           cached_causal_mask, enable_kv_cache, kv_cache_bytes)
from tinytorch.models.transformer import GPT
from tinytorch.testing import assert_close

SEED = 14


def _x(shape, seed=SEED):
    return Tensor(np.random.default_rng(seed).normal(size=shape).astype(np.float32))


@pytest.mark.points(3)
def test_cache_allocates_once_and_starts_empty():
    cache = KVCache(2, 16, num_layers=3, num_heads=4, head_dim=8)
    assert cache.keys.shape == cache.values.shape == (3, 2, 4, 16, 8), "KVCache storage: (layers, B, H, max_seq_len, D)"
    assert cache.lengths == [0, 0, 0]
    keys, values = cache.get(1)
    assert keys.shape == values.shape == (2, 4, 0, 8), "an empty layer gives 0 positions"


@pytest.mark.points(4)
def test_update_then_get_returns_what_was_written_in_order():
    rng = np.random.default_rng(SEED)
    cache = KVCache(1, 10, 2, 2, 3)
    k1, v1 = rng.normal(size=(2, 1, 2, 4, 3)).astype(np.float32)
    k2, v2 = rng.normal(size=(2, 1, 2, 1, 3)).astype(np.float32)
    cache.update(1, k1, v1, seq_pos=0)
    cache.update(1, Tensor(k2), Tensor(v2), seq_pos=4)           # Tensors work too
    keys, values = cache.get(1)
    assert cache.lengths == [0, 5]
    assert_close(keys, np.concatenate([k1, k2], axis=2), what="cache.get(1) keys after two updates")
    assert_close(values, np.concatenate([v1, v2], axis=2), what="cache.get(1) values after two updates")


@pytest.mark.points(3)
def test_writing_past_max_seq_len_is_a_clear_error():
    cache = KVCache(1, 4, 1, 1, 2)
    cache.update(0, np.zeros((1, 1, 3, 2)), np.zeros((1, 1, 3, 2)), seq_pos=0)
    with pytest.raises(ValueError, match="4 positions"):
        cache.update(0, np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 2)), seq_pos=3)


@pytest.mark.points(2)
def test_reset_empties_every_layer():
    cache = KVCache(1, 4, 2, 1, 2)
    for layer in range(2):
        cache.update(layer, np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)), seq_pos=0)
    cache.reset()
    assert cache.lengths == [0, 0]
    cache.update(0, np.ones((1, 1, 1, 2)), np.ones((1, 1, 1, 2)), seq_pos=0)     # writing starts at 0 again


@pytest.mark.points(3)
def test_cached_causal_mask_rows_see_their_past():
    expected = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], dtype=bool)
    got = cached_causal_mask(2, 2)
    assert got.dtype == bool and np.array_equal(got, expected), f"cached_causal_mask(2, 2) should be\n{expected}\ngot\n{got}"
    assert np.array_equal(cached_causal_mask(0, 5), causal_mask(5)), "with start_pos 0 it is module 12's causal_mask"


@pytest.mark.points(6)
def test_attention_with_cache_token_by_token_equals_full_causal_attention():
    mha = MultiHeadAttention(8, 2, rng=np.random.default_rng(SEED))
    x = _x((2, 6, 8))
    full = mha(x, causal_mask(6)).data                                    # (2, 6, 8)
    cache = KVCache(2, 6, 1, 2, 4)
    rows = [attention_with_cache(mha, x[:, :3], cache, 0, 0).data]        # a prompt of 3 ...
    for t in range(3, 6):                                                 # ... then one at a time
        rows.append(attention_with_cache(mha, x[:, t:t + 1], cache, 0, t).data)
    assert_close(np.concatenate(rows, axis=1), full, what="prompt of 3 then 3 single tokens through the cache",
                 rtol=1e-4, atol=1e-5)


@pytest.mark.points(6)
def test_cached_greedy_generation_gives_exactly_the_uncached_tokens():
    model = enable_kv_cache(GPT(vocab_size=11, embed_dim=16, num_layers=2, num_heads=2, max_seq_len=24,
                                rng=np.random.default_rng(SEED)))
    prompt = np.random.default_rng(SEED).integers(0, 11, (2, 5))
    cached = model.generate(prompt, 12, top_k=1, use_cache=True)
    plain = model.generate(prompt, 12, top_k=1, use_cache=False)
    assert cached.shape == (2, 17)
    assert np.array_equal(cached, plain), f"greedy tokens differ with the cache:\n{cached}\nwithout:\n{plain}"


@pytest.mark.points(3)
def test_kv_cache_bytes_counts_keys_and_values():
    assert kv_cache_bytes(1, 4, 4, 32, 128) == 2 * 4 * 4 * 32 * 128 * 4
    assert kv_cache_bytes(8, 12, 12, 64, 1024, dtype=np.float16) == 2 * 8 * 12 * 12 * 64 * 1024 * 2


@pytest.mark.points(3)
def test_the_cache_saves_a_factor_of_the_context_length():
    uncached = attention_flops_per_token(127, 128, 4, cached=False)
    cached = attention_flops_per_token(127, 128, 4, cached=True)
    assert cached == 2 * 4 * (4 * 128 * 128 + 2 * 128 * 128), "one new row: 4 projections + 2 attention matmuls"
    assert uncached == 128 * cached
