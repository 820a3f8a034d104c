#!/usr/bin/env python3
"""Strict reader of the Prometheus text exposition format 0.0.4 and of OpenMetrics 1.0 text,
as chaintop writes them (gauges only), for the tests.

Checks, failing with the line number:
  - every line is `# HELP name text`, `# TYPE name type`, a sample, `# EOF` (OpenMetrics,
    last line only) or, in 0.0.4, another comment;
  - every sample belongs to a family with a TYPE line before it (and HELP, for chaintop);
    a family's lines are one group (never reopened); HELP/TYPE once per family;
  - metric and label names are valid, label values are quoted with only the escapes
    \\\\, \\" and \\n, no label name twice in a sample;
  - values are floats (NaN, +Inf, -Inf allowed);
  - no series twice (the same name and label set).

Usage: prom_parse.py [--openmetrics] FILE   prints "ok N samples in M families"
       prom_parse.py --json [--openmetrics] FILE   the samples as JSON
As a module: parse(text, openmetrics=False) -> list of (name, {labels}, value).
"""
import json
import math
import re
import sys

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = {"gauge", "counter", "histogram", "summary", "untyped", "unknown", "info",
         "stateset", "gaugehistogram"}


class ParseError(Exception):
    pass


def _labels(s, pos, lineno):
    """Parse {a="b",...} starting at s[pos] == '{'; returns (dict, position after '}')."""
    out = {}
    pos += 1
    while True:
        if pos < len(s) and s[pos] == "}":
            return out, pos + 1
        m = LABEL.match(s, pos)
        if not m:
            raise ParseError("line %d: bad label name at column %d" % (lineno, pos + 1))
        name = m.group(0)
        pos = m.end()
        if s[pos:pos + 2] != '="':
            raise ParseError("line %d: expected =\" after label %s" % (lineno, name))
        pos += 2
        val = []
        while True:
            if pos >= len(s):
                raise ParseError("line %d: unterminated label value" % lineno)
            c = s[pos]
            if c == "\\":
                nxt = s[pos + 1:pos + 2]
                if nxt not in ("\\", '"', "n"):
                    raise ParseError("line %d: bad escape \\%s in label %s" % (lineno, nxt, name))
                val.append("\n" if nxt == "n" else nxt)
                pos += 2
            elif c == '"':
                pos += 1
                break
            elif c == "\n":
                raise ParseError("line %d: raw newline in label value" % lineno)
            else:
                val.append(c)
                pos += 1
        if name in out:
            raise ParseError("line %d: label %s twice" % (lineno, name))
        out[name] = "".join(val)
        if pos < len(s) and s[pos] == ",":
            pos += 1
            continue
        if pos < len(s) and s[pos] == "}":
            return out, pos + 1
        raise ParseError("line %d: expected , or } after label %s" % (lineno, name))


def _value(tok, lineno):
    if tok in ("NaN", "+Inf", "-Inf", "Inf"):
        return float(tok.replace("Inf", "inf").replace("NaN", "nan"))
    try:
        v = float(tok)
    except ValueError:
        raise ParseError("line %d: bad value %r" % (lineno, tok))
    if math.isnan(v) or math.isinf(v):
        raise ParseError("line %d: value %r spelt unusually" % (lineno, tok))
    return v


def parse(text, openmetrics=False):
    if not text.endswith("\n"):
        raise ParseError("the exposition does not end with a newline")
    lines = text[:-1].split("\n")
    if openmetrics:
        if not lines or lines[-1] != "# EOF":
            raise ParseError("OpenMetrics: the last line is not # EOF")
        lines = lines[:-1]
    types, helps, closed = {}, {}, set()
    current = None
    seen = set()
    samples = []
    for i, line in enumerate(lines, 1):
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                fam = parts[2]
                if not NAME.fullmatch(fam):
                    raise ParseError("line %d: bad family name %r" % (i, fam))
                if fam in closed or (fam != current and (fam in types or fam in helps)):
                    raise ParseError("line %d: family %s reopened" % (i, fam))
                if current is not None and current != fam:
                    closed.add(current)
                current = fam
                if parts[1] == "TYPE":
                    if fam in types:
                        raise ParseError("line %d: second TYPE for %s" % (i, fam))
                    if len(parts) != 4 or parts[3] not in TYPES:
                        raise ParseError("line %d: bad TYPE line" % i)
                    types[fam] = parts[3]
                else:
                    if fam in helps:
                        raise ParseError("line %d: second HELP for %s" % (i, fam))
                    helps[fam] = parts[3] if len(parts) == 4 else ""
                continue
            if line == "# EOF":
                raise ParseError("line %d: # EOF before the end" % i)
            if openmetrics:
                raise ParseError("line %d: OpenMetrics allows no other comments" % i)
            continue
        if not line:
            raise ParseError("line %d: empty line" % i)
        m = NAME.match(line)
        if not m:
            raise ParseError("line %d: bad metric name" % i)
        name = m.group(0)
        pos = m.end()
        labels = {}
        if pos < len(line) and line[pos] == "{":
            labels, pos = _labels(line, pos, i)
        rest = line[pos:]
        if not rest.startswith(" "):
            raise ParseError("line %d: expected a space before the value" % i)
        toks = rest[1:].split(" ")
        if len(toks) not in (1, 2) or not toks[0]:
            raise ParseError("line %d: expected a value and an optional timestamp" % i)
        v = _value(toks[0], i)
        if name not in types:
            raise ParseError("line %d: sample %s has no TYPE line before it" % (i, name))
        if name != current:
            raise ParseError("line %d: sample %s outside its family's group" % (i, name))
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            raise ParseError("line %d: series %s%s twice" % (i, name, labels))
        seen.add(key)
        samples.append((name, labels, v))
    for fam in types:
        if fam not in helps:
            raise ParseError("family %s has no HELP line" % fam)
    return samples


def main(argv):
    om = "--openmetrics" in argv
    as_json = "--json" in argv
    files = [a for a in argv if not a.startswith("--")]
    text = open(files[0], encoding="utf-8").read() if files else sys.stdin.read()
    try:
        s = parse(text, om)
    except ParseError as e:
        print("exposition error: %s" % e)
        return 1
    if as_json:
        print(json.dumps([[n, l, v] for n, l, v in s]))
    else:
        print("ok %d samples in %d families" % (len(s), len({n for n, _, _ in s})))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
