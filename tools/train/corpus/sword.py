"""Reader for SWORD "zText" Bible modules (compressed, OSIS markup).

A zText module directory holds, per testament (``ot`` and ``nt``):
  * ``X.bzs`` block index: records of 3 little-endian uint32
    (offset in .bzz, compressed size, uncompressed size);
  * ``X.bzv`` verse index: records of (uint32 block number, uint32 offset
    inside the uncompressed block, uint16 size), one per versification slot
    in canonical order: [0] module header, [1] testament header, then per
    book a book-intro slot and per chapter a chapter-intro slot followed by
    the verses;
  * ``X.bzz`` the blocks, each compressed per the module's CompressType
    (ZIP = zlib; LZSS/BZIP2/XZ exist but are not used by Debian's English
    modules and are rejected here).

Because the OSIS text of each slot carries the structural milestones
(``<div type="book" osisID=...>``, ``<chapter osisID=... sID=...>``,
``<div type="x-p">`` paragraphs, ``<title>``, ``<note>``), reading the slots
in order and concatenating them yields the whole book as one OSIS stream;
no versification tables are needed.
"""

import bz2
import configparser
import lzma
import os
import struct
import zlib


def read_conf(mods_d, module):
    """Return the [module] section of a SWORD .conf as a dict (first value wins)."""
    for name in sorted(os.listdir(mods_d)):
        if not name.endswith(".conf"):
            continue
        path = os.path.join(mods_d, name)
        text = open(path, encoding="utf-8", errors="replace").read()
        head = text.split("[", 1)[1].split("]", 1)[0] if "[" in text else ""
        if head.lower() != module.lower():
            continue
        cp = configparser.ConfigParser(strict=False, interpolation=None, comment_prefixes=("#",))
        cp.optionxform = str
        try:
            cp.read_string(text)
        except configparser.Error:
            # Repeated keys (History_x, Obsoletes) are fine with strict=False;
            # anything else falls back to a line parser.
            cp = None
        if cp is not None:
            return dict(cp[head]), path
        out = {}
        for line in text.splitlines():
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                out.setdefault(k.strip(), v.strip())
        return out, path
    raise FileNotFoundError("SWORD module %s not found in %s" % (module, mods_d))


def _decompress(data, kind):
    kind = (kind or "ZIP").upper()
    if kind == "ZIP":
        return zlib.decompress(data)
    if kind == "BZIP2":
        return bz2.decompress(data)
    if kind == "XZ":
        return lzma.decompress(data)
    raise ValueError("unsupported SWORD CompressType %s" % kind)


def read_testament(path_prefix, compress="ZIP"):
    """Yield the raw OSIS text of every slot of one testament, in order."""
    with open(path_prefix + ".bzs", "rb") as f:
        bzs = f.read()
    with open(path_prefix + ".bzv", "rb") as f:
        bzv = f.read()
    with open(path_prefix + ".bzz", "rb") as f:
        bzz = f.read()
    if len(bzs) % 12 or len(bzv) % 10:
        raise ValueError("%s: index sizes are not whole records" % path_prefix)
    blocks = [struct.unpack_from("<III", bzs, i) for i in range(0, len(bzs), 12)]
    cache = {}

    def block(n):
        if n not in cache:
            cache.clear()  # slots are read in block order: keep one block
            off, csize, usize = blocks[n]
            raw = _decompress(bzz[off:off + csize], compress)
            if len(raw) != usize:
                raise ValueError("%s: block %d size %d != %d" % (path_prefix, n, len(raw), usize))
            cache[n] = raw
        return cache[n]

    for i in range(0, len(bzv), 10):
        bn, off, size = struct.unpack_from("<IIH", bzv, i)
        if size == 0:
            continue
        yield block(bn)[off:off + size].decode("utf-8", errors="replace")


def read_module(sword_root, module):
    """Return (conf dict, OSIS text of the whole module: OT then NT)."""
    conf, _ = read_conf(os.path.join(sword_root, "mods.d"), module)
    if conf.get("ModDrv", "").lower() != "ztext":
        raise ValueError("%s: ModDrv %s is not zText" % (module, conf.get("ModDrv")))
    data_path = conf["DataPath"].lstrip("./")
    data_dir = os.path.join(sword_root, data_path)
    parts = []
    for t in ("ot", "nt"):
        prefix = os.path.join(data_dir, t)
        if os.path.exists(prefix + ".bzs"):
            # A space between slots: OSIS verse slots do not always end in whitespace.
            parts.append(" ".join(read_testament(prefix, conf.get("CompressType", "ZIP"))))
    return conf, "\n".join(parts)
