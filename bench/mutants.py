#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The mutants of bench/mutants: list them, or apply one to a copy.

A mutant is a small change of one of our files that stands for a bug; the
suites must kill it (make mutants, bench/mutants.sh).  The file format is
described at the top of bench/mutants.

  mutants.py list FILE                 NAME VARIANT, one mutant per line
  mutants.py apply FILE NAME DIR       apply NAME to the copy in DIR
  mutants.py check FILE DIR            every mutant applies to DIR, once
"""
import sys
from dataclasses import dataclass, field


@dataclass
class Mutant:
    name: str
    variant: str
    why: str
    path: str = ""
    lineno: int = 0
    old: list = field(default_factory=list)
    new: list = field(default_factory=list)


class Error(Exception):
    pass


def parse(path):
    """The mutants of PATH, in order; Error on a malformed entry."""
    mutants, cur = [], None
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            where = f"{path}:{n}"
            if line.startswith("#") or not line.strip():
                cur = None if not line.strip() else cur
                continue
            if line.startswith("mutant "):
                head, _, why = line.partition(" -- ")
                words = head.split()
                if len(words) != 3 or not why.strip():
                    raise Error(f"{where}: want 'mutant NAME VARIANT -- WHY'")
                if any(m.name == words[1] for m in mutants):
                    raise Error(f"{where}: mutant {words[1]} named twice")
                cur = Mutant(words[1], words[2], why.strip(), lineno=n)
                mutants.append(cur)
            elif cur is None:
                raise Error(f"{where}: a line outside a mutant: {line!r}")
            elif line.startswith("file "):
                cur.path = line[5:].strip()
            elif line[:1] == "-":
                cur.old.append(line[1:])
            elif line[:1] == "+":
                cur.new.append(line[1:])
            else:
                raise Error(f"{where}: want 'file PATH', '-OLD' or '+NEW'")
    for m in mutants:
        if not m.path or not m.old:
            raise Error(f"{path}:{m.lineno}: mutant {m.name} needs a file "
                        "and at least one '-' line")
        if m.old == m.new:
            raise Error(f"{path}:{m.lineno}: mutant {m.name} changes nothing")
    return mutants


def apply(m, root, write=True):
    """Replace M's old lines by its new ones in ROOT/M.path: exactly once."""
    target = f"{root}/{m.path}"
    with open(target, encoding="utf-8") as f:
        text = f.read()
    old = "\n".join(m.old) + "\n"
    new = "\n".join(m.new) + "\n" if m.new else ""
    count = ("\n" + text).count("\n" + old)
    if count != 1:
        raise Error(f"mutant {m.name}: its '-' lines occur {count} times in "
                    f"{m.path}, not once; update bench/mutants to the code")
    if write:
        with open(target, "w", encoding="utf-8") as f:
            f.write(("\n" + text).replace("\n" + old, "\n" + new, 1)[1:])


def main(argv):
    if len(argv) < 3 or argv[1] not in ("list", "apply", "check"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        mutants = parse(argv[2])
        if argv[1] == "list":
            for m in mutants:
                print(m.name, m.variant)
        elif argv[1] == "check":
            for m in mutants:
                apply(m, argv[3], write=False)
            print(f"{len(mutants)} mutants, each applies once")
        else:
            found = [m for m in mutants if m.name == argv[3]]
            if not found:
                raise Error(f"no mutant {argv[3]} in {argv[2]}")
            apply(found[0], argv[4])
            print(found[0].why)
    except (Error, OSError) as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
