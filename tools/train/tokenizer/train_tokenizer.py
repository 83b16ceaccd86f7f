#!/usr/bin/env python3
"""Train the default model's tokenizer: byte-level BPE, 4096 entries.

Shaped like the released TwoTower / Nemotron-3-Nano tokenizer
(shared/design/CHECKPOINT.md section 7) so the C++ tokenizer runs it unchanged:

  model          BPE, byte-level (GPT-2 byte<->unicode alphabet), no unk token
                 in the model (every byte has a token), ignore_merges=true,
                 no byte_fallback, no dropout
  normalizer     none
  pre_tokenizer  Sequence[Split(Regex=TEKKEN_REGEX, behavior=isolated,
                 invert=false), ByteLevel(add_prefix_space=false,
                 trim_offsets=true, use_regex=false)]
  decoder        ByteLevel
  post_processor TemplateProcessing: single "<s> $A", pair "<s> $A <s> $B"
  specials       0 "<unk>" (also the padding id), 1 "<s>" (BOS),
                 2 "</s>" (EOS), 3 "<mask>" (the diffusion mask token);
                 all special=true, normalized=false

The training text is build-corpus/train.txt from
tools/train/corpus/build_corpus.sh (one paragraph per line, a blank line between
documents). It is fed one document at a time with its newlines, so merges that
span punctuation and line breaks (".\\n", ".\\n\\n") are learnt as the
pre-tokenizer produces them at run time. Training is deterministic for a given
train.txt.

Usage: .venv/bin/python tools/train/tokenizer/train_tokenizer.py
           [--train build-corpus/train.txt] [--heldout build-corpus/heldout.txt]
           [--out models/default/tokenizer.json] [--vocab-size 4096]
"""

import argparse
import json
import os
import re
import sys

os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")

from tokenizers import Tokenizer  # noqa: E402

REPO_TOOLS = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(REPO_TOOLS, "tokenizer"))
from tekken_bpe import TEKKEN_REGEX, train_tekken_bpe  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))

VOCAB_SIZE = 4096
SPECIALS = ["<unk>", "<s>", "</s>", "<mask>"]  # ids 0..3
UNK_ID, BOS_ID, EOS_ID, MASK_ID = 0, 1, 2, 3
PAD_ID = UNK_ID


SAMPLES = [
    "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.",
    "In the beginning, God created the heavens and the earth.",
    "France is a country ",
    "The quick brown fox jumps over the lazy dog.\n\n\"Yes,\" said she -- 42 times in 2024.",
    "Emma Woodhouse, handsome, clever, and rich.",
    "<s>hello <mask> world</s>",
]


def check_regex_against_design():
    """If the design document is reachable, make sure the regex matches it."""
    for path in (os.path.join(REPO, "shared", "design", "CHECKPOINT.md"),
                 os.path.join(REPO, "..", "shared", "design", "CHECKPOINT.md")):
        if os.path.isfile(path):
            text = open(path, encoding="utf-8").read()
            m = re.search(r"The regex R \(Tekken/pixtral\).*?```\n(.*?)\n```", text, re.S)
            if m and m.group(1).strip() != TEKKEN_REGEX:
                raise SystemExit("TEKKEN_REGEX differs from %s" % path)
            return path if m else None
    return None


def documents(path):
    """Yield the documents of a corpus file, each with its trailing newlines."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for doc in text.split("\n\n"):
        if doc.strip():
            yield doc.rstrip("\n") + "\n\n"


def build_tokenizer(train_path, vocab_size):
    tok = train_tekken_bpe(documents(train_path), vocab_size, SPECIALS, BOS_ID)
    if tok.get_vocab_size(with_added_tokens=True) != vocab_size:
        raise SystemExit("vocab size %d != %d" % (tok.get_vocab_size(True), vocab_size))
    return tok


def bytes_per_token(tok, path):
    docs = list(documents(path))
    encs = tok.encode_batch(docs, add_special_tokens=False)
    n_tok = sum(len(e.ids) for e in encs)
    n_bytes = sum(len(d.encode("utf-8")) for d in docs)
    # Round trip: decoding must give the text back exactly.
    bad = sum(tok.decode(e.ids, skip_special_tokens=False) != d for e, d in zip(encs, docs))
    return n_bytes, n_tok, bad


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", default=os.path.join(REPO, "build-corpus", "train.txt"))
    ap.add_argument("--heldout", default=os.path.join(REPO, "build-corpus", "heldout.txt"))
    ap.add_argument("--out", default=os.path.join(REPO, "models", "default", "tokenizer.json"))
    ap.add_argument("--vocab-size", type=int, default=VOCAB_SIZE)
    ap.add_argument("--stats", help="also write the report as JSON here")
    args = ap.parse_args()

    if not os.path.isfile(args.train):
        raise SystemExit("%s missing: run tools/train/corpus/build_corpus.sh first" % args.train)
    checked = check_regex_against_design()
    tok = build_tokenizer(args.train, args.vocab_size)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tok.save(args.out, pretty=True)

    # Reload from disk so the report describes the saved file.
    tok = Tokenizer.from_file(args.out)
    report = {
        "tokenizer": os.path.relpath(args.out, REPO),
        "vocab_size": tok.get_vocab_size(with_added_tokens=True),
        "merges": len(json.load(open(args.out, encoding="utf-8"))["model"]["merges"]),
        "specials": {s: tok.token_to_id(s) for s in SPECIALS},
        "regex_checked_against": checked,
    }
    for name, path in (("train", args.train), ("heldout", args.heldout)):
        if os.path.isfile(path):
            b, t, bad = bytes_per_token(tok, path)
            report[name] = {"bytes": b, "tokens": t, "bytes_per_token": round(b / t, 4),
                            "roundtrip_failures": bad}
    samples = []
    for s in SAMPLES:
        e = tok.encode(s)
        samples.append({"text": s, "ids": e.ids, "tokens": e.tokens,
                        "decoded": tok.decode(e.ids, skip_special_tokens=True)})
    report["samples"] = samples

    print(json.dumps({k: v for k, v in report.items() if k != "samples"}, indent=2))
    for s in samples:
        print("%r\n  ids    %s\n  tokens %s" % (s["text"], s["ids"], s["tokens"]))
    if args.stats:
        with open(args.stats, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2, ensure_ascii=False)
            f.write("\n")
    for name in ("train", "heldout"):
        if report.get(name, {}).get("roundtrip_failures"):
            raise SystemExit("%s: decode(encode(x)) != x for some documents" % name)


if __name__ == "__main__":
    sys.exit(main())
