#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Read KTAP from test guest console logs and print the verdict.

  ktap.py [--run-id ID] [--oracle LABEL ...] [--failed WHY ...]
          [--timing FILE] [--manifest FILE [--reduced]]
          LABEL=LOG [LABEL=LOG ...] [--compare A,B ...]

Each LOG is the console of one kernel.  KUnit suites (nested KTAP before
/init runs) and kselftest programs (TAP between the guest's
"# kvm-vfio-guest: running X" and "... X exited N" markers) are counted
case by case.  A kernel splat (WARN, BUG, Oops, lockdep, KASAN, hung task),
a program that exits non-zero without a failed case, a plan with missing
results, or a guest that never reported "done" each count as a failed case.
With --compare A,B every case of a kselftest program that both kernels ran
whose result differs between kernels A and B counts as a failed case,
except a SKIP on kernel A whose reason starts "feature absent:" (a feature
stock lacks, such as our trace events), which is listed as expected.

KNOWN_BUGS lists the upstream bugs our tests find on the stock kernels:
there, a matching case that fails and that bug's own WARN (which must
appear, as often as the entry says) are reported as "expected (known
upstream bug)" and counted as skipped, not as failures; on every other
kernel they are failures like any other.

With --manifest (bench/expect), each kernel must run exactly the suites
the manifest lists for it, with their plans; a skip it does not allow, a
missing figure it needs (kmemleak), a fail_nth sweep that found no
failure point, or a fuzzer below its floor is a failure.  --reduced (make
test) checks the fuzzer's share of calls that reach the file code, not
its absolute floor.

With --run-id, a log counts only if it is this run's: its first line,
written by the host before the step starts, and the guest's echo of its
command line both name ID.  An --oracle kernel (a stock kernel) may
instead carry the results of an earlier run that bench/run.sh reused,
and only an oracle may skip for "feature absent:" in a comparison.  Each
--failed WHY is a step that did not produce a log (a kernel that did not
build), counted as a failed case.  --timing FILE is the run's timing table
(bench/lib.sh timing), printed with the time of each suite in each guest.

Prints a summary per kernel and per suite and ends with the line
"N passed, N failed, N skipped"; exits 1 if anything failed.
"""
import fnmatch
import re
import sys

TS = re.compile(r'^\[\s*\d+\.\d+\]\s?')
RESULT = re.compile(r'^(\s*)(not ok|ok) (\d+)(?: (?:- )?([^#]*?))?\s*(?:#\s*(.*))?$')
SPLAT = re.compile(
    r'(WARNING: .* at |WARNING: CPU: |BUG: |Oops: |Kernel panic|general protection fault|'
    r'possible circular locking|possible recursive locking|inconsistent lock state|'
    r'suspicious RCU usage|KASAN: |UBSAN: |unreferenced object 0x|INFO: task .* blocked|'
    r'rcu_sched self-detected stall|soft lockup|hard LOCKUP|list_add corruption|'
    r'list_del corruption|DEBUG_LOCKS_WARN_ON)')
MARK_RUN = re.compile(r'^# kvm-vfio-guest: running (\S+)(?: at ([\d.]+))?')
MARK_EXIT = re.compile(r'^# kvm-vfio-guest: (\S+) exited (\d+)(?: at ([\d.]+))?')
STAMP = re.compile(r'^\[\s*(\d+\.\d+)\]')
BENCH_RUN = re.compile(r'^# kvm-vfio-bench: run (\S+)')
BENCH_REUSED = re.compile(r'^# kvm-vfio-bench: reused run (\S+)')
BENCH_FAILED = '# kvm-vfio-bench: FAILED: '
GUEST_RUN = re.compile(r'^# kvm-vfio-guest: run id (\S+)')
MARK_DONE = '# kvm-vfio-guest: done'
# A SKIP for a feature this kernel does not have (our trace events on the
# stock kernel): an expected difference when kernels are compared.
ABSENT = 'feature absent:'
# The upstream bugs our tests find on a stock kernel.  Each entry: the
# kernel label suffix, the suite, the cases that must FAIL there (a skip is
# not excused), the function whose WARN must appear in the log exactly
# COUNT times (a missing WARN fails: the case did not reproduce the bug),
# and what it is.  Only that WARN's own report line is excused.
KNOWN_BUGS = [
    ('-stock-ppc64', 'kvm_vfio_spapr_test',
     r'^group\.(del|release)_without_table_no_warn$',
     'kvm_spapr_tce_release_vfio_group', 1,
     'upstream WARN_ON_ONCE in kvm_spapr_tce_release_vfio_group on DEL or '
     'release of a group that never had a TCE table; fixed by '
     'patches/upstream/6.12/0001'),
    # kvm_vfio_file_set_spapr_tce() is inlined: its WARN names the caller.
    ('-stock-ppc64', 'kvm_vfio_spapr_test',
     r'^group\.attach_after_device_gone_no_warn$',
     'kvm_vfio_set_attr', 1,
     'upstream WARN_ON_ONCE in kvm_vfio_file_set_spapr_tce on SET_SPAPR_TCE '
     'of a tracked group whose iommu group went away; fixed by '
     'patches/upstream/6.12/0002'),
]


class Suite:
    def __init__(self, name):
        self.name = name
        self.cases = {}          # case name -> 'pass' | 'fail' | 'skip'
        self.notes = []          # why extra failures were counted
        self.plan = None
        self.absent = set()      # cases skipped for a feature this kernel lacks
        self.known = {}          # case -> known upstream bug it shows
        self.why = {}            # skipped case -> its reason
        self.allowed = set()     # skips bench/expect allows on this kernel
        self.start = None        # guest uptime (s) when it started
        self.secs = None         # how long it ran

    def add(self, name, status, directive=None):
        while name in self.cases:
            name += "'"
        self.cases[name] = status
        if status == 'skip':
            self.why[name] = re.sub(r'^(?i:skip)\s*', '', directive or '')
            if ABSENT in (directive or ''):
                self.absent.add(name)

    def count(self, status):
        return sum(1 for s in self.cases.values() if s == status)


def status_of(ok, directive):
    d = (directive or '').strip().upper()
    if d.startswith('SKIP'):
        return 'skip'
    if d.startswith('XFAIL'):
        return 'pass'
    return 'pass' if ok == 'ok' else 'fail'


class Ids:
    """The run ids a log names: host's, reused run's and the guest's."""
    host = reused = guest = None


def parse(path, ids=None):
    """Return (suites, problems, figures) for one console log."""
    suites, problems = [], []
    ids = ids if ids is not None else Ids()
    try:
        with open(path, errors='replace') as f:
            raw = [l.rstrip('\r\n') for l in f]
    except OSError:
        return suites, ['no log at %s: the step did not run in this run' % path], []
    stamps = []
    for l in raw:
        m = STAMP.match(l)
        stamps.append(float(m.group(1)) if m else None)
    lines = [TS.sub('', l) for l in raw]
    for l in lines[:3]:
        m = BENCH_RUN.match(l)
        if m and ids.host is None:
            ids.host = m.group(1)
        m = BENCH_REUSED.match(l)
        if m:
            ids.reused = m.group(1)
    for l in lines:
        if l.startswith(BENCH_FAILED):
            problems.append('the host: ' + l[len(BENCH_FAILED):])
        m = GUEST_RUN.match(l)
        if m and ids.guest is None:
            ids.guest = m.group(1)

    figures = []     # "# kvm-vfio-figures: ..." lines of the tools
    kunit = None     # current KUnit suite
    kself = None     # current kselftest program
    done = False
    for i, line in enumerate(lines):
        if SPLAT.search(line):
            problems.append('kernel splat: ' + line.strip())
        if line.startswith('# kvm-vfio-figures: '):
            figures.append(line[len('# kvm-vfio-figures: '):].strip())
        m = MARK_RUN.match(line)
        if m:
            kunit = None
            kself = Suite(m.group(1))
            if m.group(2):
                kself.start = float(m.group(2))
            suites.append(kself)
            continue
        m = MARK_EXIT.match(line)
        if m and kself:
            if m.group(3) and kself.start is not None:
                kself.secs = float(m.group(3)) - kself.start
            if kself.plan is not None and len(kself.cases) < kself.plan:
                kself.notes.append('%d of %d planned results missing' %
                                   (kself.plan - len(kself.cases), kself.plan))
                kself.add('(missing results)', 'fail')
            if m.group(2) != '0' and not kself.count('fail'):
                kself.notes.append('exited %s with no failed case' % m.group(2))
                kself.add('(exit status %s)' % m.group(2), 'fail')
            kself = None
            continue
        if line.strip() == MARK_DONE:
            done = True
            continue
        if kself:
            m = re.match(r'^1\.\.(\d+)', line)
            if m:
                kself.plan = int(m.group(1))
                continue
            m = RESULT.match(line)
            if m and not m.group(1):
                kself.add(m.group(4) or 'case %s' % m.group(3),
                          status_of(m.group(2), m.group(5)), m.group(5))
            continue
        # KUnit, before /init: suites at depth 1, cases at depth 1 too.
        m = re.match(r'^    # Subtest: (\S+)', line)
        if m:
            kunit = Suite('kunit:' + m.group(1))
            kunit.start = stamps[i]
            suites.append(kunit)
            continue
        m = re.match(r'^    1\.\.(\d+)', line)
        if m and kunit is not None:
            kunit.plan = int(m.group(1))
            continue
        m = RESULT.match(line)
        if m and kunit is not None:
            indent = len(m.group(1))
            if indent == 4:
                kunit.add(m.group(4) or 'case %s' % m.group(3),
                          status_of(m.group(2), m.group(5)))
            elif indent == 0:
                if kunit.start is not None and stamps[i] is not None:
                    kunit.secs = stamps[i] - kunit.start
                if m.group(2) == 'not ok' and not kunit.count('fail'):
                    kunit.notes.append('suite failed with no failed case')
                    kunit.add('(suite)', 'fail')
                kunit = None
    if kself is not None:
        kself.notes.append('never finished')
        kself.add('(did not finish)', 'fail')
    for s in suites:
        if s.name.startswith('kunit:') and s.plan and len(s.cases) < s.plan:
            s.notes.append('%d of %d planned results missing' %
                           (s.plan - len(s.cases), s.plan))
            s.add('(missing results)', 'fail')
    if not done:
        problems.append('the guest never reported "done" (crash, hang or early exit)')
    return suites, problems, figures


def apply_known_bugs(label, suites, problems):
    """Mark what KNOWN_BUGS expects of kernel LABEL; return the notes."""
    notes = []
    for suffix, suite, case_re, func, count, what in KNOWN_BUGS:
        if not label.endswith(suffix):
            continue
        for s in suites:
            if s.name != suite:
                continue
            for c, st in s.cases.items():
                if st == 'fail' and re.search(case_re, c):
                    s.cases[c] = 'xfail'
                    s.known[c] = what
        own = [p for p in problems if p.startswith('kernel splat: WARNING:')
               and re.search(r'\b%s\+0x' % re.escape(func), p)]
        for pr in own:
            problems.remove(pr)
            notes.append('%s (%s)' % (pr, what))
        if len(own) != count:
            problems.append('known upstream bug: expected %d WARN in %s, '
                            'saw %d (%s)' % (count, func, len(own), what))
    return notes


class Manifest:
    """bench/expect: the suites, plans, skips and figures each kernel must
    show.  See that file for its rows."""

    def __init__(self, path):
        self.rows = []
        with open(path) as f:
            for n, l in enumerate(f, 1):
                l = l.rstrip('\n')
                if l.lstrip().startswith('#') or not l.strip():
                    continue
                why = ''
                if ' -- ' in l:
                    l, why = l.split(' -- ', 1)
                f_ = l.split()
                kind, kernels = f_[0], f_[1].split(',')
                self.rows.append((kind, kernels, f_[2:], why.strip(), n))

    def rows_for(self, label, kind):
        return [r for r in self.rows if r[0] == kind and
                any(fnmatch.fnmatchcase(label, k) for k in r[1])]

    def check(self, label, suites, figures, reduced):
        """Problems of kernel LABEL against the manifest."""
        problems = []
        runs = {r[2][0]: r[2][1] for r in self.rows_for(label, 'run')}
        if not runs:
            return ['no "run" row of bench/expect names kernel %s' % label]
        names = [su.name for su in suites]
        for name, plan in runs.items():
            if name not in names:
                problems.append('%s did not run (bench/expect: every %s '
                                'kernel runs it)' % (name, label))
        for su in suites:
            if su.name not in runs:
                problems.append('%s ran, but bench/expect does not list it '
                                'for %s' % (su.name, label))
                continue
            plan = runs[su.name]
            n = len([c for c in su.cases if not c.startswith('(')])
            if plan == '-' and n == 0:
                su.notes.append('printed no results (bench/expect wants at '
                                'least one)')
                su.add('(no results)', 'fail')
            elif plan != '-' and (su.plan != int(plan) or n != int(plan)):
                su.notes.append('plan %s with %d results; bench/expect wants '
                                '%s' % (su.plan, n, plan))
                su.add('(plan)', 'fail')
        skips = self.rows_for(label, 'skip')
        for su in suites:
            for c, st in list(su.cases.items()):
                if st != 'skip':
                    continue
                why = su.why.get(c, '')
                if any(r[2][0] == su.name and
                       fnmatch.fnmatchcase(c, r[2][1]) and
                       why.startswith(' '.join(r[2][2:])) for r in skips):
                    su.allowed.add(c)
                else:
                    su.cases[c] = 'fail'
                    su.notes.append('%s skipped (%s), which bench/expect does '
                                    'not allow on %s' % (c, why, label))
        for r in self.rows_for(label, 'need'):
            if not any(fig.startswith(r[2][0] + ' ') for fig in figures):
                problems.append('no %s figure: bench/expect says kernel %s '
                                'has it' % (r[2][0], label))
        zero_ok = {r[2][0] for r in self.rows_for(label, 'sweep')}
        for fig in figures:
            m = re.match(r'fail_nth (.*) failure_points=(\d+)', fig)
            if m and m.group(2) == '0' and m.group(1) not in zero_ok:
                problems.append('fail_nth sweep "%s" found no failure point: '
                                'it injected nothing' % m.group(1))
        floors = self.rows_for(label, 'floor')
        if floors:
            fuzz = [fig for fig in figures if fig.startswith('fuzz ')]
            if 'kvm_vfio_fuzz_test' in runs and not fuzz:
                problems.append('the fuzzer printed no figures')
            # The strictest of the rows that name this kernel.
            pct = max(int(r[2][0]) for r in floors)
            mins = [int(r[2][1]) for r in floors if r[2][1] != '-']
            least = str(max(mins)) if mins else '-'
            for fig in fuzz:
                calls = int(re.search(r'calls=(\d+)', fig).group(1))
                m = re.search(r'reached=(\d+)', fig)
                reached = int(m.group(1)) if m else 0
                if reached * 100 < pct * calls:
                    problems.append('the fuzzer reached the file code in '
                                    '%d of %d calls, below the floor of '
                                    '%d%%' % (reached, calls, pct))
                if least != '-' and not reduced and reached < int(least):
                    problems.append('the fuzzer reached the file code in '
                                    '%d calls, below the floor of %s'
                                    % (reached, least))
        return problems


def check_ids(label, ids, run_id, oracle):
    """Problems if the log of LABEL is not this run's."""
    if run_id is None:
        return []
    if ids.host != run_id:
        return ['the log is not this run\'s (it names run %s, this is %s): '
                'the step did not run' % (ids.host or 'none', run_id)]
    want = run_id
    if ids.reused:
        if not oracle:
            return ['results reused from run %s, but only an oracle kernel '
                    'may reuse results' % ids.reused]
        want = ids.reused
    if ids.guest is not None and ids.guest != want:
        return ['the guest named run %s, expected %s: not this run\'s '
                'output' % (ids.guest, want)]
    return []


def print_timing(path, results):
    """The timing table: each phase of the run, and each suite of a guest."""
    try:
        with open(path) as f:
            rows = [l.rstrip('\n').split('\t') for l in f if l.strip()]
    except OSError:
        print('timing: no table at %s' % path)
        return
    print('timing (seconds):')
    for row in rows:
        name, secs, note = (row + ['', ''])[:3]
        print('  %-44s %6s  %s' % (name, secs, note))
        if name.startswith('guest ') and name[6:] in results:
            for su in results[name[6:]]:
                if su.secs is not None:
                    print('      %-40s %6.0f' % (su.name, su.secs))


def main(argv):
    compares = []
    runs = []
    oracles = set()
    failed_steps = []
    run_id = timing = manifest = None
    reduced = False
    args = iter(argv)
    for a in args:
        if a == '--compare':
            compares.append(next(args).split(','))
        elif a == '--run-id':
            run_id = next(args)
        elif a == '--oracle':
            oracles.add(next(args))
        elif a == '--failed':
            failed_steps.append(next(args))
        elif a == '--timing':
            timing = next(args)
        elif a == '--manifest':
            manifest = Manifest(next(args))
        elif a == '--reduced':
            reduced = True
        elif '=' in a:
            runs.append(tuple(a.split('=', 1)))
        else:
            sys.exit('usage: ktap.py LABEL=LOG ... [--compare A,B]\n'
                     '(a LABEL starting with a kernel line, e.g. 6.12-ours, '
                     'is also counted per line)')

    total = {'pass': 0, 'fail': 0, 'skip': 0}
    per_line = {}

    def count(label, key, n):
        """Add N to the total and to the total of LABEL's kernel line."""
        total[key] += n
        m = re.match(r'(\d+\.\d+)-', label)
        if m:
            t = per_line.setdefault(m.group(1),
                                    {'pass': 0, 'fail': 0, 'skip': 0})
            t[key] += n

    results = {}
    for why in failed_steps:
        print('step FAILED: %s' % why)
        count(why, 'fail', 1)
    for label, log in runs:
        ids = Ids()
        suites, problems, figures = parse(log, ids)
        if not any(p.startswith('no log at') for p in problems):
            bad = check_ids(label, ids, run_id, label in oracles)
            if bad:
                suites, problems, figures = [], bad, []
            elif run_id is not None and ids.guest is None and \
                    not any(p.startswith('the host:') for p in problems):
                # This run's QEMU, but /init never ran: what the kernel
                # printed (a splat, a panic) is the cause.
                problems.append('the guest never echoed its run id: it '
                                'died before /init ran')
        if ids.reused and not problems:
            figures.insert(0, 'results reused from run %s (oracle kernel, '
                           'same kernel, initramfs and command line)' % ids.reused)
        expected_splats = apply_known_bugs(label, suites, problems)
        if manifest and suites:
            problems += manifest.check(label, suites, figures, reduced)
        results[label] = suites
        print('kernel %s (console log: %s)' % (label, log))
        for fig in figures:
            print('  %s' % fig)
        if not label.endswith('static-checks'):
            n = sum(1 for p in problems if p.startswith('kernel splat'))
            print('  splats: %d%s' % (n, ' (+%d expected, listed below)' %
                                      len(expected_splats)
                                      if expected_splats else ''))
        for s in suites:
            p, f, k = s.count('pass'), s.count('fail'), s.count('skip')
            x = s.count('xfail')
            for key, n in (('pass', p), ('fail', f), ('skip', k + x)):
                count(label, key, n)
            print('  %-28s %4d passed, %d failed, %d skipped%s' %
                  (s.name, p, f, k, ', %d expected failures' % x if x else ''))
            for name, st in s.cases.items():
                if st == 'fail':
                    print('      FAILED: %s' % name)
                elif st == 'xfail':
                    print('      expected: %s: known upstream bug: %s' %
                          (name, s.known[name]))
            for n in s.notes:
                print('      note: %s' % n)
        for n in expected_splats:
            print('  expected: %s' % n)
        if not suites and not problems:
            problems.append('no test results in the console log')
        for pr in problems:
            print('  FAILED: %s' % pr)
        count(label, 'fail', len(problems))

    for a, b in compares:
        if a not in results or b not in results:
            continue
        # kselftest suites both kernels ran; KUnit and kernel-specific
        # suites (the module phases) are not compared.
        common = ({s.name for s in results[a]} & {s.name for s in results[b]})
        common = {n for n in common if not n.startswith('kunit:')}
        ra = {(s.name, c): st for s in results[a] if s.name in common
              for c, st in s.cases.items()}
        rb = {(s.name, c): st for s in results[b] if s.name in common
              for c, st in s.cases.items()}
        # Only an oracle (a stock kernel) may lack a feature; a known
        # upstream bug is the stock kernel's too.
        absent = {(s.name, c) for s in results[a] if s.name in common
                  for c in (s.absent | s.allowed if a in oracles or
                            not oracles else set()) | set(s.known)}
        # A skip bench/expect allows on either kernel (with its reason),
        # and the cases of a suite whose plan bench/expect sets apart per
        # kernel (the module kernel's autoload cases) that only one ran.
        absent |= {(s.name, c) for lab in (a, b) for s in results[lab]
                   if s.name in common for c in s.allowed}
        if manifest:
            plans = [{r[2][0]: r[2][1] for r in manifest.rows_for(lab, 'run')}
                     for lab in (a, b)]
            absent |= {k for k in set(ra) ^ set(rb)
                       if plans[0].get(k[0]) != plans[1].get(k[0])}
        diff = sorted(k for k in set(ra) | set(rb) if ra.get(k) != rb.get(k))
        expected = [k for k in diff if k in absent]
        diff = [k for k in diff if k not in absent]
        print('compare %s vs %s: %d kselftest cases, %d differ' %
              (a, b, len(set(ra) | set(rb)), len(diff)))
        for k in expected:
            print('  expected: %s %s: %s=%s %s=%s (%s)' %
                  (k[0], k[1], a, ra.get(k, 'absent'), b, rb.get(k, 'absent'),
                   'known upstream bug' if ra.get(k) == 'xfail'
                   else 'allowed on this kernel: bench/expect'))
        for k in diff:
            print('  DIFFERS: %s %s: %s=%s %s=%s' %
                  (k[0], k[1], a, ra.get(k, 'absent'), b, rb.get(k, 'absent')))
        if not ra:
            print('  FAILED: nothing to compare')
            count(a, 'fail', 1)
        count(a, 'fail', len(diff))

    if timing:
        print_timing(timing, results)
    if len(per_line) > 1:
        for line, t in sorted(per_line.items()):
            print('linux %-8s %d passed, %d failed, %d skipped' %
                  (line, t['pass'], t['fail'], t['skip']))
    print('%d passed, %d failed, %d skipped' % (total['pass'], total['fail'], total['skip']))
    return 1 if total['fail'] else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
