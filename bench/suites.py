#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Read bench/suites, the suite table (see that file for its rows).

  suites.py plan LABEL [TABLE] [--only S,...]
                                  the guest plan of kernel LABEL, one
                                  program a line: STAGE TIMEOUT SUITE
                                  [VAR=VALUE...] COMMAND... (nothing for
                                  a kernel no run row names); --only: of
                                  these suites only (make test SUITES=)
  suites.py check [TABLE]         read the table; exit 1 with a one-line
                                  message on a malformed row

bench/initramfs.sh packs the plan as /tests/plan; bench/ktap.py imports
this module for the same rows.
"""
import fnmatch
import os
import re
import sys

TABLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'suites')
STAGES = ('boot', 'early', 'nomod', 'main', 'host')
KINDS = ('run', 'skip', 'xfail', 'figure', 'taint', 'absent', 'leak',
         'source', 'nodetector')
# The run-time detectors a kernel may be built without (nodetector rows).
DETECTORS = ('lockdep', 'kmemleak')
# The taint flags, bit by bit (Documentation/admin-guide/tainted-kernels.rst).
TAINT_FLAGS = 'PFSRMBUDAWCIOELKXTN'


class TableError(Exception):
    pass


class Row:
    """One row: its kind, kernel patterns, fields, reason and line."""

    def __init__(self, kind, kernels, fields, why, line):
        self.kind, self.kernels, self.fields = kind, kernels, fields
        self.why, self.line = why, line

    def matches(self, label):
        return any(fnmatch.fnmatchcase(label, k) for k in self.kernels)


class Run:
    """A run row: a suite, its plan, timeout, stage and command."""

    def __init__(self, row):
        f = row.fields
        if len(f) < 4:
            raise TableError('line %d: a run row needs SUITE PLAN TIMEOUT '
                             'STAGE' % row.line)
        self.suite, plan, timeout, self.stage = f[:4]
        if plan != '-' and not plan.isdigit():
            raise TableError('line %d: plan "%s" is not a number or "-"' %
                             (row.line, plan))
        if timeout != '-' and not timeout.isdigit():
            raise TableError('line %d: timeout "%s" is not seconds or "-"' %
                             (row.line, timeout))
        if self.stage not in STAGES:
            raise TableError('line %d: stage "%s" is not one of %s' %
                             (row.line, self.stage, ', '.join(STAGES)))
        self.plan = None if plan == '-' else int(plan)
        self.timeout = None if timeout == '-' else int(timeout)
        rest = f[4:]
        self.env = [w for w in rest if re.match(r'^[A-Z_][A-Z0-9_]*=', w)]
        self.command = rest[len(self.env):]
        if rest[:len(self.env)] != self.env:
            raise TableError('line %d: VAR=VALUE words come before the '
                             'command' % row.line)


class Figure:
    """A figure row: NAME, KEY and its bound."""

    def __init__(self, row):
        f = row.fields
        if len(f) < 3:
            raise TableError('line %d: a figure row needs NAME KEY MIN' %
                             row.line)
        self.name = ' '.join(f[:-2])
        self.key, self.bound = f[-2], f[-1]
        self.why = row.why
        m = re.match(r'^(?:(-)|<=(\d+)|(\d+)|(\d+)%(\S+)|'
                     r'asked:([a-z]+)(?:/(\d+)|-(\d+))?)$', self.bound)
        if not m:
            raise TableError('line %d: bound "%s" is not N, <=N, P%%KEY, '
                             'asked:X[/N|-N] or -' % (row.line, self.bound))
        # The bound, read once: at most MOST; at least LEAST; at least PCT
        # per cent of the same line's OF; at least what the host asked for
        # ASKED, divided by DIV, less MINUS.
        num = [int(g) if g and g.isdigit() else None for g in m.groups()]
        self.most, self.least, self.pct = num[1], num[2], num[3]
        self.of, self.asked = m.group(5), m.group(6)
        self.div, self.minus = num[6] or 1, num[7] or 0

    def minimum(self, values, asked):
        """The least the figure may be, given the line's VALUES and the
        strengths ASKED, and what that minimum comes from."""
        if self.asked:
            return (asked[self.asked] // self.div - self.minus,
                    'asked %s=%d' % (self.asked, asked[self.asked]))
        if self.pct is not None:
            return (self.pct * values.get(self.of, 0) / 100.0,
                    '%d%% of %s' % (self.pct, self.of))
        return self.least, 'the table'


class Xfail:
    def __init__(self, row):
        f = row.fields
        if len(f) != 4 or not f[3].isdigit():
            raise TableError('line %d: an xfail row needs SUITE CASE '
                             'FUNCTION COUNT' % row.line)
        self.suite, self.case, self.func = f[:3]
        self.count = int(f[3])
        self.what = row.why
        re.compile(self.case)


class Table:
    """The table's rows; with ONLY (suite names), the table of a run of
    those suites only: the other programs, their figures (source rows)
    and their xfail rows are left out.  KUnit (stage boot) and the static
    checks (host) are kept, as they run whatever the plan."""

    def __init__(self, path=TABLE, only=None):
        self.path = path
        self.rows = []
        self.only = set(only) if only else None
        try:
            with open(path) as fh:
                text = fh.readlines()
        except OSError as e:
            raise TableError('cannot read the suite table %s: %s' %
                             (path, e.strerror))
        for n, line in enumerate(text, 1):
            line = line.rstrip('\n')
            if line.lstrip().startswith('#') or not line.strip():
                continue
            why = ''
            if ' -- ' in line:
                line, why = line.split(' -- ', 1)
            f = line.split()
            if f[0] not in KINDS or len(f) < 3:
                raise TableError('%s line %d: "%s" is not a row (kinds: %s)'
                                 % (path, n, line.strip(), ', '.join(KINDS)))
            row = Row(f[0], f[1].split(','), f[2:], why.strip(), n)
            try:
                if row.kind == 'run':
                    row.run = Run(row)
                elif row.kind == 'figure':
                    row.figure = Figure(row)
                elif row.kind == 'xfail':
                    row.xfail = Xfail(row)
                elif row.kind == 'taint':
                    bad = set(row.fields[0]) - set(TAINT_FLAGS + '-')
                    if bad:
                        raise TableError('line %d: unknown taint flag %s' %
                                         (n, ''.join(sorted(bad))))
                elif row.kind == 'source' and len(f) < 4:
                    raise TableError('line %d: a source row needs SUITE '
                                     'NAME' % n)
                elif row.kind == 'nodetector' and (
                        f[2] not in DETECTORS or not why.strip()):
                    raise TableError('line %d: a nodetector row names one of'
                                     ' %s, and why' % (n, ', '.join(DETECTORS)))
                elif row.kind == 'skip' and len(f) < 5:
                    raise TableError('line %d: a skip row needs SUITE CASE '
                                     'REASON' % n)
            except (TableError, re.error) as e:
                raise TableError('%s %s' % (path, e))
            self.rows.append(row)

    def rows_for(self, label, kind):
        return [r for r in self.rows if r.kind == kind and r.matches(label)]

    def runs(self, label):
        """The run rows of LABEL, in table order, one per suite."""
        seen = {}
        for r in self.rows_for(label, 'run'):
            if r.run.suite in seen:
                raise TableError('%s line %d: %s already runs %s (line %d)'
                                 % (self.path, r.line, label, r.run.suite,
                                    seen[r.run.suite]))
            seen[r.run.suite] = r.line
        for suite, _ in self.absent(label):
            if suite in seen:
                raise TableError('%s: %s both runs and lacks %s (line %d)' %
                                 (self.path, label, suite, seen[suite]))
        runs = [r.run for r in self.rows_for(label, 'run')]
        if self.only is None or \
                all(r.stage in ('boot', 'host') for r in runs):
            return runs
        always = {r.suite for r in runs if r.stage in ('boot', 'host')}
        if self.only & always:
            raise TableError('SUITES names %s, which %s runs whatever '
                             'the plan (KUnit at boot): name programs' %
                             (', '.join(sorted(self.only & always)), label))
        unknown = self.only - {r.suite for r in runs}
        if unknown:
            raise TableError('SUITES names %s, which %s does not run; its '
                             'suites: %s' % (', '.join(sorted(unknown)),
                                             label, ', '.join(
                                                 r.suite for r in runs
                                                 if r.stage not in
                                                 ('boot', 'host'))))
        return [r for r in runs
                if r.stage in ('boot', 'host') or r.suite in self.only]

    def source(self, label, name):
        """The suite that prints LABEL's figure NAME (None: /init)."""
        for r in self.rows_for(label, 'source'):
            words = r.fields[1:]
            if name.split()[:len(words)] == words:
                return r.fields[0]
        return None

    def absent(self, label):
        """The suites LABEL does not run, each with the reason."""
        return [(r.fields[0], r.why) for r in self.rows_for(label, 'absent')]

    def nodetector(self, label, detector):
        """Why LABEL is built without DETECTOR, or None when it has it."""
        for r in self.rows_for(label, 'nodetector'):
            if r.fields[0] == detector:
                return r.why
        return None

    def leaks(self, label):
        """The known leaks of LABEL: (function, reason)."""
        return [(r.fields[0], r.why) for r in self.rows_for(label, 'leak')]

    def figures(self, label):
        figs = [r.figure for r in self.rows_for(label, 'figure')]
        if self.only is None:
            return figs
        kept = {r.suite for r in self.runs(label)} | {None}
        return [f for f in figs if self.source(label, f.name) in kept]

    def xfails(self, label):
        xs = [r.xfail for r in self.rows_for(label, 'xfail')]
        if self.only is None:
            return xs
        kept = {r.suite for r in self.runs(label)}
        return [x for x in xs if x.suite in kept]

    def taint_allowed(self, label):
        """The taint flags LABEL may end with, each with its reason."""
        allowed = {}
        for r in self.rows_for(label, 'taint'):
            for c in r.fields[0].replace('-', ''):
                allowed[c] = r.why
        return allowed

    def skip_allowed(self, label, suite, case, why):
        return any(r.fields[0] == suite and
                   fnmatch.fnmatchcase(case, r.fields[1]) and
                   why.startswith(' '.join(r.fields[2:]))
                   for r in self.rows_for(label, 'skip'))

    def plan(self, label, pseries=False):
        """The guest's plan lines of LABEL: STAGE TIMEOUT SUITE CMD..."""
        out = []
        for r in self.runs(label):
            if r.stage in ('boot', 'host'):
                continue
            cmd = r.command or [('' if pseries else 'kselftests/') + r.suite]
            out.append(' '.join([r.stage, str(r.timeout or 0), r.suite] +
                                r.env + cmd))
        return out


def main(argv):
    try:
        if len(argv) >= 2 and argv[0] == 'plan':
            only = None
            if '--only' in argv:
                i = argv.index('--only')
                if i + 1 >= len(argv):
                    raise TableError('--only needs suite names')
                only = [s for s in re.split(r'[,\s]+', argv[i + 1]) if s]
                argv = argv[:i] + argv[i + 2:]
            t = Table(argv[2] if len(argv) > 2 else TABLE, only=only)
            for line in t.plan(argv[1], pseries=argv[1].endswith('-ppc64')):
                print(line)
            return 0
        if argv and argv[0] == 'check':
            Table(argv[1] if len(argv) > 1 else TABLE)
            return 0
    except TableError as e:
        print('suites.py: %s' % e, file=sys.stderr)
        return 1
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
