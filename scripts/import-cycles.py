#!/usr/bin/env python3
"""Lists every import circle among the files (modules) of src/:
`python3 scripts/import-cycles.py [src] [--ignore crate::store]`. Exits 1
when any is found; a circle all of whose modules start with an `--ignore`d
prefix is listed as ignored and does not count.

An edge A -> B means the code of file A names module B: a `use crate::…`,
`use super::…` or `use self::…` (groups expanded), the same paths written
inline, or `child::…` for a child module of A. `#[cfg(test)]` modules,
comments and strings are skipped. A name that a module only re-exports
(`pub use x::Name`) is followed to the module that defines it, so a facade
`mod.rs` that re-exports its children is not part of a circle for that."""
import os, re, sys

args = sys.argv[1:]
ignored = [args[i + 1] for i, a in enumerate(args) if a == "--ignore" and i + 1 < len(args)]
positional = [a for i, a in enumerate(args) if a != "--ignore" and (i == 0 or args[i - 1] != "--ignore")]
root = positional[0] if positional else "src"


def strip(src):
    """Blanks comments, strings and char literals, keeping newlines."""
    out = []; i = 0; n = len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i); j = n if j < 0 else j
            out.append(" " * (j - i)); i = j
        elif src.startswith("/*", i):
            depth = 0; j = i
            while j < n:
                if src.startswith("/*", j): depth += 1; j += 2
                elif src.startswith("*/", j):
                    depth -= 1; j += 2
                    if depth == 0: break
                else: j += 1
            out.append(re.sub(r"[^\n]", " ", src[i:j])); i = j
        elif c == 'r' and re.match(r'r#*"', src[i:i+10]) and (i == 0 or not (src[i-1].isalnum() or src[i-1] == '_')):
            m = re.match(r'r(#*)"', src[i:]); hashes = m.group(1)
            j = src.find('"' + hashes, i + len(m.group(0))) + 1 + len(hashes)
            out.append(re.sub(r"[^\n]", " ", src[i:j])); i = j
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == '\\' else 1
            j += 1
            out.append(re.sub(r"[^\n]", " ", src[i:j])); i = j
        elif c == "'":
            m = re.match(r"'(\\.|\\u\{[0-9a-fA-F]+\}|\\x..|[^\\'])'", src[i:])
            if m: out.append(" " * len(m.group(0))); i += len(m.group(0))
            else: out.append(c); i += 1
        else:
            out.append(c); i += 1
    return "".join(out)


def without_tests(text):
    """The text without its `#[cfg(test)] mod … { … }` blocks."""
    while True:
        m = re.search(r"#\[cfg\(test\)\]\s*(pub\s+)?mod\s+\w+\s*\{", text)
        if not m: return text
        depth = 0; j = m.end() - 1
        for j in range(m.end() - 1, len(text)):
            if text[j] == '{': depth += 1
            elif text[j] == '}':
                depth -= 1
                if depth == 0: break
        text = text[:m.start()] + text[j + 1:]


def expand(tree):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e] (aliases dropped)."""
    tree = re.sub(r"\s+", "", re.sub(r"\s+as\s+\w+", "", tree))
    i = tree.find("{")
    if i < 0:
        return [tree]
    head, body = tree[:i], tree[i + 1:tree.rfind("}")]
    parts, depth, cur = [], 0, ""
    for ch in body:
        if ch == "," and depth == 0: parts.append(cur); cur = ""; continue
        depth += ch == "{"; depth -= ch == "}"; cur += ch
    parts.append(cur)
    return [p2 for p in parts if p for p2 in expand(head + p)]


def module_of(path):
    rel = os.path.relpath(path, root)[:-3].split(os.sep)
    if rel[-1] in ("lib", "mod"): rel = rel[:-1]
    return tuple(rel)


files = {}
for d, _, fs in os.walk(root):
    for f in fs:
        if f.endswith(".rs") and os.path.relpath(os.path.join(d, f), root) != "main.rs":
            p = os.path.join(d, f)
            files[module_of(p)] = without_tests(strip(open(p).read()))

USE = re.compile(r"\b(pub(\([\w:]+\))?\s+)?use\s+([^;]+);")


def absolute(mod, segs):
    """A path as seen from module `mod`, made absolute (None: an outside crate)."""
    if segs[0] == "crate": return list(segs[1:])
    base = list(mod)
    while segs and segs[0] in ("super", "self"):
        if segs[0] == "super": base = base[:-1]
        segs = segs[1:]
    return base + list(segs)


reexports = {}
for mod, text in files.items():
    for m in USE.finditer(text):
        if not m.group(1): continue
        for p in expand(m.group(3)):
            segs = p.split("::")
            if segs[0] not in ("crate", "super", "self") and mod + (segs[0],) not in files: continue
            reexports.setdefault(mod, {})[segs[-1]] = absolute(mod, segs)


def resolve(segs, seen=()):
    """The file module that defines what an absolute path names."""
    mod = ()
    for k, s in enumerate(segs):
        if mod + (s,) in files: mod = mod + (s,); continue
        target = reexports.get(mod, {}).get(s)
        if target and tuple(target) not in seen:
            return resolve(target, seen + (tuple(target),))
        break
    return mod


edges = {m: set() for m in files}
for mod, text in files.items():
    paths = []
    for m in USE.finditer(text):
        if m.group(1):  # a re-export is followed, not counted
            continue
        paths += [p.split("::") for p in expand(m.group(3))]
    body = USE.sub(" ", text)
    paths += [p.split("::") for p in re.findall(r"\b(?:crate|super|self)(?:::\w+)+", body)]
    for m in re.finditer(r"(?<![:\w])(\w+)((?:::\w+)+)", body):
        if mod + (m.group(1),) in files: paths.append(["self", m.group(1)] + m.group(2).split("::")[1:])
    for segs in paths:
        if segs[0] not in ("crate", "super", "self"):
            if mod + (segs[0],) not in files: continue
            segs = ["self"] + segs
        target = resolve(absolute(mod, segs))
        if target != mod: edges[mod].add(target)


def sccs(graph):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    def visit(v):
        index[v] = low[v] = counter[0]; counter[0] += 1; stack.append(v); on.add(v)
        for w in graph[v]:
            if w not in index: visit(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            out.append(comp)
    sys.setrecursionlimit(10000)
    for v in sorted(graph): 
        if v not in index: visit(v)
    return out


name = lambda m: "::".join(("crate",) + m)
circles = [sorted(c) for c in sccs(edges) if len(c) > 1]
skipped = [c for c in circles if ignored and all(any(name(m).startswith(p) for p in ignored) for m in c)]
circles = [c for c in circles if c not in skipped]
for c in sorted(skipped):
    print("ignored circle: " + ", ".join(name(m) for m in c))
for c in sorted(circles):
    print("circle: " + ", ".join(name(m) for m in c))
    for a in c:
        for b in sorted(edges[a] & set(c)):
            print(f"  {name(a)} -> {name(b)}")
print(f"{len(circles)} import circle(s) among {len(files)} modules")
sys.exit(1 if circles else 0)
