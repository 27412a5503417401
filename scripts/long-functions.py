#!/usr/bin/env python3
"""Lists every fn in src/ longer than LIMIT lines (its first line to its closing
brace), outside #[cfg(test)] modules: `python3 scripts/long-functions.py [src] [80]`.
Brace matching skips strings, chars and comments. Exits 1 when any is found."""
import os, re, sys
LIMIT = int(sys.argv[2]) if len(sys.argv) > 2 else 80
root = sys.argv[1] if len(sys.argv) > 1 else "src"

def strip(src):
    # Replace string/char literal and comment contents by spaces, keep newlines.
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
            end = src.find('"' + hashes, i + len(m.group(0)))
            j = end + 1 + len(hashes)
            out.append(re.sub(r"[^\n]", " ", src[i:j])); i = j
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == '\\' else 1
            j += 1
            out.append(re.sub(r"[^\n]", " ", src[i:j])); i = j
        elif c == "'":
            m = re.match(r"'(\\.|\\u\{[0-9a-fA-F]+\}|\\x..|[^\\'])'", src[i:])
            if m:
                out.append(" " * len(m.group(0))); i += len(m.group(0))
            else:
                out.append(c); i += 1  # a lifetime
        else:
            out.append(c); i += 1
    return "".join(out)

def functions(path):
    text = strip(open(path).read())
    lines = text.split("\n")
    # Find test module ranges: #[cfg(test)] followed by mod NAME {
    res = []
    test_ranges = []
    for m in re.finditer(r"#\[cfg\(test\)\]\s*(pub\s+)?mod\s+\w+\s*\{", text):
        start = m.end() - 1; end = match(text, start)
        test_ranges.append((m.start(), end))
    for m in re.finditer(r"\bfn\s+(\w+)", text):
        if any(a <= m.start() < b for a, b in test_ranges): continue
        # Find the body: first '{' after signature, unless ';' comes first (trait decl).
        k = m.end(); depth = 0
        while k < len(text):
            ch = text[k]
            if ch in "([<": depth += 1
            elif ch in ")]>": depth -= 1 if ch != '>' or text[k-1] != '-' else 0
            elif ch == ';' and depth <= 0: k = -1; break
            elif ch == '{' and depth <= 0: break
            k += 1
        if k < 0 or k >= len(text): continue
        end = match(text, k)
        first = text.count("\n", 0, m.start()) + 1
        last = text.count("\n", 0, end) + 1
        res.append((last - first + 1, first, m.group(1)))
    return res

def match(text, k):
    depth = 0
    for j in range(k, len(text)):
        if text[j] == '{': depth += 1
        elif text[j] == '}':
            depth -= 1
            if depth == 0: return j
    return len(text)

found = []
for d, _, files in os.walk(root):
    for f in files:
        if f.endswith(".rs"):
            p = os.path.join(d, f)
            for length, line, name in functions(p):
                if length > LIMIT: found.append((p, line, name, length))
for p, line, name, length in sorted(found):
    print(f"{p}:{line} {name} {length} lines")
print(f"{len(found)} function(s) over {LIMIT} lines")
sys.exit(1 if found else 0)
