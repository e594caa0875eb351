"""Hidden tests for module 14 (KV caching): argument and shape errors, views not copies, layers
kept apart, chunked prefills, the cache protocol inside a GPT, and the systems functions."""

import numpy as np
import pytest

from tinytorch.core.attention import MultiHeadAttention, causal_mask
from tinytorch.core.autograd import no_grad
from tinytorch.core.tensor import Tensor
from tinytorch.generation.kv_cache import (KVCache, attention_flops_per_token, attention_with_cache,
                                           enable_kv_cache, kv_cache_bytes)
from tinytorch.models.transformer import GPT
from tinytorch.testing import assert_close

SEED = 1414


def _gpt(**kw):
    config = dict(vocab_size=13, embed_dim=16, num_layers=3, num_heads=4, max_seq_len=32) | kw
    return GPT(**config, rng=np.random.default_rng(SEED))


@pytest.mark.points(2)
def test_sizes_must_be_positive_ints():
    with pytest.raises(TypeError, match="head_dim"):
        KVCache(1, 8, 1, 1, 2.5)
    with pytest.raises(ValueError, match="max_seq_len"):
        KVCache(1, 0, 1, 1, 2)


@pytest.mark.points(3)
def test_update_refuses_shapes_that_do_not_fit_and_names_them():
    cache = KVCache(2, 8, 1, 2, 4)
    with pytest.raises(ValueError, match=r"\(2, 3, 1, 4\)"):
        cache.update(0, np.zeros((2, 3, 1, 4)), np.zeros((2, 3, 1, 4)), 0)          # 3 heads, not 2
    with pytest.raises(ValueError):
        cache.update(0, np.zeros((2, 2, 1, 4)), np.zeros((2, 2, 2, 4)), 0)          # key and value differ


@pytest.mark.points(3)
def test_writes_must_continue_where_the_layer_ends():
    cache = KVCache(1, 8, 1, 1, 2)
    cache.update(0, np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 2)), 0)
    with pytest.raises(ValueError, match="seq_pos=3"):
        cache.update(0, np.zeros((1, 1, 1, 2)), np.zeros((1, 1, 1, 2)), 3)         # a hole at 2
    with pytest.raises(ValueError, match="seq_pos=1"):
        cache.update(0, np.zeros((1, 1, 1, 2)), np.zeros((1, 1, 1, 2)), 1)         # overwriting the past


@pytest.mark.points(2)
def test_layer_index_out_of_range_is_an_index_error():
    cache = KVCache(1, 8, 2, 1, 2)
    with pytest.raises(IndexError, match="2 layers"):
        cache.get(2)
    with pytest.raises(IndexError):
        cache.update(-1, np.zeros((1, 1, 1, 2)), np.zeros((1, 1, 1, 2)), 0)


@pytest.mark.points(3)
def test_get_returns_views_of_the_storage_not_copies():
    cache = KVCache(1, 8, 1, 1, 2)
    cache.update(0, np.ones((1, 1, 3, 2)), np.ones((1, 1, 3, 2)), 0)
    keys, values = cache.get(0)
    assert np.shares_memory(keys, cache.keys) and np.shares_memory(values, cache.values)


@pytest.mark.points(3)
def test_layers_are_kept_apart():
    cache = KVCache(1, 8, 3, 1, 2)
    cache.update(1, np.full((1, 1, 2, 2), 7.0), np.full((1, 1, 2, 2), 8.0), 0)
    assert cache.lengths == [0, 2, 0]
    assert cache.get(0)[0].shape[2] == 0 and cache.get(2)[1].shape[2] == 0
    assert np.all(cache.get(1)[0] == 7.0) and np.all(cache.get(1)[1] == 8.0)


@pytest.mark.points(5)
def test_chunked_prefill_then_tokens_equals_full_attention_for_a_batch():
    mha = MultiHeadAttention(12, 3, rng=np.random.default_rng(SEED))
    x = Tensor(np.random.default_rng(SEED).normal(size=(3, 7, 12)).astype(np.float32))
    full = mha(x, causal_mask(7)).data
    cache = KVCache(3, 7, 1, 3, 4)
    with no_grad():
        parts = [attention_with_cache(mha, x[:, 0:2], cache, 0, 0).data,
                 attention_with_cache(mha, x[:, 2:5], cache, 0, 2).data,
                 attention_with_cache(mha, x[:, 5:6], cache, 0, 5).data,
                 attention_with_cache(mha, x[:, 6:7], cache, 0, 6).data]
    assert_close(np.concatenate(parts, axis=1), full, what="chunks of 2, 3, 1, 1 through the cache", rtol=1e-4,
                 atol=1e-5)


@pytest.mark.points(4)
def test_a_cache_passed_to_generate_is_used_and_filled():
    model = _gpt()
    prompt = np.random.default_rng(SEED).integers(0, 13, (2, 4))
    cache = KVCache.for_model(model, 2, 4 + 9)
    cached = model.generate(prompt, 9, top_k=1, use_cache=True, cache=cache)
    assert np.array_equal(cached, model.generate(prompt, 9, top_k=1, use_cache=False))
    assert cache.lengths == [12] * 3, "the prompt and 8 new tokens went through the cache (the 9th is only sampled)"


@pytest.mark.points(3)
def test_for_model_sizes_the_cache_from_the_gpt():
    cache = KVCache.for_model(_gpt(), batch_size=5, total_len=20)
    assert (cache.batch_size, cache.max_seq_len, cache.num_layers, cache.num_heads, cache.head_dim) == (5, 20, 3, 4, 4)


@pytest.mark.points(3)
def test_enable_kv_cache_is_explicit_and_per_model():
    plain, cached = _gpt(), enable_kv_cache(_gpt())
    assert cached.cache_factory is not None and plain.cache_factory is None
    prompt = np.zeros((1, 3), dtype=np.int64)
    assert np.array_equal(plain.generate(prompt, 6, top_k=1), cached.generate(prompt, 6, top_k=1))


@pytest.mark.points(4)
def test_generating_twice_gives_the_same_tokens_each_call_gets_a_fresh_cache():
    model = enable_kv_cache(_gpt())
    prompt = np.random.default_rng(SEED + 1).integers(0, 13, (1, 6))
    first = model.generate(prompt, 10, top_k=1)
    assert np.array_equal(first, model.generate(prompt, 10, top_k=1))


@pytest.mark.points(3)
def test_seeded_sampling_with_and_without_the_cache_agrees_on_a_float64_model():
    model = enable_kv_cache(_gpt())
    for p in model.parameters():
        p.data = p.data.astype(np.float64)
    prompt = np.random.default_rng(SEED + 2).integers(0, 13, (2, 3))
    a = model.generate(prompt, 10, temperature=0.8, seed=7, use_cache=True)
    b = model.generate(prompt, 10, temperature=0.8, seed=7, use_cache=False)
    assert np.array_equal(a, b)


@pytest.mark.points(3)
def test_cache_nbytes_is_kv_cache_bytes_of_its_size():
    cache = KVCache(3, 10, 2, 4, 5)
    assert cache.nbytes == kv_cache_bytes(3, 2, 4, 5, 10)
    assert kv_cache_bytes(1, 1, 1, 1, 1, dtype=np.float64) == 16


@pytest.mark.points(3)
def test_attention_flops_per_token_ratio_is_the_number_of_positions():
    for position in (0, 5, 63):
        ratio = attention_flops_per_token(position, 64, 2, cached=False) / attention_flops_per_token(position, 64, 2, cached=True)
        assert ratio == position + 1
    assert attention_flops_per_token(0, 8, 1, cached=True) == 2 * (4 * 64 + 2 * 8)


@pytest.mark.points(3)
def test_cached_attention_past_the_cache_is_refused_clearly():
    mha = MultiHeadAttention(8, 2, rng=np.random.default_rng(SEED))
    cache = KVCache(1, 4, 1, 2, 4)
    x = Tensor(np.random.default_rng(SEED).normal(size=(1, 5, 8)).astype(np.float32))
    with no_grad():
        attention_with_cache(mha, x[:, :3], cache, 0, 0)
        with pytest.raises(ValueError, match="4 positions"):
            attention_with_cache(mha, x[:, 3:5], cache, 0, 3)
