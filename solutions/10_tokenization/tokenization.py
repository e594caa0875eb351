"""Module 10: tokenization, from text to the integer ids a language model reads.

What you build
    Tokenizer           the interface (given): encode(text) -> list of ids, decode(ids) -> text
    CharTokenizer       one id per character, and an unknown token for characters never seen
    count_pairs, merge_pair, choose_merge   the three steps of byte-pair encoding (BPE)
    BPETokenizer        byte-level BPE: learn merges from a corpus, encode with them, decode any ids
    compression_ratio, sequence_lengths     the systems questions

Why it matters
    A model reads numbers, never text. The tokenizer decides which numbers: it fixes the
    vocabulary size (the rows of the embedding table and of the output layer, module 11) and
    the sequence length (attention costs grow with its square, module 12).

    Characters are the simplest choice: 65 ids cover Tiny Shakespeare, but every character is
    one step of the model, and a character never seen in training has no id (it becomes the
    unknown token). Byte-level BPE (GPT-2 and its successors) starts from the 256 bytes of
    UTF-8, so any text in any language round-trips, emoji included, then learns merges: it
    repeatedly replaces the most frequent pair of neighbouring tokens with one new token.

        "aaabdaaabac"  11 tokens     pair counts: (a,a) 4, (a,b) 2, the others 1
        Z = aa:  Z a b d Z a b a c    9 tokens    (a,b) 2 ties (Z,a) 2: the smaller pair wins
        Y = ab:  Z Y d Z Y a c        7 tokens    (Z,Y) 2
        X = ZY:  X d X a c            5 tokens    three merges, vocabulary 256 + 3

    Common words become single tokens, rare ones stay in pieces, and nothing is ever unknown.

Chunks
    Text is first split into chunks (`split_chunks`, given): a run of letters, of digits or of
    other symbols, each with at most one space in front, or a run of whitespace, as GPT-2 does.
    Merges never cross a chunk boundary, so " the" can become one token but "e." never does,
    and training counts each distinct chunk once, weighted by how often it occurs: Tiny
    Shakespeare's 1.1 million characters are 302,000 chunks but only 15,000 distinct ones.

Who uses it later
    11 embeddings   an Embedding has one row per id: vocab_size rows
    13 transformers GPT's output layer predicts one of vocab_size ids
    milestone 4     a character-level GPT on Tiny Shakespeare (CharTokenizer)

The systems angle
    `compression_ratio`: characters per token. Char-level is 1.0 by definition; BPE with 512 ids
    packs about 1.9 characters of Shakespeare into a token, so a model with the same context
    window sees almost twice the text, and attention over the same text costs about 3.7x less
    (its cost grows with the square of the length).
    `sequence_lengths`: how the length of an encoded text shrinks as the vocabulary grows.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

import numpy as np

NUM_BYTES = 256                 # byte-level BPE: ids 0..255 are the bytes themselves
TEXT_ENCODING = "utf-8"         # text <-> bytes
DECODE_ERRORS = "replace"       # bytes that are not valid UTF-8 decode to U+FFFD
UNK_ID = 0                      # CharTokenizer: the id of every character not in the vocabulary
UNK_CHAR = "\ufffd"             # ... and what that id decodes to (U+FFFD, the replacement character)

# GPT-2's pre-split rule, with the `re` module's classes: letters [^\W\d_], digits \d, other
# symbols (punctuation, underscore), each run with at most one leading space; then whitespace.
# Every character matches one of the branches, so the chunks put together are the text itself.
CHUNK_PATTERN = re.compile(r" ?[^\W\d_]+| ?\d+| ?(?:[^\w\s]|_)+|\s+(?!\S)|\s+")


# ---------------------------------------------------------------------- given helpers


def split_chunks(text: str) -> list[str]:
    """Split `text` into the chunks that BPE merges within (given).

    Joining the chunks gives back `text` exactly. A space sticks to the word after it, and a run
    of spaces keeps its last one for the next word:

        >>> split_chunks("Hello, world!  42x")
        ['Hello', ',', ' world', '!', ' ', ' 42', 'x']
    """
    return CHUNK_PATTERN.findall(text)


class Tokenizer:
    """What every tokenizer offers (given): text -> ids with `encode`, ids -> text with `decode`.

    Ids are Python ints in range(vocab_size). Subclasses define `encode`, `decode` and
    `vocab_size`; the two checks below give every tokenizer the same error messages.
    """

    @property
    def vocab_size(self) -> int:
        """How many ids this tokenizer uses: ids are 0 .. vocab_size - 1."""
        raise NotImplementedError(f"{type(self).__name__} must define vocab_size")

    def encode(self, text: str) -> list[int]:
        """The ids of `text`."""
        raise NotImplementedError(f"{type(self).__name__} must define encode(text)")

    def decode(self, ids) -> str:
        """The text of `ids` (a list of ints or a 1-D integer array)."""
        raise NotImplementedError(f"{type(self).__name__} must define decode(ids)")

    def _check_text(self, text, who: str) -> None:
        """Raise TypeError unless `text` is a str (given)."""
        if not isinstance(text, str):
            raise TypeError(f"{who} expects a str; got {type(text).__name__} {text!r:.60}")

    def _check_ids(self, ids, who: str) -> list[int]:
        """`ids` as a list of Python ints, each in range(vocab_size) (given).

        TypeError for something that is not a sequence of integers (a str, a float id, a bool);
        IndexError naming the first id out of range and the vocabulary size.
        """
        if isinstance(ids, (str, bytes)) or not hasattr(ids, "__iter__"):
            raise TypeError(f"{who} expects a sequence of integer token ids; got {type(ids).__name__} {ids!r:.60}")
        size = self.vocab_size
        checked = []
        for position, i in enumerate(ids):
            if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
                raise TypeError(f"{who}: token ids must be integers; got {i!r:.60} ({type(i).__name__}) "
                                f"at position {position}")
            if not 0 <= i < size:
                raise IndexError(f"{who}: token id {i} is out of range for a vocabulary of {size} "
                                 f"(ids 0 to {size - 1})")
            checked.append(int(i))
        return checked


# ---------------------------------------------------------------------- character level


class CharTokenizer(Tokenizer):
    """One id per character. Id UNK_ID (0) is the unknown token; the vocabulary's characters
    have ids 1, 2, ... in their order.

    Attributes (set by `set_vocab`):
        id_to_char   list: id -> character; id_to_char[UNK_ID] is UNK_CHAR, what decode writes
        char_to_id   dict: character -> id, for the vocabulary's characters only

    `CharTokenizer()` knows no character yet (every character encodes to UNK_ID); call
    `build_vocab(corpus)`, or pass `vocab`, a str or a list of single characters.
    """

    def __init__(self, vocab=None):
        self.id_to_char = [UNK_CHAR]
        self.char_to_id = {}
        if vocab is not None:
            self.set_vocab(vocab)

    @property
    def vocab_size(self) -> int:
        """The characters of the vocabulary plus the unknown token."""
        return len(self.id_to_char)

    def set_vocab(self, vocab) -> None:
        """Use the characters of `vocab`, in its order, as ids 1, 2, ...

        TODO: Check `vocab` and fill `id_to_char` and `char_to_id`.

        APPROACH:
            1. `vocab` is a str or a list/tuple of characters; anything else (a set has no
               fixed order, a number is no vocabulary) is a TypeError naming its type.
            2. Each entry must be a str of length exactly 1: a ValueError names the bad entry
               ("'ab' is not a single character"); a non-str entry is a TypeError.
            3. A character listed twice would have two ids: ValueError naming it.
            4. id_to_char starts with UNK_CHAR (id 0), then the characters in order;
               char_to_id maps each character to its id (1 for the first). UNK_CHAR gets no
               entry of its own unless it is one of the characters.
            Replace the old mappings entirely: calling it twice keeps only the second vocab.

        EXAMPLE:
            >>> tok = CharTokenizer("ba")
            >>> tok.id_to_char, tok.char_to_id
            (['\ufffd', 'b', 'a'], {'b': 1, 'a': 2})

        HINTS:
            - enumerate has a `start` argument.
        """
        # BEGIN SOLUTION
        if not isinstance(vocab, (str, list, tuple)):
            raise TypeError(f"CharTokenizer: vocab must be a str or a list of characters; "
                            f"got {type(vocab).__name__}")
        chars = list(vocab)
        for c in chars:
            if not isinstance(c, str):
                raise TypeError(f"CharTokenizer: vocab entries must be characters (str); "
                                f"got {c!r} ({type(c).__name__})")
            if len(c) != 1:
                raise ValueError(f"CharTokenizer: vocab entry {c!r} is not a single character")
        repeated = [c for c, n in Counter(chars).items() if n > 1]
        if repeated:
            raise ValueError(f"CharTokenizer: vocab lists {repeated[0]!r} more than once; "
                             f"each character gets exactly one id")
        self.id_to_char = [UNK_CHAR, *chars]
        self.char_to_id = {c: i for i, c in enumerate(chars, start=UNK_ID + 1)}
        # END SOLUTION

    def build_vocab(self, corpus: str) -> "CharTokenizer":
        """Make the vocabulary the distinct characters of `corpus`, sorted; return self.

        TODO: Find the characters of `corpus`, sort them, and set them as the vocabulary.

        APPROACH:
            1. A corpus that is not a str is a TypeError (`self._check_text` says so); an
               empty one has no characters: ValueError.
            2. Keep each distinct character once and sort them (by code point), so that the
               same corpus gives the same ids on every machine and every run.
            3. Hand them to `set_vocab`, and return `self` so that calls chain.

        EXAMPLE:
            >>> tok = CharTokenizer().build_vocab("hello")
            >>> tok.vocab_size, tok.id_to_char
            (5, ['\ufffd', 'e', 'h', 'l', 'o'])

        HINTS:
            - The order of a set's elements changes from run to run for strings (hash
              randomisation): never take ids from a set without sorting.
        """
        # BEGIN SOLUTION
        self._check_text(corpus, "CharTokenizer.build_vocab")
        if not corpus:
            raise ValueError("CharTokenizer.build_vocab: the corpus is empty; it needs at least one character")
        self.set_vocab(sorted(set(corpus)))
        return self
        # END SOLUTION

    def encode(self, text: str) -> list[int]:
        """The id of each character of `text`; UNK_ID for a character not in the vocabulary.

        TODO: Map each character to its id.

        APPROACH:
            1. Non-str input is a TypeError (`self._check_text`).
            2. One id per character, in order: the length of the result is len(text).
            3. A character missing from `char_to_id` becomes UNK_ID, never an error: a model
               must accept any text a user types.

        EXAMPLE:
            >>> tok = CharTokenizer().build_vocab("hello")
            >>> tok.encode("hole!")
            [2, 4, 3, 1, 0]

        HINTS:
            - dict.get takes a default.
        """
        # BEGIN SOLUTION
        self._check_text(text, "CharTokenizer.encode")
        return [self.char_to_id.get(c, UNK_ID) for c in text]
        # END SOLUTION

    def decode(self, ids) -> str:
        """The text of `ids`: one character per id; UNK_ID gives UNK_CHAR.

        TODO: Check the ids and join their characters.

        APPROACH:
            1. `self._check_ids` turns `ids` (a list or a 1-D integer array) into Python ints
               and raises for anything out of range or not an integer.
            2. Look each id up in `id_to_char` and join the characters into one str.
            For text whose characters are all in the vocabulary, decode(encode(text)) == text;
            an unknown character comes back as UNK_CHAR.

        EXAMPLE:
            >>> tok = CharTokenizer().build_vocab("hello")
            >>> tok.decode([2, 4, 3, 1, 0])
            'hole\ufffd'
            >>> tok.decode([9])
            IndexError: CharTokenizer.decode: token id 9 is out of range for a vocabulary of 5 (ids 0 to 4)
        """
        # BEGIN SOLUTION
        return "".join(self.id_to_char[i] for i in self._check_ids(ids, "CharTokenizer.decode"))
        # END SOLUTION


# ---------------------------------------------------------------------- the steps of BPE


def count_pairs(ids: list, counts: dict | None = None, weight: int = 1) -> dict:
    """Add `weight` to counts[(a, b)] for every pair of neighbouring ids (a, b); return counts.

    TODO: Count the adjacent pairs of `ids` into `counts` (a new dict when None), each `weight`
    times; delete a pair whose count comes to 0.

    APPROACH:
        1. A list of n ids has n - 1 neighbouring pairs: positions (0, 1), (1, 2), ...
        2. Pairs overlap: [7, 7, 7] holds the pair (7, 7) twice.
        3. `weight` is how often this list occurs (a chunk seen 40 times counts 40 per pair),
           and a negative weight takes a list's pairs back out: that is how training keeps
           its counts up to date when a chunk changes. A count that reaches 0 is deleted, so
           `counts` only ever holds pairs that occur.
        4. Update `counts` in place and return it.

    EXAMPLE:
        >>> count_pairs([1, 2, 3, 1, 2])
        {(1, 2): 2, (2, 3): 1, (3, 1): 1}
        >>> count_pairs([7, 7, 7], {(7, 7): 5, (1, 2): 1}, weight=-2)
        {(7, 7): 1, (1, 2): 1}
        >>> count_pairs([1, 2], {(1, 2): 3}, weight=-3)
        {}

    HINTS:
        - zip of a list with itself shifted by one walks the pairs.
        - `counts=None` as the default and a new dict inside: a `{}` default would be shared by
          every call.
    """
    # BEGIN SOLUTION
    counts = {} if counts is None else counts
    for pair in zip(ids, ids[1:]):
        total = counts.get(pair, 0) + weight
        if total:
            counts[pair] = total
        else:
            del counts[pair]
    return counts
    # END SOLUTION


def merge_pair(ids: list, pair: tuple, new_id: int) -> list:
    """A new list in which every occurrence of `pair` in `ids` is replaced by `new_id`.

    TODO: Scan `ids` from left to right, replacing each occurrence of the two ids of `pair`
    (next to each other, in that order) with the single id `new_id`.

    APPROACH:
        1. Walk an index along `ids`. Where the id there and the next one form `pair`, emit
           `new_id` and skip both; otherwise emit the id and move on by one.
        2. Occurrences that overlap are taken left to right: merging (7, 7) in [7, 7, 7]
           gives [new, 7], not [7, new] and not [new, new].
        3. Leave `ids` unchanged and return a new list; the last id has no right neighbour.

    EXAMPLE:
        >>> merge_pair([1, 2, 3, 1, 2], (1, 2), 256)
        [256, 3, 256]
        >>> merge_pair([7, 7, 7, 7, 7], (7, 7), 300)
        [300, 300, 7]

    HINTS:
        - A `while` loop is easier than `for` here: the step is 1 or 2.
    """
    # BEGIN SOLUTION
    merged, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            merged.append(new_id)
            i += 2
        else:
            merged.append(ids[i])
            i += 1
    return merged
    # END SOLUTION


def choose_merge(counts: dict) -> tuple:
    """The pair BPE merges next: the most frequent one; among equally frequent pairs, the
    smallest (by first id, then second id).

    TODO: Return the pair with the highest count, breaking ties by the smallest pair.

    APPROACH:
        1. An empty `counts` leaves nothing to merge: ValueError.
        2. "Highest count first, then smallest pair" is one ordering of the pairs: rank each
           pair by a key that sorts exactly that way and take the extreme.
        3. The tie-break makes training deterministic: it never depends on the order in which
           the pairs happen to sit in the dict.

    EXAMPLE:
        >>> choose_merge({(104, 105): 3, (97, 98): 3, (1, 2): 2})
        (97, 98)
        >>> choose_merge({(5, 9): 4, (5, 3): 4})
        (5, 3)

    HINTS:
        - Python compares tuples element by element, and `min` and `max` take a `key`; a count
          can be negated so that "largest" sorts first.
    """
    # BEGIN SOLUTION
    if not counts:
        raise ValueError("choose_merge: there are no pairs to merge (every chunk is a single token)")
    return min(counts, key=lambda pair: (-counts[pair], pair))
    # END SOLUTION


# ---------------------------------------------------------------------- byte-level BPE


class BPETokenizer(Tokenizer):
    """Byte-level byte-pair encoding, as in GPT-2.

    Ids 0..255 are the bytes of UTF-8, so every str encodes and decode(encode(s)) == s for any s.
    `train` adds one id per merge: 256 is the first merge learned, 257 the second, ...

    Attributes:
        merges   dict (id_a, id_b) -> new id, in the order learned; the new id is also the
                 merge's rank: a smaller id was learned earlier
        vocab    list: id -> the bytes it stands for; vocab[i] == bytes([i]) for i < 256

    `encode` reads only `merges` and `decode` only `vocab`, so a tokenizer is fully described by
    them (the tests build one by hand that way).
    """

    def __init__(self):
        self.merges = {}
        self.vocab = [bytes([b]) for b in range(NUM_BYTES)]

    @property
    def vocab_size(self) -> int:
        """256 byte tokens plus one per merge."""
        return len(self.vocab)

    def train(self, corpus: str, vocab_size: int) -> "BPETokenizer":
        """Learn merges from `corpus` until there are `vocab_size` ids; return self.

        TODO: Starting from bytes, repeatedly merge the pair `choose_merge` picks into a new id,
        updating the pair counts incrementally, until the vocabulary has `vocab_size` ids.

        APPROACH:
            1. Checks: `corpus` a str (`self._check_text`) and not empty (ValueError);
               `vocab_size` an int, not a bool (TypeError); at least NUM_BYTES (ValueError naming
               it and the 256 byte tokens). Start over: no merges, the 256 byte entries.
            2. Split the corpus with `split_chunks` and count each distinct chunk once with its
               frequency (Counter). Each distinct chunk becomes a list of its UTF-8 byte ids.
            3. Count the pairs of every chunk, weighted by its frequency (count_pairs), into one
               dict; beside it keep an index: pair -> the set of chunk numbers it occurs in.
            4. Each merge: pick the pair, give it the next id (len(self.vocab)), record it in
               `merges`, and append its bytes (the two parts' bytes joined) to `vocab`. Then,
               for ONLY the chunks the index lists for that pair: take the chunk's pairs out
               of the counts (negative weight), merge it, put the new chunk's pairs in, and add
               its new pairs to the index. That is the incremental update: no full recount.
            5. Stop at `vocab_size` ids, or earlier when no pair is left (every chunk is one
               token): the vocabulary is then smaller than asked.

                 counts {(a,a): 4, (a,b): 2, ...}     index {(a,a): {0, 3}, ...}
                       merge (a,a) -> Z: only chunks 0 and 3 change and are recounted

        EXAMPLE:
            >>> tok = BPETokenizer().train("aaabdaaabac", 259)
            >>> tok.merges
            {(97, 97): 256, (97, 98): 257, (256, 257): 258}
            >>> tok.vocab[258], tok.vocab_size
            (b'aaab', 259)

        HINTS:
            - Counter(list_of_chunks) gives each distinct chunk and its frequency.
            - The index may keep a chunk under a pair it no longer holds: recounting such a chunk
              takes out and puts back the same pairs, so it is harmless. Never drop a chunk that
              does hold the pair. Iterate over a set you are not changing meanwhile.
            - Tiny Shakespeare to 512 ids takes about a second this way. Recounting every
              distinct chunk before each merge takes ten times longer, and recounting every
              chunk occurrence (no Counter) takes minutes.
        """
        # BEGIN SOLUTION
        self._check_text(corpus, "BPETokenizer.train")
        if isinstance(vocab_size, (bool, np.bool_)) or not isinstance(vocab_size, (int, np.integer)):
            raise TypeError(f"BPETokenizer.train: vocab_size must be an int; got {vocab_size!r} "
                            f"({type(vocab_size).__name__})")
        if vocab_size < NUM_BYTES:
            raise ValueError(f"BPETokenizer.train: vocab_size {vocab_size} is smaller than the {NUM_BYTES} "
                             f"byte tokens every byte-level vocabulary starts with")
        if not corpus:
            raise ValueError("BPETokenizer.train: the corpus is empty; there is nothing to learn merges from")
        self.merges, self.vocab = {}, [bytes([b]) for b in range(NUM_BYTES)]
        chunk_counts = Counter(split_chunks(corpus))
        words = [list(chunk.encode(TEXT_ENCODING)) for chunk in chunk_counts]
        freqs = list(chunk_counts.values())
        pair_counts, where = {}, defaultdict(set)
        for number, (word, freq) in enumerate(zip(words, freqs)):
            count_pairs(word, pair_counts, freq)
            for pair in zip(word, word[1:]):
                where[pair].add(number)
        while len(self.vocab) < vocab_size and pair_counts:
            pair = choose_merge(pair_counts)
            new_id = len(self.vocab)
            self.merges[pair] = new_id
            self.vocab.append(self.vocab[pair[0]] + self.vocab[pair[1]])
            for number in where.pop(pair):
                word, freq = words[number], freqs[number]
                count_pairs(word, pair_counts, -freq)
                word = words[number] = merge_pair(word, pair, new_id)
                count_pairs(word, pair_counts, freq)
                for new_pair in zip(word, word[1:]):
                    where[new_pair].add(number)
        return self
        # END SOLUTION

    def encode_chunk(self, chunk: str) -> list[int]:
        """The ids of one chunk: its UTF-8 bytes, merged with `merges` in the order learned.

        TODO: Start from the chunk's byte ids and apply merges, earliest learned first, until
        no neighbouring pair is a merge.

        APPROACH:
            1. The starting ids are the chunk's UTF-8 bytes (one id per byte, 0..255).
            2. Loop: among the neighbouring pairs present, find the one with the LOWEST rank
               (the smallest new id in `merges`), merge every occurrence of it (merge_pair),
               repeat. Stop when no pair present is in `merges`, or one id is left.
            3. Why rank order: training merged (b, c) before (a, b) in every chunk, so in
               "abc" the tokens must be [a, bc], never [ab, c]. Applying merges in any other
               order (left to right, most recent first) gives a different split than training.

        EXAMPLE:
            >>> tok = BPETokenizer().train("aaabdaaabac", 259)
            >>> tok.encode_chunk("aaabdaaabac")
            [258, 100, 258, 97, 99]
            >>> tok.encode_chunk("é")                      # two bytes in UTF-8, no merge
            [195, 169]

        HINTS:
            - min with a key over the pairs present; pairs not in `merges` must not win (a
              default rank of infinity, or filter them out first).
        """
        # BEGIN SOLUTION
        ids = list(chunk.encode(TEXT_ENCODING))
        while len(ids) > 1:
            present = [pair for pair in zip(ids, ids[1:]) if pair in self.merges]
            if not present:
                break
            pair = min(present, key=self.merges.get)
            ids = merge_pair(ids, pair, self.merges[pair])
        return ids
        # END SOLUTION

    def encode(self, text: str) -> list[int]:
        """The ids of `text`: split into chunks, each chunk encoded, all ids in order.

        TODO: Check `text`, split it, encode each chunk and concatenate the ids.

        APPROACH:
            1. Non-str input is a TypeError (`self._check_text`); "" encodes to [].
            2. Split with `split_chunks` (the rule training used), encode each chunk with
               `encode_chunk`, and concatenate in order.
            3. A long text repeats the same chunks thousands of times (" the", " and"):
               remember each distinct chunk's ids in a dict during the call and encode it once.

        EXAMPLE:
            >>> tok = BPETokenizer().train("aaabdaaabac", 259)
            >>> tok.encode("aaab aaab!")
            [258, 32, 258, 33]
            >>> tok.decode(tok.encode("naïve 🙂"))
            'naïve 🙂'
        """
        # BEGIN SOLUTION
        self._check_text(text, "BPETokenizer.encode")
        known, ids = {}, []
        for chunk in split_chunks(text):
            if chunk not in known:
                known[chunk] = self.encode_chunk(chunk)
            ids.extend(known[chunk])
        return ids
        # END SOLUTION

    def decode(self, ids) -> str:
        """The text of `ids`: their bytes joined, then decoded from UTF-8.

        TODO: Check the ids, join the bytes of each one's vocab entry, decode to a str.

        APPROACH:
            1. `self._check_ids` turns `ids` into Python ints and raises for anything out of
               range (naming the id and the vocabulary size) or not an integer.
            2. Join the bytes of all tokens FIRST, then decode once: a character like "é" is
               two bytes that may sit in two different tokens, and neither decodes alone.
            3. Not every sequence of ids is valid UTF-8 ([195] alone is half of "é"): decode
               with errors=DECODE_ERRORS, so such bytes become U+FFFD instead of raising.

        EXAMPLE:
            >>> tok = BPETokenizer()
            >>> tok.decode([104, 105, 195, 169])
            'hié'
            >>> tok.decode([195])
            '\ufffd'
        """
        # BEGIN SOLUTION
        ids = self._check_ids(ids, "BPETokenizer.decode")
        return b"".join(self.vocab[i] for i in ids).decode(TEXT_ENCODING, errors=DECODE_ERRORS)
        # END SOLUTION


# ---------------------------------------------------------------------- systems questions


def compression_ratio(tokenizer: Tokenizer, text: str) -> float:
    """Characters per token when `tokenizer` encodes `text` (systems question 1).

    TODO: Return len(text) divided by the number of ids `tokenizer.encode(text)` gives.

    APPROACH:
        1. Non-str text is a TypeError; empty text has no ratio: ValueError. A non-empty str
           always encodes to at least one id.
        2. Characters (not bytes) over tokens: a char-level tokenizer scores exactly 1.0 and a
           byte-level tokenizer without merges scores below 1 on accented text.
        3. The larger the ratio, the shorter the sequence a model processes for the same text.

    EXAMPLE:
        >>> compression_ratio(CharTokenizer().build_vocab("hello"), "hello")
        1.0
        >>> compression_ratio(BPETokenizer().train("aaabdaaabac", 259), "aaabdaaabac")
        2.2
    """
    # BEGIN SOLUTION
    if not isinstance(text, str):
        raise TypeError(f"compression_ratio expects a str; got {type(text).__name__}")
    if not text:
        raise ValueError("compression_ratio: the text is empty; characters per token needs at least one character")
    return len(text) / len(tokenizer.encode(text))
    # END SOLUTION


def sequence_lengths(corpus: str, text: str, vocab_sizes) -> list[int]:
    """For each vocabulary size, the number of ids of `text` with BPE trained on `corpus` to that
    size (systems question 2).

    TODO: For each size in `vocab_sizes`, in the order given, train a BPETokenizer on `corpus`
    to that size and record how many ids it encodes `text` into.

    APPROACH:
        1. One result per size, in the same order; `train` rejects bad sizes itself.
        2. With vocab size 256 (no merges) the length is the number of UTF-8 bytes of `text`.
           Each merge can only shorten a text, so on the training corpus itself the lengths
           never grow with the vocabulary size.

    EXAMPLE:
        >>> sequence_lengths("aaabdaaabac", "aaabdaaabac", [256, 257, 259])
        [11, 9, 5]

    HINTS:
        - Optional speed-up: training is greedy, so the first k merges of a tokenizer trained
          to a larger size are exactly those of one trained to 256 + k. One training to the
          largest size, then keeping the first merges of it for each size, gives the same numbers.
    """
    # BEGIN SOLUTION
    return [len(BPETokenizer().train(corpus, size).encode(text)) for size in vocab_sizes]
    # END SOLUTION
