#!/usr/bin/env python3
"""Build the English prose corpus for the default TwoTower model.

Every source is a Debian 12 package (install them with build_corpus.sh):

  sword-text-web      World English Bible (with deuterocanon), SWORD zText
                      module, OSIS markup                       -> bible/web
  sword-text-kjv      King James Version, same format (only with --kjv)
                                                                -> bible/kjv
  r-cran-janeaustenr  six Jane Austen novels, R lazy-load data  -> austen
  fortunes(-min)      BSD fortune files, '%'-separated; a hand-picked subset
                      of the prose-like files (no code, no ASCII art)
                                                                -> fortunes

Only the Python standard library is used (see sword.py, rserialize.py).

Output (default --out build-corpus/, git-ignored):
  train.txt, heldout.txt   UTF-8 text. One paragraph per line; a blank line
                           separates documents. Documents appear in a fixed
                           pseudo-random order (sorted by the hash of their id)
                           so any contiguous slice mixes the sources.
  stats.json               per-source and per-split byte/word/paragraph counts
                           and package versions.

Documents are the unit of the split: a Bible chapter, an Austen chapter, one
fortune. A document goes to held-out when the first 8 bytes of
sha256("twotower-corpus-v1:" + split_key) read as a big-endian integer fall
below 2% of 2**64. A Bible chapter's split_key is its OSIS id (e.g. "Gen.1"),
shared by both translations, so a held-out chapter is unseen in every
translation. The result depends only on the package contents.

Normalisation: NFC; typographic quotes -> ASCII ' and "; em dash -> "--",
en dash -> "-", ellipsis -> "..."; no-break/odd spaces -> space; zero-width
and control characters removed; runs of whitespace -> one space.

Usage: python3 tools/train/corpus/build_corpus.py [--out DIR] [--kjv]
                                                 [--no-fortunes] [--print-table]
"""

import argparse
import hashlib
import html
import json
import os
import re
import subprocess
import sys
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import rserialize  # noqa: E402
import sword  # noqa: E402

SPLIT_SALT = "twotower-corpus-v1:"
HELDOUT_FRACTION = 0.02

SWORD_ROOT = "/usr/share/sword"
AUSTEN_DB = "/usr/lib/R/site-library/janeaustenr/data/Rdata"
FORTUNE_DIR = "/usr/share/games/fortunes"

# Fortune files that are mostly prose (quotes, anecdotes, aphorisms). Left out:
# ascii-art, computers, linux*, perl, debian, knghtbrd, startrek, zippy, news,
# disclaimer, magic, translate-me, cookie, definitions, songs-poems,
# men-women, ethnic, drugs (code, art, lyrics, jargon or stereotypes).
FORTUNE_FILES = [
    "art", "education", "food", "fortunes", "goedel", "humorists", "kids",
    "law", "literature", "love", "medicine", "miscellaneous", "paradoxum",
    "people", "pets", "platitudes", "politics", "riddles", "science",
    "sports", "tao", "wisdom", "work",
]

AUSTEN_TITLES = {
    "emma": "Emma",
    "mansfieldpark": "Mansfield Park",
    "northangerabbey": "Northanger Abbey",
    "persuasion": "Persuasion",
    "prideprejudice": "Pride and Prejudice",
    "sensesensibility": "Sense and Sensibility",
}

# ---------------------------------------------------------------------------
# Text normalisation

_CHAR_MAP = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"',
    "\u2014": "--", "\u2015": "--", "\u2013": "-", "\u2012": "-", "\u2010": "-",
    "\u2011": "-", "\u2212": "-",
    "\u2026": "...",
    "\u00ad": "", "\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": "",
}
_CHAR_RE = re.compile("[%s]" % "".join(sorted(_CHAR_MAP)))


def normalise(text):
    text = unicodedata.normalize("NFC", text)
    text = _CHAR_RE.sub(lambda m: _CHAR_MAP[m.group(0)], text)
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat == "Zs" or ch in "\t\n\r\v\f":
            out.append(" ")
        elif cat in ("Cc", "Cf", "Co", "Cs", "Cn"):
            continue
        else:
            out.append(ch)
    return re.sub(r" {2,}", " ", "".join(out)).strip()


# ---------------------------------------------------------------------------
# Bible (SWORD OSIS)

_TAG_RE = re.compile(r"<(/?)([A-Za-z][\w:.-]*)((?:\s+[^<>]*?)?)\s*(/?)>")
_ATTR_RE = re.compile(r'([\w:.-]+)\s*=\s*"([^"]*)"')
# Elements whose whole content is dropped: notes and their parts, editorial
# headings, speaker labels in the Song of Songs.
_OSIS_SKIP = {"note", "rdg", "catchWord", "reference", "speaker", "title"}
# Elements whose boundaries end a paragraph.
_OSIS_BREAK = {"div", "lb", "lg", "list", "item", "p", "chapter", "title"}
_GAP = "\x00"  # where dropped material sat between two words


def _close_gaps(text):
    # A note removed between two words ("God<note>..</note>created") must leave
    # a space; before punctuation or existing space it leaves nothing.
    text = re.sub(r"(?<=[^\s%s])%s+(?=[\w\u201c\u2018(\[])" % (_GAP, _GAP), " ", text)
    return text.replace(_GAP, "")


def osis_chapters(osis):
    """Split a module's OSIS stream into (osisID, [paragraph, ...]) chapters.

    Text outside <chapter sID>..<chapter eID> (prefaces, book introductions,
    glossary) is dropped. Canonical titles (psalm superscriptions) are kept as
    their own paragraph; other titles are dropped.
    """
    chapters = []
    cur_id = None
    paras = []
    buf = []
    skip = []  # stack of open skipped element names

    def flush():
        if cur_id is not None and buf:
            p = normalise(_close_gaps(html.unescape("".join(buf))))
            if p:
                paras.append(p)
        buf.clear()

    def add_text(chunk):
        # The KJV marks paragraph starts only with a pilcrow inside the text.
        pieces = chunk.split("\u00b6")
        for i, piece in enumerate(pieces):
            if i:
                flush()
            buf.append(piece)

    pos = 0
    for m in _TAG_RE.finditer(osis):
        if m.start() > pos and not skip and cur_id is not None:
            add_text(osis[pos:m.start()])
        pos = m.end()
        closing, name, attrs_s, selfclose = m.group(1), m.group(2), m.group(3), m.group(4)
        attrs = dict(_ATTR_RE.findall(attrs_s or ""))

        if name == "chapter" and selfclose:
            if "sID" in attrs or ("osisID" in attrs and "eID" not in attrs):
                flush()
                if cur_id is not None and paras:
                    chapters.append((cur_id, list(paras)))
                paras.clear()
                cur_id = attrs.get("osisID") or attrs.get("sID")
            elif "eID" in attrs:
                flush()
                if cur_id is not None and paras:
                    chapters.append((cur_id, list(paras)))
                paras.clear()
                cur_id = None
            continue

        if name in _OSIS_SKIP and not selfclose:
            if closing:
                if skip:
                    if skip[-1] == name:
                        skip.pop()
                        if not skip and cur_id is not None:
                            buf.append(_GAP)
                    continue
                # closing a kept element (a canonical title): falls through
            elif skip or not (name == "title" and attrs.get("canonical") == "true"):
                skip.append(name)
                continue
        if skip:
            continue

        if name in _OSIS_BREAK:
            if name == "div" and attrs.get("type") == "x-milestone":
                continue  # pre-verse markers
            if name == "lb" and attrs.get("type") not in (None, "x-p"):
                continue
            flush()
        elif name == "l" and selfclose:
            buf.append(" ")  # poetic line boundary inside a stanza
    if pos < len(osis) and not skip and cur_id is not None:
        add_text(osis[pos:])
    flush()
    if cur_id is not None and paras:
        chapters.append((cur_id, list(paras)))
    return chapters


def bible_documents(module, source):
    conf, osis = sword.read_module(SWORD_ROOT, module)
    docs = []
    seen = set()
    for osis_id, paras in osis_chapters(osis):
        key = "bible:" + osis_id
        if key in seen:
            raise ValueError("%s: chapter %s seen twice" % (module, osis_id))
        seen.add(key)
        docs.append({"id": "%s:%s" % (source, osis_id), "split_key": key,
                     "source": source, "paragraphs": paras})
    return docs, conf


# ---------------------------------------------------------------------------
# Jane Austen (R data)

_HEADING_RE = re.compile(r"^(chapter|volume)\s+([ivxlc]+|\d+)\.?$", re.IGNORECASE)
_END_RE = re.compile(r"^(finis|the end)\.?$", re.IGNORECASE)


def austen_documents():
    data = rserialize.read_lazyload_db(AUSTEN_DB)
    docs = []
    for var in sorted(AUSTEN_TITLES):
        lines = [x if x is not None else "" for x in data[var]]
        # Blocks of non-blank lines.
        blocks, cur = [], []
        for line in lines + [""]:
            if line.strip():
                cur.append(line)
            elif cur:
                blocks.append(cur)
                cur = []
        chapters = []  # list of paragraph lists
        started = False
        for block in blocks:
            first = block[0].strip()
            if len(block) == 1 and _HEADING_RE.match(first):
                if first.lower().startswith("chapter"):
                    chapters.append([])
                    started = True
                continue  # VOLUME headings: no new chapter
            if not started:
                continue  # title page, advertisement
            if len(block) == 1 and _END_RE.match(first):
                break
            if first == "A NOTE ON THE TEXT":
                break  # modern editorial afterword
            text = " ".join(x.strip() for x in block)
            if re.fullmatch(r"[\s*]+", text):
                continue  # "* * * * *" section breaks
            if text.startswith("*") or (text.startswith("[") and text.endswith("]")):
                continue  # footnotes and editorial notes
            text = re.sub(r"_([^_]+)_", r"\1", text).replace("_", "")
            text = re.sub(r"(?<=\S)\*", "", text)  # footnote markers
            text = normalise(text)
            if text:
                chapters[-1].append(text)
        for i, paras in enumerate(chapters, 1):
            if paras:
                did = "austen:%s:%03d" % (var, i)
                docs.append({"id": did, "split_key": did, "source": "austen", "paragraphs": paras})
    return docs


# ---------------------------------------------------------------------------
# Fortunes

def _fortune_paragraphs(raw):
    raw = re.sub(r".\x08", "", raw)  # overstrike (underline/bold) sequences
    if re.search(r"[\x00-\x08\x0b-\x1f\x7f]|[\u00c2\u00c3][\u0080-\u00bf]", raw):
        return None  # control characters left over, or UTF-8 read as Latin-1
    lines = raw.split("\n")
    keep = []
    for line in lines:
        if re.match(r"^\s*--\s*\S", line) and keep:
            break  # attribution ("-- Mark Twain") and anything after it
        keep.append(line)
    paras, cur = [], []
    for line in keep:
        if not line.strip():
            if cur:
                paras.append(cur)
                cur = []
            continue
        if re.match(r"^(\t| {2,})", line) and cur:
            paras.append(cur)  # an indented line starts a paragraph / speaker turn
            cur = []
        cur.append(line.strip())
    if cur:
        paras.append(cur)
    out = []
    for p in paras:
        t = normalise(" ".join(p))
        if t:
            out.append(t)
    if not out:
        return None
    text = " ".join(out)
    letters = sum(ch.isalpha() or ch == " " for ch in text)
    if letters < 0.8 * len(text):
        return None  # tables, code, art, lists of symbols
    if len(text.split()) < 4:
        return None
    if re.search(r"[{}<>|\\]|\w\(\)|https?:|@\w|[=#]{2}", text):
        return None  # code, markup, e-mail/usenet residue
    return out


def fortune_documents():
    docs = []
    seen = set()
    for name in FORTUNE_FILES:
        path = os.path.join(FORTUNE_DIR, name)
        with open(path, encoding="utf-8", errors="replace") as f:
            content = f.read()
        for raw in re.split(r"^%\n", content + "\n", flags=re.MULTILINE):
            paras = _fortune_paragraphs(raw.rstrip("\n"))
            if not paras:
                continue
            key = re.sub(r"\W+", " ", " ".join(paras).lower()).strip()
            if key in seen:
                continue
            seen.add(key)
            h = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
            did = "fortunes:%s:%s" % (name, h)
            docs.append({"id": did, "split_key": "fortune:" + h, "source": "fortunes",
                         "paragraphs": paras})
    return docs


# ---------------------------------------------------------------------------
# Split, write, report

def split_hash(key):
    return int.from_bytes(hashlib.sha256((SPLIT_SALT + key).encode("utf-8")).digest()[:8], "big")


def is_heldout(key):
    return split_hash(key) < int(HELDOUT_FRACTION * 2**64)


def package_version(pkg):
    try:
        return subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], check=True,
                              capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def counts(docs):
    paras = [p for d in docs for p in d["paragraphs"]]
    return {
        "documents": len(docs),
        "paragraphs": len(paras),
        "words": sum(len(p.split()) for p in paras),
        "bytes": sum(len(p.encode("utf-8")) + 1 for p in paras) + max(len(docs) - 1, 0),
    }


def write_split(path, docs):
    docs = sorted(docs, key=lambda d: (split_hash("order:" + d["id"]), d["id"]))
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for i, d in enumerate(docs):
            if i:
                f.write("\n")
            for p in d["paragraphs"]:
                assert "\n" not in p
                f.write(p + "\n")


PACKAGES = {
    "bible/web": "sword-text-web",
    "bible/kjv": "sword-text-kjv",
    "austen": "r-cran-janeaustenr",
    "fortunes": "fortunes",
}


def render_sources_md(stats):
    # Kept short: the license text itself lives in /usr/share/doc/<pkg>/copyright.
    rows = []
    for src in stats["sources"]:
        s = stats["sources"][src]
        rows.append("| %s | `%s` | %s | %s | %s | %s | %s | %s |" % (
            src, s["package"], s["version"],
            "{:,}".format(s["train"]["bytes"]), "{:,}".format(s["train"]["words"]),
            "{:,}".format(s["heldout"]["bytes"]), "{:,}".format(s["heldout"]["words"]),
            "{:,}".format(s["train"]["documents"] + s["heldout"]["documents"])))
    return "\n".join(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "build-corpus"))
    ap.add_argument("--kjv", action="store_true", help="also include the King James Version")
    ap.add_argument("--no-fortunes", action="store_true")
    ap.add_argument("--print-table", action="store_true",
                    help="print the per-source table used in SOURCES.md")
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)

    docs = []
    web, web_conf = bible_documents("engWEB2015eb", "bible/web")
    docs += web
    module_versions = {"bible/web": web_conf.get("Version")}
    if args.kjv:
        kjv, kjv_conf = bible_documents("engKJV2006eb", "bible/kjv")
        docs += kjv
        module_versions["bible/kjv"] = kjv_conf.get("Version")
    docs += austen_documents()
    if not args.no_fortunes:
        docs += fortune_documents()

    ids = [d["id"] for d in docs]
    if len(set(ids)) != len(ids):
        raise SystemExit("duplicate document ids")

    train = [d for d in docs if not is_heldout(d["split_key"])]
    held = [d for d in docs if is_heldout(d["split_key"])]
    write_split(os.path.join(out, "train.txt"), train)
    write_split(os.path.join(out, "heldout.txt"), held)

    stats = {"split": {"salt": SPLIT_SALT, "heldout_fraction": HELDOUT_FRACTION},
             "train": counts(train), "heldout": counts(held), "sources": {},
             "heldout_documents": sorted(d["id"] for d in held if d["source"] != "fortunes")}
    for src in dict.fromkeys(d["source"] for d in docs):
        stats["sources"][src] = {
            "package": PACKAGES[src],
            "version": package_version(PACKAGES[src]),
            "module_version": module_versions.get(src),
            "train": counts([d for d in train if d["source"] == src]),
            "heldout": counts([d for d in held if d["source"] == src]),
        }
    # The files' real sizes (counts() mirrors the layout, checked here).
    for name, key in (("train.txt", "train"), ("heldout.txt", "heldout")):
        size = os.path.getsize(os.path.join(out, name))
        if size != stats[key]["bytes"]:
            raise SystemExit("size mismatch for %s: %d vs %d" % (name, size, stats[key]["bytes"]))
    with open(os.path.join(out, "stats.json"), "w") as f:
        json.dump(stats, f, indent=2, sort_keys=True)
        f.write("\n")

    for key in ("train", "heldout"):
        c = stats[key]
        print("%-8s %10d bytes %9d words %7d paragraphs %5d documents" % (
            key, c["bytes"], c["words"], c["paragraphs"], c["documents"]))
    for src, s in stats["sources"].items():
        print("  %-10s %-20s %-14s train %9d B %8d w | heldout %8d B %7d w (%d docs)" % (
            src, s["package"], s["version"], s["train"]["bytes"], s["train"]["words"],
            s["heldout"]["bytes"], s["heldout"]["words"], s["heldout"]["documents"]))
    if args.print_table:
        print(render_sources_md(stats))
    print("wrote", out)


if __name__ == "__main__":
    main()
