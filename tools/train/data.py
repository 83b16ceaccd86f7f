"""Data pipeline: corpus text -> token stream -> training windows.

Corpus format (tools/train/corpus/build_corpus.sh): one paragraph per line, a blank line between
documents. Each document is tokenized as a whole (paragraphs joined by "\n", so the tokenizer's
".\n"-style merges are seen as at run time) and framed as  <s> doc </s>.  The stream is the
concatenation of all framed documents (in file order).

A training window of length n+1 starts at a paragraph start (a document start or any later
paragraph of a document) and is  [<s>] + stream[p : p+n]:  every sequence begins with <s> like a
prompt does at inference, text runs on across document ends (</s> <s> next document), so the model
learns to emit </s> when a document is finished.
"""
import hashlib
import os

import numpy as np
from tokenizers import Tokenizer

BOS, EOS, PAD, MASK = 1, 2, 0, 3


def read_documents(path):
    docs, cur = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.strip():
                cur.append(line)
            elif cur:
                docs.append(cur)
                cur = []
    if cur:
        docs.append(cur)
    return docs


def tokenize_corpus(text_path, tokenizer_path, cache_dir):
    """Returns (stream int32 [n], starts int64 [m]: paragraph-start offsets into the stream).
    Cached as .npz keyed by the hashes of the text and the tokenizer."""
    h = hashlib.sha256()
    for p in (text_path, tokenizer_path):
        with open(p, "rb") as f:
            h.update(f.read())
    key = h.hexdigest()[:16]
    os.makedirs(cache_dir, exist_ok=True)
    cache = os.path.join(cache_dir, f"{os.path.basename(text_path)}.{key}.npz")
    if os.path.exists(cache):
        z = np.load(cache)
        return z["stream"], z["starts"]
    tok = Tokenizer.from_file(tokenizer_path)
    docs = read_documents(text_path)
    texts = ["\n".join(d) for d in docs]
    encs = tok.encode_batch(texts, add_special_tokens=False)
    stream, starts = [], []
    pos = 0
    for paras, text, enc in zip(docs, texts, encs):
        stream.append(BOS)
        pos += 1
        # char offset of each paragraph start
        pstarts, c = [], 0
        for p in paras:
            pstarts.append(c)
            c += len(p) + 1
        offs = [o[0] for o in enc.offsets]
        j = 0
        for ps in pstarts:
            while j < len(offs) and offs[j] < ps:
                j += 1
            if j < len(offs):
                starts.append(pos + j)
        stream.extend(enc.ids)
        stream.append(EOS)
        pos += len(enc.ids) + 1
    stream = np.asarray(stream, dtype=np.int32)
    starts = np.unique(np.asarray(starts, dtype=np.int64))
    np.savez(cache, stream=stream, starts=starts)
    return stream, starts


class Windows:
    """Random windows [<s>] + stream[p : p+n] with p a paragraph start (seeded numpy Generator)."""

    def __init__(self, stream, starts, n):
        self.stream, self.n = stream, n
        self.starts = starts[starts + n <= len(stream)]

    def sample(self, rng, batch, replace=True):
        """replace=False: distinct paragraph starts (numpy raises ValueError when batch exceeds
        len(self.starts); distill.py checks that first and says so)."""
        p = rng.choice(self.starts, size=batch, replace=replace)
        out = np.empty((batch, self.n + 1), dtype=np.int64)
        out[:, 0] = BOS
        for r, s in enumerate(p):
            out[r, 1:] = self.stream[s:s + self.n]
        return out

    def fixed(self, count, seed=1234):
        """A fixed, evenly spread evaluation set."""
        idx = np.linspace(0, len(self.starts) - 1, count).round().astype(np.int64)
        p = self.starts[idx]
        out = np.empty((count, self.n + 1), dtype=np.int64)
        out[:, 0] = BOS
        for r, s in enumerate(p):
            out[r, 1:] = self.stream[s:s + self.n]
        return out
