"""Visible tests for module 10 (tokenization). Run them with `make test M=10`.

Expected values are computed here independently: character ids from the sorted characters of
the corpus, BPE merges by `tinytorch.testing.bpe_merges_by_recounting` (it recounts every pair
of every chunk occurrence before each merge: no chunk frequencies, no incremental update) and BPE
ids by `bpe_encode_by_rank` (each merge applied in turn, in the order learned).
"""

import pytest

from tinytorch.testing import bpe_encode_by_rank, bpe_merges_by_recounting
from tinytorch.text.tokenization import (
    UNK_CHAR,
    UNK_ID,
    BPETokenizer,
    CharTokenizer,
    choose_merge,
    compression_ratio,
    count_pairs,
    merge_pair,
    sequence_lengths,
    split_chunks,
)

CLASSIC = "aaabdaaabac"      # the textbook example: merges aa, then ab, then (aa)(ab)
CORPUS = ("the cat sat on the mat. the cat ate the rat; the rat ran at the cat!\n"
          "a café, a naïve cat and a rat: the end of the tale.\n"
          "then the other cats sang together, and rather than hate, they gathered at the theatre.\n") * 3


# ------------------------------------------------------------------------ character level


@pytest.mark.points(3)
def test_char_build_vocab_gives_sorted_unique_characters_ids_from_one():
    text = "hello world"
    tok = CharTokenizer().build_vocab(text)
    chars = sorted(set(text))                       # ' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w'
    expected = [chars.index(c) + 1 for c in text]
    assert tok.vocab_size == len(chars) + 1, (
        f"CharTokenizer().build_vocab({text!r}).vocab_size should be {len(chars) + 1} "
        f"({len(chars)} characters + the unknown token); got {tok.vocab_size}")
    got = tok.encode(text)
    assert got == expected, f"encode({text!r}) after build_vocab({text!r}) should be {expected}; got {got}"
    assert tok.decode(got) == text, f"decode({got}) should give back {text!r}; got {tok.decode(got)!r}"


@pytest.mark.points(2)
def test_char_vocab_argument_keeps_its_order():
    tok = CharTokenizer(["z", "a", "m"])
    assert tok.vocab_size == 4, f"CharTokenizer(['z', 'a', 'm']).vocab_size should be 4; got {tok.vocab_size}"
    got = tok.encode("maz")
    assert got == [3, 2, 1], f"CharTokenizer(['z', 'a', 'm']).encode('maz') should be [3, 2, 1]; got {got}"


@pytest.mark.points(2)
def test_char_unknown_characters_encode_to_unk_id_and_decode_to_unk_char():
    tok = CharTokenizer().build_vocab("abc")
    assert UNK_ID == 0, f"UNK_ID is documented as 0; got {UNK_ID}"
    got = tok.encode("abzc")
    assert got == [1, 2, UNK_ID, 3], f"build_vocab('abc') then encode('abzc') should be [1, 2, 0, 3]; got {got}"
    back = tok.decode(got)
    assert back == "ab" + UNK_CHAR + "c", f"decode({got}) should be {'ab' + UNK_CHAR + 'c'!r}; got {back!r}"


@pytest.mark.points(2)
def test_char_errors_name_the_value():
    tok = CharTokenizer().build_vocab("abcd")
    with pytest.raises(ValueError, match="empty"):
        CharTokenizer().build_vocab("")
    with pytest.raises(TypeError, match="bytes"):
        tok.encode(b"abc")
    with pytest.raises(IndexError, match=r"(?s)\b70\b.*\b5\b"):
        tok.decode([1, 70])
    with pytest.raises(ValueError, match="'a'"):
        CharTokenizer("aba")


# ------------------------------------------------------------------------ the steps of BPE


@pytest.mark.points(2)
def test_count_pairs_counts_overlapping_pairs_with_weight():
    got = count_pairs([1, 2, 3, 1, 2])
    assert got == {(1, 2): 2, (2, 3): 1, (3, 1): 1}, f"count_pairs([1, 2, 3, 1, 2]) gave {got}"
    got = count_pairs([7, 7, 7], weight=5)
    assert got == {(7, 7): 10}, f"count_pairs([7, 7, 7], weight=5) should be {{(7, 7): 10}}; got {got}"
    counts = {(7, 7): 10, (1, 2): 4}
    got = count_pairs([7, 7, 7], counts, weight=-5)
    assert got == {(1, 2): 4}, (
        f"count_pairs([7, 7, 7], {{(7, 7): 10, (1, 2): 4}}, weight=-5) should delete (7, 7) (count 0); got {got}")
    assert got is counts, "count_pairs(ids, counts) should update `counts` in place and return it"


@pytest.mark.points(2)
def test_merge_pair_replaces_left_to_right_without_overlap():
    ids = [1, 2, 3, 1, 2]
    got = merge_pair(ids, (1, 2), 256)
    assert got == [256, 3, 256], f"merge_pair([1, 2, 3, 1, 2], (1, 2), 256) should be [256, 3, 256]; got {got}"
    assert ids == [1, 2, 3, 1, 2], "merge_pair should not change its input list"
    got = merge_pair([7, 7, 7], (7, 7), 300)
    assert got == [300, 7], f"merge_pair([7, 7, 7], (7, 7), 300) should be [300, 7]; got {got}"


@pytest.mark.points(2)
def test_choose_merge_most_frequent_then_smallest_pair():
    got = choose_merge({(1, 2): 2, (104, 105): 3, (97, 98): 3})
    assert got == (97, 98), f"choose_merge({{(1, 2): 2, (104, 105): 3, (97, 98): 3}}) should be (97, 98); got {got}"
    got = choose_merge({(1, 2): 1, (300, 1): 9})
    assert got == (300, 1), f"choose_merge({{(1, 2): 1, (300, 1): 9}}) should be (300, 1); got {got}"


# ------------------------------------------------------------------------ byte-level BPE


@pytest.mark.points(2)
def test_bpe_classic_example_merges_and_encoding():
    tok = BPETokenizer().train(CLASSIC, 259)
    expected = {(97, 97): 256, (97, 98): 257, (256, 257): 258}
    assert tok.merges == expected, f"BPETokenizer().train({CLASSIC!r}, 259).merges should be {expected}; got {tok.merges}"
    got = tok.encode(CLASSIC)
    assert got == [258, 100, 258, 97, 99], f"encode({CLASSIC!r}) should be [258, 100, 258, 97, 99]; got {got}"
    assert tok.vocab[258] == b"aaab", f"vocab[258] should be b'aaab'; got {tok.vocab[258]!r}"


@pytest.mark.points(3)
def test_bpe_merges_match_a_from_scratch_trainer():
    num_merges = 40
    tok = BPETokenizer().train(CORPUS, 256 + num_merges)
    expected = bpe_merges_by_recounting(split_chunks(CORPUS), num_merges)
    got = list(tok.merges)
    assert got == expected, (f"train(CORPUS, {256 + num_merges}): the merges in order differ from a from-scratch "
                             f"trainer's\nexpected {expected}\ngot      {got}")
    ids = list(tok.merges.values())
    assert ids == list(range(256, 256 + num_merges)), f"merge ids should be 256, 257, ... in order; got {ids}"


@pytest.mark.parametrize("text", ["", "hello world", "café naïve Zoë", "emoji 🙂🚀 ok", "日本語\n\ttabs  and  spaces"])
@pytest.mark.points(1)
def test_bpe_round_trips_any_text(text):
    tok = BPETokenizer().train(CORPUS, 300)
    ids = tok.encode(text)
    assert all(isinstance(i, int) and 0 <= i < tok.vocab_size for i in ids), f"encode({text!r}) gave ids {ids}"
    back = tok.decode(ids)
    assert back == text, f"decode(encode({text!r})) should give the text back; got {back!r} (ids {ids})"


@pytest.mark.points(2)
def test_bpe_vocab_size_is_exact_and_training_text_gets_shorter():
    tok = BPETokenizer().train(CORPUS, 300)
    assert tok.vocab_size == 300, f"train(CORPUS, 300).vocab_size should be 300; got {tok.vocab_size}"
    assert len(tok.merges) == 44, f"train(CORPUS, 300) should learn 44 merges; got {len(tok.merges)}"
    got = tok.encode(CORPUS)
    expected = bpe_encode_by_rank(split_chunks(CORPUS), list(tok.merges))
    assert got == expected, f"encode(CORPUS) after train(CORPUS, 300) differs from the merges applied in order"
    assert len(got) < len(CORPUS.encode("utf-8")), "encoding the training text should use fewer tokens than bytes"


@pytest.mark.points(3)
def test_bpe_errors_name_the_value():
    with pytest.raises(ValueError, match=r"(?s)\b255\b.*\b256\b"):
        BPETokenizer().train(CORPUS, 255)
    with pytest.raises(ValueError, match="empty"):
        BPETokenizer().train("", 300)
    with pytest.raises(TypeError, match="int"):
        BPETokenizer().encode(42)
    tok = BPETokenizer().train(CLASSIC, 259)
    with pytest.raises(IndexError, match=r"(?s)\b259\b.*\b259\b"):
        tok.decode([97, 259])


# ------------------------------------------------------------------------ systems questions


@pytest.mark.points(2)
def test_compression_ratio_is_characters_per_token():
    text = "the cat sat"
    char = CharTokenizer().build_vocab(text)
    got = compression_ratio(char, text)
    assert got == pytest.approx(1.0), f"compression_ratio(char-level tokenizer, {text!r}) should be 1.0; got {got}"
    bpe = BPETokenizer().train(CLASSIC, 259)
    got = compression_ratio(bpe, CLASSIC)
    assert got == pytest.approx(11 / 5), f"compression_ratio(BPE to 259 on {CLASSIC!r}, same text) should be 2.2; got {got}"
    with pytest.raises(ValueError, match="empty"):
        compression_ratio(char, "")


@pytest.mark.points(2)
def test_sequence_lengths_per_vocab_size():
    sizes = [259, 256, 257, 258]
    merges = bpe_merges_by_recounting(split_chunks(CLASSIC), 3)
    expected = [len(bpe_encode_by_rank(split_chunks(CLASSIC), merges[:size - 256])) for size in sizes]
    got = sequence_lengths(CLASSIC, CLASSIC, sizes)
    assert got == expected, f"sequence_lengths({CLASSIC!r}, {CLASSIC!r}, {sizes}) should be {expected}; got {got}"
