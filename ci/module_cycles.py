#!/usr/bin/env python3
"""Fails when the files of src/ depend on each other in a cycle.

A file depends on another when it names an item the other defines: through a `use`
declaration, or a path in its code (`crate::audit::append`, `super::AppState`, an alias bound
by a `use`, a child module in a `mod.rs`). Re-exports are followed to the file that defines
the item, and a `pub use` is not itself a dependency: a `mod.rs` that only declares and
re-exports its children depends on nothing, so children may use what their parent defines.
Comments (doc links included), string literals and `#[cfg(test)]` modules are ignored.

Each crate root (src/lib.rs, src/main.rs, src/bin/...) is its own module tree; `tessera::`
paths in a binary name the library, which the library can never name back.

`--self-check` seeds a two-file cycle into a scratch tree and fails unless it is reported.
`--graph` prints every edge.
"""

import pathlib
import re
import sys
import tempfile

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
ITEM = re.compile(
    r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:async\s+|const\s+|unsafe\s+)*"
    r"(fn|struct|enum|trait|type|const|static|mod|union)\s+(" + IDENT + ")",
    re.M,
)
MACRO = re.compile(r"macro_rules!\s*(" + IDENT + ")")
USE = re.compile(r"(?:^|[;{}\s])(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", re.S)
PATH = re.compile(r"(?<![A-Za-z0-9_:])(" + IDENT + r"(?:\s*::\s*" + IDENT + r")+)")


def strip(text: str) -> str:
    """Removes comments, string and char literals, and `#[cfg(test)]` modules."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif c == "r" and re.match(r'r#*"', text[i:]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = re.match(r'r(#*)"', text[i:]).group(1)
            end = text.find('"' + hashes, i + 2 + len(hashes))
            out.append('""')
            i = n if end < 0 else end + 1 + len(hashes)
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            out.append('""')
            i += 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:]):
            i += len(re.match(r"'(\\.[^']*|[^\\'])'", text[i:]).group(0))
            out.append("' '")
        else:
            out.append(c)
            i += 1
    code = "".join(out)
    # `#[cfg(test)] mod x { ... }`: cut to the matching brace.
    while True:
        m = re.search(r"#\[cfg\(test\)\]\s*(?:#\[[^\]]*\]\s*)*mod\s+" + IDENT + r"\s*\{", code)
        if not m:
            return code
        depth, j = 1, m.end()
        while j < len(code) and depth:
            depth += {"{": 1, "}": -1}.get(code[j], 0)
            j += 1
        code = code[: m.start()] + code[j:]


def use_tree(tree: str, prefix: list[str]) -> list[tuple[str, list[str]]]:
    """Expands a use tree into (bound name, path) pairs; `*` binds '*'."""
    tree = re.sub(r"\s+", "", tree)
    depth, i = 0, 0
    for i, c in enumerate(tree):
        if c == "{":
            depth += 1
            if depth == 1:
                head = [s for s in tree[:i].split("::") if s]
                inner = tree[i + 1 : tree.rindex("}")]
                parts, d, start = [], 0, 0
                for k, ch in enumerate(inner):
                    d += {"{": 1, "}": -1}.get(ch, 0)
                    if ch == "," and d == 0:
                        parts.append(inner[start:k])
                        start = k + 1
                parts.append(inner[start:])
                found = []
                for p in filter(None, parts):
                    found += use_tree(p, prefix + head)
                return found
    name, alias = tree, None
    path = [s for s in name.split("::") if s]
    if path and path[-1] == "self":
        path = path[:-1]
        return [(path[-1] if path else prefix[-1], prefix + path)] if (path or prefix) else []
    if path and path[-1] == "*":
        return [("*", prefix + path[:-1])]
    return [(alias or (path[-1] if path else ""), prefix + path)] if path else []


def parse_uses(code: str) -> list[tuple[bool, str, list[str]]]:
    found = []
    for m in USE.finditer(code):
        public = bool(m.group(1))
        body = m.group(2).strip()
        # Keep `as` renames readable: replace ` as x` by a marker before spaces go.
        renames = {}
        def mark(r):
            key = f"__as{len(renames)}"
            renames[key] = r.group(1)
            return key
        body = re.sub(r"\s+as\s+(" + IDENT + ")", lambda r: "@" + mark(r), body)
        for name, path in use_tree(body, []):
            if "@" in name:
                name = renames[name.split("@")[1]]
                path = path[:-1] + [path[-1].split("@")[0]]
            path = [p.split("@")[0] for p in path]
            found.append((public, name, path))
    return found


class Crate:
    def __init__(self, src: pathlib.Path, root: pathlib.Path):
        self.src, self.root = src, root
        self.modules: dict[tuple, pathlib.Path] = {}
        self.code: dict[pathlib.Path, str] = {}
        self.load(root, ())

    def load(self, path: pathlib.Path, mod: tuple):
        self.modules[mod] = path
        code = strip(path.read_text())
        self.code[path] = code
        base = path.parent if path.name in ("mod.rs", "lib.rs", "main.rs") else path.with_suffix("")
        for m in re.finditer(r"^\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?mod\s+(" + IDENT + r")\s*;", code, re.M):
            name = m.group(1)
            for cand in (base / f"{name}.rs", base / name / "mod.rs"):
                if cand.exists():
                    self.load(cand, mod + (name,))
                    break

    def file_mod(self, path: pathlib.Path) -> tuple:
        return next(m for m, p in self.modules.items() if p == path)

    def items(self, mod: tuple) -> set[str]:
        code = self.code[self.modules[mod]]
        return {m.group(2) for m in ITEM.finditer(code)} | {m.group(1) for m in MACRO.finditer(code)}

    def uses(self, mod: tuple):
        return parse_uses(self.code[self.modules[mod]])

    def absolute(self, mod: tuple, path: list[str]) -> list[str] | None:
        """A path as written in `mod`, made absolute (module segments from the root)."""
        if not path:
            return None
        head = path[0]
        if head == "crate":
            return list(path[1:])
        if head == "self":
            return list(mod) + path[1:]
        if head == "super":
            cur = list(mod)
            while path and path[0] == "super":
                if not cur:
                    return None
                cur.pop()
                path = path[1:]
            return cur + list(path)
        if mod + (head,) in self.modules:
            return list(mod) + list(path)
        for _, name, target in self.uses(mod):
            # `use foo::{foo, ..}` names an item of the external crate `foo` after itself.
            if name == head and target and target[0] != head:
                full = self.absolute(mod, target)
                return None if full is None else full + list(path[1:])
        return None

    def resolve(self, path: list[str], seen=None) -> pathlib.Path | None:
        """The file that defines what an absolute path names (re-exports followed)."""
        seen = seen or set()
        mod: tuple = ()
        for k, seg in enumerate(path):
            if mod + (seg,) in self.modules:
                mod = mod + (seg,)
                continue
            key = (mod, seg)
            if key in seen:
                return self.modules[mod]
            seen.add(key)
            if seg in self.items(mod):
                return self.modules[mod]
            for _, name, target in self.uses(mod):
                if name == seg:
                    full = self.absolute(mod, target)
                    if full is not None:
                        return self.resolve(full + list(path[k + 1 :]), seen)
            for _, name, target in self.uses(mod):
                if name == "*":
                    full = self.absolute(mod, target)
                    if full is not None:
                        got = self.resolve(full + [seg] + list(path[k + 1 :]), seen)
                        if got is not None:
                            return got
            return None
        return self.modules[mod]

    def edges(self):
        for mod, path in self.modules.items():
            code = self.code[path]
            refs = []
            for public, name, target in self.uses(mod):
                if not public:
                    refs.append(target)
            body = USE.sub(" ", code)
            body = re.sub(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+" + IDENT + r"\s*;", " ", body, flags=re.M)
            for m in PATH.finditer(body):
                refs.append([s.strip() for s in m.group(1).split("::")])
            for ref in refs:
                if ref and ref[0] in ("std", "core", "alloc", "tessera"):
                    continue
                full = self.absolute(mod, ref)
                if full is None:
                    continue
                target = self.resolve(full)
                if target is not None and target != path:
                    yield path, target


def cycles(graph: dict) -> list[list]:
    """Strongly connected components with more than one file (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def roots(src: pathlib.Path) -> list[pathlib.Path]:
    found = [p for p in (src / "lib.rs", src / "main.rs") if p.exists()]
    bins = src / "bin"
    if bins.is_dir():
        found += sorted(bins.glob("*.rs")) + sorted(bins.glob("*/main.rs"))
    return found


def check(src: pathlib.Path, show_graph: bool = False) -> list[str]:
    problems = []
    for root in roots(src):
        crate = Crate(src, root)
        graph: dict = {}
        for a, b in crate.edges():
            graph.setdefault(a, set()).add(b)
        if show_graph:
            for a in sorted(graph):
                for b in sorted(graph[a]):
                    print(f"{a.relative_to(src)} -> {b.relative_to(src)}")
        for comp in cycles(graph):
            names = [str(p.relative_to(src)) for p in comp]
            detail = []
            for a in comp:
                for b in sorted(graph[a] & set(comp)):
                    detail.append(f"    {a.relative_to(src)} -> {b.relative_to(src)}")
            problems.append("import cycle among " + ", ".join(names) + "\n" + "\n".join(detail))
    return problems


def self_check() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = pathlib.Path(tmp)
        (src / "a").mkdir()
        (src / "lib.rs").write_text("//! [`crate::b::Y`] in a comment is no edge.\npub mod a;\npub mod b;\n")
        (src / "a" / "mod.rs").write_text("mod x;\npub use x::X;\n")
        (src / "a" / "x.rs").write_text("pub struct X;\npub fn f() { let _ = crate::b::Y; }\n")
        (src / "b.rs").write_text('use crate::a::X;\npub struct Y;\nconst S: &str = "crate::nothing::Here";\n')
        found = check(src)
        if len(found) != 1 or "a/x.rs" not in found[0] or "b.rs" not in found[0]:
            sys.exit(f"self-check failed: the seeded cycle a/x.rs <-> b.rs was not reported: {found}")
        (src / "b.rs").write_text("pub struct Y;\n")
        if check(src):
            sys.exit("self-check failed: a tree without cycles was reported")
    print("module cycles self-check: a seeded cycle is reported, its removal clears it")


def main() -> None:
    if "--self-check" in sys.argv:
        self_check()
        return
    src = pathlib.Path(__file__).resolve().parent.parent / "src"
    problems = check(src, "--graph" in sys.argv)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        sys.exit(f"{len(problems)} import cycle(s) between files of src/: invert the dependency")
    print("no import cycles between files of src/")


if __name__ == "__main__":
    main()
