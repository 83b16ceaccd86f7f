"""Minimal reader for R's serialization format and lazy-load databases.

Enough to pull character vectors out of an installed R package's data
(``data/Rdata.rdx`` + ``data/Rdata.rdb``) without R itself.

Format notes (R Internals, "Serialization Formats"):
  * A stream starts with a format byte line: ``X\\n`` (XDR, big-endian) is the
    only one handled here; ``A\\n`` (ascii) and ``B\\n`` (native binary) raise.
  * Header ints: version (2 or 3), writer R version, min reader version; v3 adds
    the native encoding name.
  * Each item starts with an int of flags: type = flags & 0xFF, object bit 8,
    attribute bit 9, tag bit 10, "levels" (gp bits) = flags >> 12.
  * ``.rdx`` is a gzip/zlib-compressed serialized list(variables, references,
    compressed); each variables entry is c(offset, length) into ``.rdb``.
  * Each ``.rdb`` blob is a 4-byte big-endian uncompressed length followed by
    the payload: zlib when compressed is TRUE/1; for 2 (bzip2) and 3 (xz) a
    type byte ('Z' zlib, '2' bzip2, 'X' xz, '0' stored) precedes the payload.

Values are mapped to Python: NULL -> None, character vectors -> list[str|None],
logical/integer -> list[int|None], double -> list[float], generic vectors ->
RList (a list with .attrs), pairlists -> list of (tag, value).  Attributes of
vectors are kept in ``.attrs`` on a list subclass.
"""

import bz2
import gzip
import lzma
import struct
import zlib

NA_INTEGER = -(2**31)


class RVector(list):
    """A list carrying R attributes (dict of name -> value)."""

    def __init__(self, items=(), rtype=None):
        super().__init__(items)
        self.rtype = rtype
        self.attrs = {}

    def names(self):
        return self.attrs.get("names")


class RSymbol(str):
    pass


class REnvironment:
    def __init__(self):
        self.frame = None
        self.enclos = None
        self.hashtab = None
        self.attrs = {}


class RLanguage(list):
    pass


class UnsupportedFormat(Exception):
    pass


class _Reader:
    def __init__(self, data, persistent_hook=None):
        self.data = data
        self.pos = 0
        self.refs = []
        self.hook = persistent_hook

    # -- primitives ---------------------------------------------------------
    def _take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("truncated R serialization stream")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def int(self):
        return struct.unpack(">i", self._take(4))[0]

    def length(self):
        n = self.int()
        if n == -1:  # long vector: two ints, upper and lower 32 bits
            hi = self.int()
            lo = self.int()
            n = (hi << 32) + (lo & 0xFFFFFFFF)
        return n

    def string(self):
        n = self.int()
        return self._take(n)

    # -- stream -------------------------------------------------------------
    def header(self):
        fmt = self._take(2)
        if fmt != b"X\n":
            raise UnsupportedFormat("only XDR serialization is supported, got %r" % fmt)
        version = self.int()
        self.int()  # writer version
        self.int()  # minimal reader version
        if version == 3:
            n = self.int()
            self._take(n)  # native encoding
        elif version != 2:
            raise UnsupportedFormat("serialization version %d" % version)

    def attributes(self):
        pairs = self.item()
        out = {}
        for tag, val in pairs or []:
            out[str(tag)] = val
        return out

    def item(self):
        flags = self.int()
        t = flags & 0xFF
        has_attr = bool(flags & (1 << 9))
        has_tag = bool(flags & (1 << 10))
        levels = flags >> 12

        if t == 254:  # NILVALUE_SXP
            return None
        if t in (253, 242, 241, 252, 251, 250):  # global/empty/base env, unbound, missing, base ns
            return REnvironment() if t in (253, 242, 241, 250) else None
        if t == 255:  # REFSXP
            idx = flags >> 8
            if idx == 0:
                idx = self.int()
            return self.refs[idx - 1]
        if t in (247, 248, 249):  # PERSISTSXP, PACKAGESXP, NAMESPACESXP
            self.int()  # always 0
            n = self.int()
            names = [self.item() for _ in range(n)]
            obj = self.hook(names) if (t == 247 and self.hook) else ("persistent", t, names)
            self.refs.append(obj)
            return obj
        if t == 1:  # SYMSXP
            name = self.item()
            sym = RSymbol(name if name is not None else "")
            self.refs.append(sym)
            return sym
        if t == 4:  # ENVSXP
            env = REnvironment()
            self.refs.append(env)
            self.int()  # locked
            env.enclos = self.item()
            env.frame = self.item()
            env.hashtab = self.item()
            env.attrs = self.attributes()  # ENVSXP always carries an ATTRIB item
            return env
        if t in (2, 3, 5, 6, 17, 239, 240):  # pairlist-like cells: attr?, tag?, CAR, CDR
            result = RLanguage() if t in (6, 240) else []
            while True:
                if has_attr:
                    self.attributes()  # attributes on pairlist cells are not needed here
                tag = self.item() if has_tag else None
                result.append((tag, self.item()))
                # Walk the CDR chain iteratively instead of recursing per cell.
                nflags = self.int()
                if (nflags & 0xFF) in (2, 3, 5, 6, 17, 239, 240):
                    has_attr = bool(nflags & (1 << 9))
                    has_tag = bool(nflags & (1 << 10))
                    continue
                self.pos -= 4  # not a cell: read it as an ordinary item
                tail = self.item()
                if tail is not None:
                    result.append((None, tail))
                return result
        if t == 9:  # CHARSXP
            n = self.int()
            if n == -1:
                return None  # NA_character_
            raw = self._take(n)
            if levels & (1 << 2):  # LATIN1
                return raw.decode("latin-1")
            if levels & (1 << 1):  # BYTES
                return raw.decode("utf-8", errors="replace")
            return raw.decode("utf-8", errors="replace")
        if t in (10, 13):  # LGLSXP, INTSXP
            n = self.length()
            vals = struct.unpack(">%di" % n, self._take(4 * n)) if n else ()
            vec = RVector((None if v == NA_INTEGER else v for v in vals), rtype=t)
        elif t == 14:  # REALSXP
            n = self.length()
            vec = RVector(struct.unpack(">%dd" % n, self._take(8 * n)) if n else (), rtype=t)
        elif t == 15:  # CPLXSXP
            n = self.length()
            v = struct.unpack(">%dd" % (2 * n), self._take(16 * n)) if n else ()
            vec = RVector((complex(v[2 * i], v[2 * i + 1]) for i in range(n)), rtype=t)
        elif t == 16:  # STRSXP
            n = self.length()
            vec = RVector((self.item() for _ in range(n)), rtype=t)
        elif t in (19, 20):  # VECSXP, EXPRSXP
            n = self.length()
            vec = RVector((self.item() for _ in range(n)), rtype=t)
        elif t == 24:  # RAWSXP
            n = self.length()
            vec = RVector(self._take(n), rtype=t)
        else:
            raise UnsupportedFormat("R SEXP type %d" % t)
        if has_attr:
            vec.attrs = self.attributes()
        return vec


def unserialize(data, persistent_hook=None):
    """Parse one serialized R object from bytes."""
    r = _Reader(data, persistent_hook)
    r.header()
    return r.item()


def _decompress_maybe(raw):
    if raw[:2] == b"\x1f\x8b":
        return gzip.decompress(raw)
    if raw[:3] == b"BZh":
        return bz2.decompress(raw)
    if raw[:6] == b"\xfd7zXZ\x00":
        return lzma.decompress(raw)
    return raw


def read_rds(path):
    """readRDS(): a (possibly gzip/bzip2/xz compressed) serialized object."""
    with open(path, "rb") as f:
        return unserialize(_decompress_maybe(f.read()))


def _rdb_blob(rdb, offset, length, compressed):
    blob = rdb[offset:offset + length]
    outlen = struct.unpack(">I", blob[:4])[0]
    if compressed in (2, 3):
        kind = blob[4:5]
        payload = blob[5:]
        if kind == b"Z":
            out = zlib.decompress(payload)
        elif kind == b"2":
            out = bz2.decompress(payload)
        elif kind == b"X":
            out = lzma.decompress(payload)
        elif kind == b"0":
            out = payload
        else:
            raise ValueError("unknown rdb compression byte %r" % kind)
    elif compressed:
        out = zlib.decompress(blob[4:])
    else:
        out = blob[4:]
    if len(out) != outlen:
        raise ValueError("rdb blob length mismatch: %d != %d" % (len(out), outlen))
    return out


def read_lazyload_db(prefix):
    """Load every variable of an R lazy-load DB (``prefix.rdx``/``prefix.rdb``).

    Returns a dict name -> value. Environment references (rarely used by
    data sets) are resolved to their serialized contents when possible.
    """
    index = read_rds(prefix + ".rdx")
    idx_names = index.names()
    fields = dict(zip(idx_names, index))
    compressed = fields.get("compressed")
    compressed = compressed[0] if compressed else 1
    if compressed is True:
        compressed = 1
    with open(prefix + ".rdb", "rb") as f:
        rdb = f.read()

    refs = fields.get("references") or RVector()
    ref_names = refs.names() or []
    ref_table = dict(zip(ref_names, refs))

    def hook(names):
        key = names[0][0] if names and names[0] else None
        if key in ref_table:
            off, ln = ref_table[key]
            return unserialize(_rdb_blob(rdb, int(off), int(ln), compressed), hook)
        return ("persistent", names)

    variables = fields["variables"]
    out = {}
    for name, (off, ln) in zip(variables.names(), variables):
        out[name] = unserialize(_rdb_blob(rdb, int(off), int(ln), compressed), hook)
    return out
