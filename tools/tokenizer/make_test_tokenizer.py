#!/usr/bin/env python3
"""Build the tiny test tokenizer and its HF reference vectors.

Writes, under tests/data/tokenizer/ (or --out):
  tokenizer.json        byte-level BPE, vocab 1024 incl. specials, shaped like
                        the Nemotron-3-Nano / Tekken tokenizer (CHECKPOINT.md §7)
  vectors.json          HF encode/decode results for a varied set of strings
  tokenizer_flags.json  the same tokenizer plus extra added tokens that exercise
                        lstrip / rstrip / single_word / non-special handling
  vectors_flags.json    HF results for tokenizer_flags.json
  tokenizer_gpt2.json   the same vocab with a GPT-2 style pipeline (ByteLevel regex
                        pre-tokenizer with prefix space, "a b" merges, no ignore_merges)
  vectors_gpt2.json     HF results for tokenizer_gpt2.json

The oracle is HF `tokenizers`; the C++ test (tests/model/tokenizer_test.cpp)
must reproduce every vector. Training is deterministic for a given corpus: the
corpus is every file in /usr/share/common-licenses (sorted), CPython's LICENSE
when found, and the fixed non-ASCII lines below. The outputs are committed, so
re-running on a machine with different license files changes them; that is
fine as long as vectors.json is regenerated together with tokenizer.json.

With --unicode-table model/tokenizer_unicode.cpp it instead regenerates the C++
table of code points that HF's regex engine (Oniguruma, newer Unicode data)
puts in each general category beyond Unicode 14.0 (PCRE2 10.42's tables); the
C++ tokenizer adds them to every \p{..} so newly assigned characters split as
in HF. Re-run it when upgrading `tokenizers` or PCRE2.

Usage: .venv/bin/python tools/tokenizer/make_test_tokenizer.py [--out DIR]
       .venv/bin/python tools/tokenizer/make_test_tokenizer.py --unicode-table model/tokenizer_unicode.cpp
"""

import argparse
import glob
import json
import os
import sys
import sysconfig

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers  # noqa: E402,F401

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tekken_bpe import TEKKEN_REGEX, train_tekken_bpe  # noqa: E402

VOCAB_SIZE = 1024
SPECIALS = ["<unk>", "<s>", "</s>", "[INST]"]  # ids 0..3; id 3 doubles as the diffusion mask


NON_ASCII_LINES = [
    "Le cœur déçu mais l'âme plutôt naïve, Louÿs rêva de crapaüter en canoë au delà des îles.",
    "Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich.",
    "El pingüino Wenceslao hizo kilómetros bajo exhaustiva lluvia y frío, añoraba a su querido cachorro.",
    "Pchnąć w tę łódź jeża lub ośm skrzyń fig. Příliš žluťoučký kůň úpěl ďábelské ódy.",
    "Съешь же ещё этих мягких французских булок, да выпей чаю. Широкая электрификация южных губерний.",
    "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία. Τάχιστη αλώπηξ βαφής ψημένη γη.",
    "いろはにほへと ちりぬるを わかよたれそ つねならむ。東京は日本の首都です。",
    "我能吞下玻璃而不伤身体。北京是中国的首都，人口超过两千万。",
    "다람쥐 헌 쳇바퀴에 타고파. 서울은 대한민국의 수도입니다.",
    "أبجد هوز حطي كلمن سعفص قرشت. שלום עולם, מה שלומך?",
    "नमस्ते दुनिया। ยินดีต้อนรับ สวัสดีครับ",
    "Emoji: 😀 😂 🎉 👍🏽 ❤️ 🇫🇷 👨‍👩‍👧‍👦 🚀✨ — fin.",
    "Digits: 0123456789 3.14159 2,718,281 1e-9 0xDEADBEEF 2024-06-01 12:34:56 +1 (555) 010-9999",
    "Prices: €12,50 £7.99 ¥1000 $3.50 ₹250 — 100% sure; ½ ¾ ² ³ Ⅻ ①",
    "Paths: /usr/local/bin //server/share C:\\Windows\\System32 https://example.com/a/b?c=d&e=f#g",
    "Tabs\tand  multiple   spaces\t\there.\r\nWindows line\r\n\r\nends.",
    "Ünïcödé façade, résumé, jalapeño, smörgåsbord, crème brûlée, Åland, Øresund.",
]


def corpus_lines():
    files = sorted(glob.glob("/usr/share/common-licenses/*"))
    stdlib = sysconfig.get_paths().get("stdlib", "")
    for cand in (os.path.join(stdlib, "LICENSE.txt"), os.path.join(stdlib, "..", "..", "LICENSE")):
        if os.path.isfile(cand):
            files.append(cand)
            break
    lines = []
    for path in files:
        if os.path.isdir(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            lines.extend(f.read().splitlines(keepends=True))
    # Non-ASCII lines repeated so their characters earn merges too.
    for _ in range(20):
        lines.extend(line + "\n" for line in NON_ASCII_LINES)
    return lines


def build_tokenizer():
    tok = train_tekken_bpe(corpus_lines(), VOCAB_SIZE, SPECIALS)
    assert tok.get_vocab_size(with_added_tokens=True) == VOCAB_SIZE, tok.get_vocab_size(True)
    return tok


def test_strings():
    long_par = (
        "The quick brown fox jumps over the lazy dog. " * 3
        + "Permission is hereby granted, free of charge, to any person obtaining a copy of this "
        "software and associated documentation files (the \"Software\"), to deal in the Software "
        "without restriction, including without limitation the rights to use, copy, modify, merge, "
        "publish, distribute, sublicense, and/or sell copies of the Software.\n\n"
        "THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED. "
        "Über 1234567 Menschen — 東京 — Москва 😀.\r\n"
    )
    return [
        "",
        " ",
        "  ",
        "\n",
        "\r\n",
        "\r\n\r\n",
        "\t",
        "Hello world",
        "Hello, world!",
        "France is a country ",
        "France is a country",
        "The capital of France is Paris.",
        " leading space",
        "   leading spaces",
        "trailing spaces   ",
        "  both ends  ",
        "multiple    spaces   between  words",
        "tabs\tbetween\t\twords\t",
        "mixed \t \n whitespace \n\n  end",
        "line one\nline two\n\nline four\n",
        "CRLF line\r\nnext line\r\n\r\nafter blank\r\n",
        "lone\rcarriage\rreturns",
        "GNU GENERAL PUBLIC LICENSE Version 3, 29 June 2007",
        "Copyright (C) 2007 Free Software Foundation, Inc. <https://fsf.org/>",
        "0",
        "42",
        "1234567890",
        "31415926535897932384626433832795028841971693993751",
        "3.14 and 2,718 and -7 and 1e10",
        "version 2.0.1-rc3 released 2024-06-01",
        "/",
        "//",
        "////////",
        "a/b/c//d///e",
        "/usr/share/common-licenses/GPL-3",
        "https://www.apache.org/licenses/LICENSE-2.0",
        "...!!!???;;;:::",
        "\"quoted\" 'single' `back` (parens) [brackets] {braces}",
        "a+b=c; x*y/z - w % 2 == 0 && !flag || ~mask ^ bits",
        "#include <stdio.h>\nint main() { return 0; }\n",
        "    def f(x):\n        return x * 2\n",
        "東京は日本の首都です。",
        "我能吞下玻璃而不伤身体。",
        "다람쥐 헌 쳇바퀴에 타고파",
        "Съешь же ещё этих мягких французских булок",
        "Le cœur déçu mais l'âme plutôt naïve",
        "Zwölf Boxkämpfer jagen Viktor",
        "naïve café résumé",
        "Ελληνικά κείμενα",
        "مرحبا بالعالم",
        "😀",
        "😀😂🎉",
        "Party 🎉 time 👍🏽 family 👨‍👩‍👧‍👦 flag 🇫🇷",
        "e\u0301 combining accent and A\u030a ring",
        "\u00a0non-breaking\u00a0space\u2003em\u2009thin",
        "zero\u200bwidth\u200djoiner",
        "ǅemal Titlecase ǈ ǋ",
        "MixedCASE camelCase PascalCase snake_case SCREAMING_CASE",
        "ÀÉÎÕÜ UPPER àéîõü lower",
        "<s>",
        "</s>",
        "[INST]",
        "<unk>",
        "<s>hello</s>",
        "<s> hello </s>",
        "word<s>word",
        "abc[INST]def",
        "[INST] What is 2+2? [/INST]",
        "pre<unk>post and <unk> alone",
        "<s><s></s></s>",
        "<s[INST]>",
        "</s </s>>",
        "< s > [ INST ]",
        "Text with [INST] mask [INST][INST] tokens",
        "\x00\x01\x1f control bytes \x7f",
        "\ufeffBOM at start",
        "Ωmega ∑ ∞ ≠ ≤ ≥ √ ∫ → ← ↑ ↓",
        "odd spaces:\u0085nel\u180emvs\u2028ls\u2029ps\u3000ideo\u202fnnbsp\u205fmmsp\u1680ogham\u000bvt\u000cff\u001cfs end",
        "a\u180e b\u0085 c \u180e\u180e d\u3000\u3000e \u2028\n",
        "Ⅻ ½ ² ١٢٣ ๑๒๓ 𝟘𝟙",
        # U+180E is \s for PCRE2 but not for Oniguruma (HF); these split differently if mishandled.
        "00\x85\x85  \u180e\u205f\u2029\u1680Y",
        "\r\n\u180e0123",
        "a  \u180e b \u180e\u180e  c\n\u180e",
        # Characters assigned after Unicode 14 (PCRE2 10.42's tables): letters, digits, marks.
        "new \U00031350\U00031351 ext-H \U0002ebf0 ext-I \u1c89\u1c8a \ua7cb\ua7cd Garay \U00010d4a\U00010d40\U00010d41",
        "Tulu \U00011380\U00011381\U000113b8 Kawi \U00011f02\U00011f04 \U00011f50\U00011f51 marks a\u0897b \u0cf3",
        "x" + " " * 3000 + "y",
        "a" * 4000,
        "東" * 2000,
        "/" * 3000 + "\r\n" * 500,
        "9" * 2000,
        "Hello world. " * 300,
        long_par,
        long_par * 4,
    ] + random_strings(40, seed=7)


def random_strings(n, seed):
    """Seeded random mixtures of the character classes the regexes care about."""
    import random

    rng = random.Random(seed)
    pools = [
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "0123456789",
        " ",
        "  \t\n\r\x0b\x0c",
        "\r\n",
        "/\\|-_.,;:!?'\"()[]{}<>@#$%^&*+=~`",
        "'s 't 're 've 'm 'll 'd",
        "\u0085\u00a0\u1680\u180e\u2000\u2003\u2009\u200a\u200b\u200c\u200d\u2028\u2029\u202f\u205f\u3000\ufeff\u00ad",
        "éèêëàâäôöûüçñßøåæœÉÀÇÑØÅÆŒǅǈǋ",
        "ЖжЩщЁёЇїΔδΩωΣσς",
        "東京日本語中文漢字한국어ひらがなカタカナ",
        "\u0301\u0308\u0327\u20dd\u0903\u093f\u0e31\u0e49",
        "١٢٣٤٥६७८๑๒๓²³¹¼½¾ⅠⅡⅫ①②𝟘𝟙",
        "😀😂🎉👍🏽❤️🇫🇷👨\u200d👩\u200d👧\u200d👦🚀✨",
        "ʰʲˈˌːˑ々〻ー",
        "\U0001d400\U0001d41a\U00010400\U00010428\U0002a6d6\U00031350\u1c89",
        "<s></s>[INST]<unk>",
        "\x00\x01\x1f\x7f\x80\x9f",
    ]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.choice([2, 5, 10, 30])):
            pool = rng.choice(pools)
            parts.append(pool if rng.random() < 0.3 else "".join(rng.choice(pool) for _ in range(rng.randint(1, 4))))
        out.append("".join(parts))
    return out


def flags_tokenizer(base_json):
    """Base tokenizer + added tokens with lstrip/rstrip/single_word/non-special flags.

    Added after training, so they take ids 1024..; vocab_size becomes 1024 + n.
    """
    tok = Tokenizer.from_str(base_json)
    tok.add_special_tokens([
        AddedToken("<|im_start|>", special=True, normalized=False),
        AddedToken("<|im_end|>", special=True, normalized=False, rstrip=True),
        AddedToken("<mask>", special=True, normalized=False, lstrip=True),
    ])
    tok.add_tokens([
        AddedToken("foo", special=False, normalized=False, single_word=True),
        AddedToken("foobar", special=False, normalized=False),
        AddedToken("<tool>", special=False, normalized=False, lstrip=True, rstrip=True),
        AddedToken("ab", special=False, normalized=False, single_word=True, lstrip=True),
        AddedToken("oba", special=False, normalized=False),
        AddedToken("<|ü|>", special=False, normalized=False),  # ByteLevel-decodes to invalid UTF-8
        AddedToken("<|東|>", special=False, normalized=False),  # not in the byte map: raw bytes
        AddedToken("zq", special=False, normalized=True),  # matched only after non-normalized ones
        AddedToken("qj", special=False, normalized=False),
    ])
    return tok


def flags_strings():
    return [
        "",
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
        "<|im_end|>   next",
        "a <mask> b",
        "a     <mask>b",
        "\n\n<mask>\n\n",
        "foo",
        "foo bar",
        "food",
        "afoo",
        "a foo b",
        "foo.",
        "(foo)",
        "éfooé",
        "foobar",
        "foobarfoo",
        "x foobar y",
        "a  <tool>  b",
        "a<tool>b",
        " <tool> ",
        "ab",
        " ab",
        "   ab cd",
        "xab",
        "abab",
        "ab ab ab",
        "<s>foo</s>",
        "<|im_start|><|im_end|><mask>",
        "<|im_start|",
        "[INST]foo[INST]",
        "xfoobaz",
        "oba foobar",
        "a<|ü|>b<|東|>c",
        "zqj",
        "zq zq",
        "xzqy",
        # single_word uses Rust's \w: combining marks, '_' and U+200D are word characters, '²' is not.
        "foo\u00b2",
        "\u00b2foo",
        "\u200dfoo",
        "a\u0301foo",
        "_foo",
        "foo\u0663",
        "\u2164foo",
        "foo\u180e",
    ]


def gpt2_style_json(base_json):
    """Base vocab/merges with a GPT-2 style pipeline: ByteLevel(add_prefix_space, use_regex)
    pre-tokenizer, merges stored as legacy "a b" strings, ignore_merges off, ByteLevel
    post-processor, ByteLevel decoder."""
    cfg = json.loads(base_json)
    cfg["pre_tokenizer"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    cfg["post_processor"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True}
    cfg["model"]["ignore_merges"] = False
    cfg["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m for m in cfg["model"]["merges"]]
    return json.dumps(cfg, ensure_ascii=False, indent=2)


def decode_vectors(tok, seed=1234):
    """decode() of arbitrary id lists: every single id (incl. one past the end, which HF
    silently drops) and seeded random sequences that split multi-byte characters."""
    import random

    rng = random.Random(seed)
    n = tok.get_vocab_size(with_added_tokens=True)
    seqs = [[i] for i in range(n + 1)]
    for _ in range(200):
        seqs.append([rng.randrange(n) for _ in range(rng.randint(1, 12))])
    return [
        {"ids": ids, "skip": tok.decode(ids, skip_special_tokens=True), "keep": tok.decode(ids, skip_special_tokens=False)}
        for ids in seqs
    ]


def vectors_for(tok, strings):
    vecs = []
    for s in strings:
        ids_sp = tok.encode(s, add_special_tokens=True).ids
        ids_nosp = tok.encode(s, add_special_tokens=False).ids
        vecs.append(
            {
                "text": s,
                "ids": ids_sp,
                "ids_no_special": ids_nosp,
                "decode_skip": tok.decode(ids_sp, skip_special_tokens=True),
                "decode_keep": tok.decode(ids_sp, skip_special_tokens=False),
            }
        )
    return vecs


def write_json(path, obj):
    """One line per list element, so the file stays small and diffs stay readable."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("{\n")
        items = list(obj.items())
        for k, (key, val) in enumerate(items):
            f.write(f" {json.dumps(key)}: ")
            if isinstance(val, list):
                f.write("[\n")
                f.write(",\n".join("  " + json.dumps(e, ensure_ascii=False) for e in val))
                f.write("\n ]")
            else:
                f.write(json.dumps(val, ensure_ascii=False))
            f.write(",\n" if k + 1 < len(items) else "\n")
        f.write("}\n")


def unicode_extras():
    """Code points HF's regex engine (Oniguruma, newer Unicode data) puts in each
    general category but Python 3.11's unicodedata / PCRE2 10.42 (both Unicode
    14.0) do not. The C++ tokenizer adds these ranges to every \\p{..} it compiles."""
    import unicodedata

    from tokenizers import Regex as HfRegex

    cps = [cp for cp in range(1, 0x110000) if not (0xD800 <= cp < 0xE000)]
    text = "".join(map(chr, cps))
    every = set(cps)
    cat_of = {cp: unicodedata.category(chr(cp)) for cp in cps}
    cats = sorted(set(cat_of.values()) | {c[0] for c in cat_of.values()})
    table = {}
    for cat in cats:
        res = pre_tokenizers.Split(HfRegex(r"\p{%s}" % cat), behavior="removed").pre_tokenize_str(text)
        hf = every - {ord(c) for piece, _ in res for c in piece}
        mine = {cp for cp in cps if cat_of[cp].startswith(cat)}
        if mine - hf:
            print(f"warning: \\p{{{cat}}}: {len(mine - hf)} code points left the category", file=sys.stderr)
        extra = sorted(hf - mine)
        ranges = []
        for cp in extra:
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1][1] = cp
            else:
                ranges.append([cp, cp])
        if ranges:
            table[cat] = ranges
    # Binary property Alphabetic (for \\w): its new members are the code points
    # unassigned in Unicode 14 that Oniguruma calls Alphabetic.
    res = pre_tokenizers.Split(HfRegex(r"\p{Alphabetic}"), behavior="removed").pre_tokenize_str(text)
    hf = every - {ord(c) for piece, _ in res for c in piece}
    ranges = []
    for cp in sorted(cp for cp in hf if cat_of[cp] == "Cn"):
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    table["Alphabetic"] = ranges
    return unicodedata.unidata_version, table


def write_unicode_table(path):
    import tokenizers

    base, table = unicode_extras()
    out = [
        "// Generated by tools/tokenizer/make_test_tokenizer.py --unicode-table; do not edit.",
        f"// Code points that HF tokenizers {tokenizers.__version__} (Oniguruma) puts in each Unicode general",
        f"// category beyond Unicode {base} (the version PCRE2 10.42 knows). The tokenizer adds them",
        "// to every \\p{..} it compiles, so newly assigned characters split as in HF. (Code points",
        "// that left a category, e.g. newly assigned ones leaving Cn, cannot be added this way.)",
        '#include "model/tokenizer_impl.hpp"',
        "",
        "namespace tt::tokenizer_detail {",
        "",
        "std::string_view unicode_extra_ranges(std::string_view category) {",
        "  struct Entry {",
        "    std::string_view category, ranges;",
        "  };",
        "  static constexpr Entry kTable[] = {",
    ]
    for cat, ranges in table.items():
        parts = ["\\x{%x}" % a if a == b else "\\x{%x}-\\x{%x}" % (a, b) for a, b in ranges]
        chunks, cur = [], ""
        for part in parts:
            if len(cur) + len(part) > 84:
                chunks.append(cur)
                cur = ""
            cur += part
        chunks.append(cur)
        out.append(f'      {{"{cat}",')
        for k, ch in enumerate(chunks):
            out.append(f'       R"({ch})"' + ("}," if k + 1 == len(chunks) else ""))
    out += [
        "  };",
        "  for (const Entry& e : kTable) {",
        "    if (e.category == category) return e.ranges;",
        "  }",
        "  return {};",
        "}",
        "",
        "}  // namespace tt::tokenizer_detail",
        "",
    ]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out))
    print(f"wrote {path}: {sum(len(r) for r in table.values())} ranges in {len(table)} categories")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.normpath(os.path.join(here, "..", "..", "tests", "data", "tokenizer"))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=default_out)
    ap.add_argument("--unicode-table", metavar="CPP", help="only write the Unicode extras table (model/tokenizer_unicode.cpp)")
    args = ap.parse_args()
    if args.unicode_table:
        write_unicode_table(args.unicode_table)
        return
    os.makedirs(args.out, exist_ok=True)

    import tokenizers

    tok = build_tokenizer()
    tok_path = os.path.join(args.out, "tokenizer.json")
    tok.save(tok_path, pretty=True)
    with open(tok_path, encoding="utf-8") as f:
        saved = f.read()
    cfg = json.loads(saved)
    if not cfg["model"].get("ignore_merges", False):
        print("warning: installed tokenizers did not store model.ignore_merges", file=sys.stderr)
    tok = Tokenizer.from_str(saved)  # test what was written, not the in-memory object

    meta = {"tokenizers_version": tokenizers.__version__}
    write_json(
        os.path.join(args.out, "vectors.json"),
        {**meta, "tokenizer": "tokenizer.json", "vectors": vectors_for(tok, test_strings()), "decode": decode_vectors(tok)},
    )

    gpath = os.path.join(args.out, "tokenizer_gpt2.json")
    with open(gpath, "w", encoding="utf-8") as f:
        f.write(gpt2_style_json(saved))
        f.write("\n")
    gtok = Tokenizer.from_file(gpath)
    write_json(os.path.join(args.out, "vectors_gpt2.json"), {**meta, "tokenizer": "tokenizer_gpt2.json", "vectors": vectors_for(gtok, test_strings())})

    ftok = flags_tokenizer(saved)
    fpath = os.path.join(args.out, "tokenizer_flags.json")
    ftok.save(fpath, pretty=True)
    with open(fpath, encoding="utf-8") as f:
        ftok = Tokenizer.from_str(f.read())
    write_json(os.path.join(args.out, "vectors_flags.json"), {**meta, "tokenizer": "tokenizer_flags.json", "vectors": vectors_for(ftok, flags_strings())})

    print(f"wrote {args.out}: vocab={tok.get_vocab_size(True)} merges={len(cfg['model']['merges'])} "
          f"tokenizers={tokenizers.__version__}")


if __name__ == "__main__":
    main()
