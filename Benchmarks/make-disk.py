#!/usr/bin/env python3
"""Synthetic disk images for the Understudy benchmarks (python3 stdlib only).

Create a disk image:

    make-disk.py OUT SIZE [--seed N] [--mix Z,T,R,D]

SIZE is raw bytes or a number with a binary suffix (64M, 1G, 4G, 512K, 1GiB).
It need not be a multiple of 64 KiB. The image is built from 64 KiB blocks in
short runs (1-8 blocks) of one kind each, chosen by a seeded RNG (the same seed
and size always give byte-identical images):

    zero    ~30%  left as holes (the file is sparse)
    text    ~30%  words from a fixed vocabulary, ~3.4x with zstd -3 per block
    random  ~25%  incompressible
    dup     ~15%  exact copies of earlier non-zero blocks (64 KiB aligned)

Mutate an image in place (no truncation):

    make-disk.py mutate FILE --percent 1 [--seed N]

writes random 4 KiB pages at distinct 4 KiB-aligned random offsets, totalling
PERCENT % of the file size. A one-line summary goes to stderr.
"""

import argparse
import array
import bisect
import itertools
import os
import random
import re
import sys
import time

BLOCK = 64 * 1024
PAGE = 4 * 1024
FLUSH_BYTES = 8 * 1024 * 1024  # write buffered non-zero runs in ~8 MiB pwritev calls
MAX_RUN = 8  # blocks of one kind come in runs of 1..MAX_RUN blocks
KINDS = ("zero", "text", "random", "dup")
DEFAULT_MIX = (30, 30, 25, 15)

_SUFFIX = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text):
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*", text.upper())
    if not m:
        raise argparse.ArgumentTypeError(
            f"bad size {text!r} (use raw bytes or e.g. 64M, 1G, 4G)")
    number, suffix = m.groups()
    if "." in number and not suffix:
        raise argparse.ArgumentTypeError(f"bad size {text!r}: fractional bytes")
    value = int(float(number) * _SUFFIX[suffix]) if "." in number else int(number) * _SUFFIX[suffix]
    return value


def parse_mix(text):
    parts = [p for p in text.split(",") if p.strip()]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or any(v < 0 for v in values) or sum(values) <= 0:
        raise argparse.ArgumentTypeError(
            f"bad mix {text!r}: want four non-negative weights zero,text,random,dup")
    return values


class TextSource:
    """Text-like 64 KiB blocks: 1 KiB slices at random offsets of a text pool.

    The vocabulary and the 16 MiB pool of words are fixed (independent of
    --seed); which slices make up a block comes from the seeded RNG. Words
    follow a Zipf-like distribution, which gives ~3.4x per 64 KiB block with
    zstd -3 (~3.9x when many such blocks are compressed as one stream).
    Building from large slices keeps generation at memcpy speed.
    """

    VOCAB = 1000
    POOL_BYTES = 16 << 20
    SLICE = 1024

    def __init__(self):
        fixed = random.Random(0x5EED)
        consonants, vowels = "bcdfghjklmnprstvwz", "aeiou"

        def word():
            syllables = fixed.choice((1, 1, 2, 2, 2, 3, 3, 4))
            return "".join(
                fixed.choice(consonants) + fixed.choice(vowels)
                + (fixed.choice(consonants) if fixed.random() < 0.4 else "")
                for _ in range(syllables))

        vocab, seen = [], set()
        while len(vocab) < self.VOCAB:
            w = word()
            if w not in seen:
                seen.add(w)
                vocab.append(w)
        # 1024 slots with Zipf(1.0) word frequencies, each word with a fixed
        # separator; repeated 64 times so any 16-bit value indexes it.
        weights = [1.0 / (i + 1) for i in range(len(vocab))]
        total = sum(weights)
        cumulative = list(itertools.accumulate(w / total for w in weights))
        separators = [" "] * 14 + [", ", "\n"]
        slots = [(vocab[min(bisect.bisect_left(cumulative, (i + 0.5) / 1024), len(vocab) - 1)]
                  + fixed.choice(separators)).encode() for i in range(1024)]
        slots *= 64
        picks = array.array("H")
        picks.frombytes(fixed.randbytes(2 * (self.POOL_BYTES // 6)))
        pool = b"".join(map(slots.__getitem__, picks))[: self.POOL_BYTES]
        self.pool = memoryview(pool)
        self.limit = len(pool) - self.SLICE
        self.count = BLOCK // self.SLICE

    def block(self, rng):
        offsets = array.array("I")
        offsets.frombytes(rng.randbytes(offsets.itemsize * self.count))
        pool, limit, size = self.pool, self.limit, self.SLICE
        return b"".join([pool[o % limit: o % limit + size] for o in offsets])


def _pwritev_all(fd, buffers, offset):
    total = sum(map(len, buffers))
    written = os.pwritev(fd, buffers, offset)
    if written != total:  # rare for regular files; finish with plain writes
        data = b"".join(buffers)
        while written < total:
            written += os.pwrite(fd, data[written:], offset + written)


def human(n):
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n} B"


def make_disk(path, size, seed, mix):
    started = time.monotonic()
    rng = random.Random(seed)
    text = TextSource()
    nblocks = (size + BLOCK - 1) // BLOCK
    counts = dict.fromkeys(KINDS, 0)
    nonzero = []            # indices of earlier non-zero blocks (dup sources)
    pending = []            # buffered non-zero blocks not yet written
    pending_first = 0       # block index of pending[0]
    pending_bytes = 0

    # Replace rather than O_TRUNC: truncating a file to zero and rewriting it
    # makes ext4 start writeback on close (auto_da_alloc), which costs time.
    if os.path.isfile(path) and not os.path.islink(path):
        os.unlink(path)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        def flush():
            nonlocal pending, pending_bytes
            if pending:
                _pwritev_all(fd, pending, pending_first * BLOCK)
            pending, pending_bytes = [], 0

        index = 0
        while index < nblocks:
            kind = rng.choices(KINDS, weights=mix)[0]
            run = min(rng.randint(1, MAX_RUN), nblocks - index)
            for _ in range(run):
                this = kind
                if this == "dup" and not nonzero:
                    this = "random"  # nothing to copy yet
                if this == "zero":
                    flush()
                    counts["zero"] += 1
                    index += 1
                    pending_first = index
                    continue
                if this == "text":
                    data = text.block(rng)
                elif this == "random":
                    data = rng.randbytes(BLOCK)
                else:
                    source = nonzero[rng.randrange(len(nonzero))]
                    if source >= pending_first:
                        data = pending[source - pending_first]
                    else:
                        data = os.pread(fd, BLOCK, source * BLOCK)
                counts[this] += 1
                end = (index + 1) * BLOCK
                if end > size:  # short final block
                    data = data[: size - index * BLOCK]
                else:
                    nonzero.append(index)
                if not pending:
                    pending_first = index
                pending.append(data)
                pending_bytes += len(data)
                index += 1
                if pending_bytes >= FLUSH_BYTES:
                    flush()
                    pending_first = index
        flush()
        os.ftruncate(fd, size)  # trailing holes and the exact size
    finally:
        os.close(fd)

    elapsed = time.monotonic() - started
    parts = ", ".join(
        f"{k} {counts[k]} ({100.0 * counts[k] / nblocks if nblocks else 0:.1f}%)" for k in KINDS)
    rate = f"{size / elapsed / (1 << 20):.0f} MiB/s" if elapsed > 0 else "-"
    print(f"make-disk: wrote {path}: {size} bytes ({human(size)}), {nblocks} blocks of 64 KiB: "
          f"{parts}; seed {seed}; {elapsed:.2f} s ({rate})", file=sys.stderr)


def mutate(path, percent, seed):
    started = time.monotonic()
    rng = random.Random(f"understudy-mutate-{seed}")
    fd = os.open(path, os.O_WRONLY)
    try:
        size = os.fstat(fd).st_size
        pages = size // PAGE
        count = min(pages, round(size * percent / 100.0 / PAGE))
        offsets = sorted(rng.sample(range(pages), count))
        blocks_touched = len({o * PAGE // BLOCK for o in offsets})
        for page in offsets:
            os.pwrite(fd, rng.randbytes(PAGE), page * PAGE)
    finally:
        os.close(fd)
    elapsed = time.monotonic() - started
    nblocks = (size + BLOCK - 1) // BLOCK
    touched_pct = 100.0 * blocks_touched / nblocks if nblocks else 0.0
    print(f"make-disk: mutated {path}: {count} scattered 4 KiB writes = {human(count * PAGE)} "
          f"({100.0 * count * PAGE / size if size else 0:.2f}% of {human(size)}), "
          f"touching {blocks_touched} of {nblocks} 64 KiB blocks ({touched_pct:.1f}%); "
          f"seed {seed}; {elapsed:.2f} s", file=sys.stderr)


def main(argv):
    if argv and argv[0] == "mutate":
        p = argparse.ArgumentParser(
            prog="make-disk.py mutate",
            description="Scattered 4 KiB random writes in place (no truncation).")
        p.add_argument("file")
        p.add_argument("--percent", type=float, default=1.0,
                       help="total bytes written as %% of the file size (default 1)")
        p.add_argument("--seed", type=int, default=1)
        a = p.parse_args(argv[1:])
        if not (0 <= a.percent <= 100):
            p.error("--percent must be within 0..100")
        if not os.path.isfile(a.file):
            p.error(f"{a.file}: not a regular file")
        mutate(a.file, a.percent, a.seed)
        return 0

    p = argparse.ArgumentParser(
        prog="make-disk.py",
        description="Write a deterministic synthetic disk image (sparse where zero). "
                    "See also: make-disk.py mutate FILE --percent P [--seed N].")
    p.add_argument("out")
    p.add_argument("size", type=parse_size, help="bytes, or 64M / 1G / 4G ...")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--mix", type=parse_mix, default=DEFAULT_MIX,
                   help="weights of zero,text,random,dup blocks (default 30,30,25,15)")
    a = p.parse_args(argv)
    make_disk(a.out, a.size, a.seed, a.mix)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
