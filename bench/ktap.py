#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The verdict: read the console logs of a run and print its summary.

  ktap.py [--run-id ID] [--suites TABLE] [--oracle LABEL ...]
          [--failed WHY ...] [--timing FILE]
          LABEL=LOG [LABEL=LOG ...] [--compare A,B ...]

Each LOG is the console of one kernel, LABEL its name in bench/variants
(6.12-ours).  Everything the logs must show is in the suite table
(bench/suites, or TABLE): which suites run on which kernel with which
plan, the skips it allows, the known upstream failures, the figures and
their bounds, and the taint flags each kernel may end with.

What a log must show to pass (each miss is a failed case in the summary,
named by the line the summary prints):
- its first line, written by the host, names this run (--run-id) and
  this kernel (LABEL); the guest echoes the same run id;
- no kernel report: a WARN, BUG, Oops, panic, KASAN or UBSAN report,
  any lockdep report (every "WARNING:" or "INFO:" banner), an RCU stall,
  a soft lockup or a hung task (the patterns name the report; the taint
  and debug_locks below catch what they miss);
- the guest runner's plan (KTAP: "1..N", then "ok K NAME" or "not ok K
  NAME # TIMEOUT" per program, K = 1, 2, 3 ...), met, each program framed
  by "running" and "exited" markers with its exit status; the programs
  are exactly the kernel's run rows;
- each program's own TAP: a plan, results numbered 1, 2, 3 ... without
  gaps or duplicates, as many as planned and as the table says; an exit
  status other than 0 only with a failed case;
- every skip allowed by a skip row, every figure row met, the expected
  failures of the xfail rows (and their WARNs, exactly as often) and no
  others;
- the kernel's own verdict, printed last by the guest: no taint flag the
  table does not allow, and debug_locks 1 (every lockdep report turns it
  off);
- "done": a guest that crashed or hung never prints it.

With --compare A,B every case of a kselftest program both kernels ran
whose result differs between kernel A and B fails, except the skips each
kernel is allowed (an oracle's "feature absent:" skips) and xfail cases.
An --oracle kernel (stock) may carry the results of an earlier run that
bench/run.sh reused.  Each --failed WHY is a step that produced no log (a
kernel that did not build).  --timing FILE is the run's timing table.

Ends with the line "N passed, N failed, N skipped"; exits 1 if anything
failed.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import suites as table_mod  # noqa: E402

TS = re.compile(r'^\[\s*\d+\.\d+\]\s?')
STAMP = re.compile(r'^\[\s*(\d+\.\d+)\]')
RESULT = re.compile(r'^(\s*)(not ok|ok) (\d+)(?: (?:- )?([^#]*?))?\s*(?:#\s*(.*))?$')
PLAN = re.compile(r'^(\s*)1\.\.(\d+)\s*$')
# A program that skips as a whole (kselftest's ksft_exit_skip(), the
# harness's TEST_REQUIRE before any test): plan 0 and the reason.
SKIP_ALL = re.compile(r'^1\.\.0\s*#\s*SKIP\b\s*(.*)$', re.I)
# KSFT_SKIP, the exit status of a program that skipped.
KSFT_SKIP = 4
# Kernel reports.  Unambiguous phrases anywhere in a line (a report may
# start in the middle of a line a program was printing); the generic
# banners (every lockdep report, hung tasks, RCU stalls, KASAN, soft
# lockups) at the start of a line or right after a kernel timestamp.
SPLAT = re.compile(
    r'((?:^|\]\s)(?:rcu: |watchdog: )?(?:WARNING|INFO|BUG): |'
    r'Oops: |Kernel panic|general protection fault|'
    r'KASAN: |UBSAN: |unreferenced object 0x|'
    r'hard LOCKUP|list_add corruption|list_del corruption|'
    r'DEBUG_LOCKS_WARN_ON|kernel BUG at|invoked oom-killer|'
    r'Out of memory: )')
# Lines the generic banners match that report no fault: an NMI handler
# that ran long (TCG is slow).
HARMLESS = re.compile(r'INFO: NMI handler \(\S+\) took too long to run')
BENCH_HEAD = re.compile(r'^# kvm-vfio-bench: run (\S+) kernel (\S+) mode (\S+)(.*)$')
BENCH_REUSED = re.compile(r'^# kvm-vfio-bench: reused run (\S+)')
BENCH_FAILED = '# kvm-vfio-bench: FAILED: '
GUEST = '# kvm-vfio-guest: '
GUEST_RUN = re.compile(r'^# kvm-vfio-guest: run id (\S+)')
MARK_RUN = re.compile(r'^# kvm-vfio-guest: running (\S+)(?: at ([\d.]+))?')
MARK_EXIT = re.compile(r'^# kvm-vfio-guest: (\S+) exited (\d+)(?: at ([\d.]+))?')
MARK_TAINT = re.compile(r'^# kvm-vfio-guest: tainted (\S+)')
MARK_LOCKS = re.compile(r'^# kvm-vfio-guest: debug_locks (\S+)')
# /init's word that the kernel has no kmemleak (or it is off at run time).
NO_KMEMLEAK = '# kmemleak: not available'
MARK_DONE = '# kvm-vfio-guest: done'
FIGURE = '# kvm-vfio-figures: '
# A kmemleak record outside the device's code, one line (the guests').
LEAK = '# kmemleak: elsewhere: '
TOTALS = re.compile(r'^# Totals: pass:(\d+) fail:(\d+) xfail:(\d+) xpass:(\d+) skip:(\d+) error:(\d+)')
# A SKIP for a feature this kernel does not have (our trace events on the
# stock kernel): expected where kernels are compared.
ABSENT = 'feature absent:'
TAINT_NAMES = {
    'P': 'a proprietary module', 'F': 'a forced module load',
    'S': 'out-of-spec hardware', 'R': 'a forced unload',
    'M': 'a machine check', 'B': 'bad page or memory corruption',
    'U': 'a user request', 'D': 'an oops (the kernel died)',
    'A': 'an ACPI override', 'W': 'a WARN', 'C': 'a staging driver',
    'I': 'a firmware workaround', 'O': 'an out-of-tree module',
    'E': 'an unsigned module', 'L': 'a soft lockup', 'K': 'a live patch',
    'X': 'an auxiliary taint', 'T': 'a randstruct build',
    'N': 'a test (KUnit) ran'}


class Suite:
    """One suite of one kernel: a KUnit suite or a guest program."""

    def __init__(self, name):
        self.name = name
        self.cases = {}          # case -> 'pass' | 'fail' | 'skip' | 'xfail'
        self.notes = []          # why extra failures were counted
        self.plan = None
        self.numbers = []        # result numbers, in order
        self.absent = set()      # skipped for a feature this kernel lacks
        self.known = {}          # case -> the known upstream bug it shows
        self.why = {}            # skipped case -> its reason
        self.allowed = set()     # skips the table allows on this kernel
        self.start = None        # guest uptime (s) when it started
        self.secs = None         # how long it ran
        self.exit = None         # the program's exit status
        self.totals = None       # the harness's "# Totals:" counts
        self.skip_all = None     # why it skipped as a whole (1..0 # SKIP)

    def fail(self, case, note):
        self.notes.append(note)
        self.cases[case] = 'fail'

    def add(self, num, name, status, directive=None):
        """A result line: checked for its number and a repeated name."""
        want = len(self.numbers) + 1
        self.numbers.append(num)
        if num != want:
            self.fail('(numbering %d)' % num,
                      'result "%s" is number %d where %d was expected '
                      '(a duplicate, a gap or a restart)' % (name, num, want))
        if name in self.cases:
            self.fail('(duplicate %s)' % name,
                      'case %s reported twice' % name)
            return
        self.cases[name] = status
        if status == 'skip':
            self.why[name] = re.sub(r'^(?i:skip)\s*', '', directive or '')
            if ABSENT in (directive or ''):
                self.absent.add(name)

    def cut_off(self, case, note):
        """Its output ended without what it owed: one failure, then the
        end-of-output checks."""
        self.fail(case, note)
        self.close()

    def real(self):
        """The cases the program reported (not the verdict's own)."""
        return [c for c in self.cases if not c.startswith('(')]

    def count(self, status):
        return sum(1 for s in self.cases.values() if s == status)

    def close(self):
        """The end of its output: the plan must be met."""
        n = len(self.numbers)
        if self.plan is None and n:
            self.fail('(no plan)', 'printed %d results and no plan' % n)
        elif self.plan is not None and n != self.plan:
            self.fail('(plan)', 'plan 1..%d, but %d results' % (self.plan, n))
        if self.totals:
            # The kselftest harness's own count must match its results.
            p, f, xf, xp, sk, err = self.totals
            real = [(c, s) for c, s in self.cases.items()
                    if not c.startswith('(')]
            mine = (sum(1 for _, s in real if s == 'pass'),
                    sum(1 for _, s in real if s == 'fail'),
                    sum(1 for _, s in real if s == 'skip'))
            if (p + xf, f + xp + err, sk) != mine:
                self.fail('(totals)', 'its "# Totals" line (pass %d, fail %d,'
                          ' skip %d) does not match its results (%d, %d, %d)'
                          % ((p + xf, f + xp + err, sk) + mine))


def status_of(ok, directive):
    """A result's status.  A program may not excuse its own failure: an
    XFAIL or XPASS directive (the kselftest harness's XFAIL_ADD) is a
    failure; only the table's xfail rows excuse one."""
    d = (directive or '').strip().upper()
    if d.startswith('SKIP'):
        return 'skip'
    if d.startswith('XFAIL') or d.startswith('XPASS'):
        return 'fail'
    return 'pass' if ok == 'ok' else 'fail'


class Log:
    """What one console log holds."""

    def __init__(self):
        self.run = self.kernel = self.mode = self.reused = self.guest = None
        self.asked = {}          # strengths the host asked for
        self.suites = []
        self.problems = []
        self.figures = []        # "# kvm-vfio-figures:" lines
        self.leaks = []          # kmemleak records outside the device
        self.no_kmemleak = False  # /init found no kmemleak to scan with
        self.splats = []
        self.outer_plan = None   # the runner's "1..N"
        self.outer = []          # (number, name, ok, directive)
        self.taint = self.debug_locks = None
        self.kunit_plan = None   # KUnit's top-level "1..N"
        self.kunit_results = []  # and its suites' result numbers
        self.done = False
        self.missing = False


def parse(path):
    """Read one console log into a Log."""
    log = Log()
    try:
        with open(path, errors='replace') as f:
            raw = [l.rstrip('\r\n') for l in f]
    except OSError:
        log.missing = True
        log.problems.append('no log at %s: the step did not run in this run'
                            % path)
        return log
    stamps = []
    for l in raw:
        m = STAMP.match(l)
        stamps.append(float(m.group(1)) if m else None)
    lines = [TS.sub('', l) for l in raw]
    if lines:
        m = BENCH_HEAD.match(lines[0])
        if m:
            log.run, log.kernel, log.mode = m.group(1), m.group(2), m.group(3)
            log.asked = dict(re.findall(r'(\w+)=(\d+)', m.group(4)))
            log.asked = {k: int(v) for k, v in log.asked.items()}
    for l in lines[1:]:
        if l.startswith(GUEST) or STAMP.match(l):
            break
        m = BENCH_REUSED.match(l)
        if m:
            log.reused = m.group(1)

    kunit = None     # the KUnit suite being read
    prog = None      # the guest program being read
    in_guest = False
    outer_head = False
    for i, line in enumerate(lines):
        if line.startswith(BENCH_FAILED):
            log.problems.append('the host: ' + line[len(BENCH_FAILED):])
            continue
        m = SPLAT.search(line)
        if m and not HARMLESS.search(line):
            # A banner after a kernel timestamp in mid-line (a report that
            # cut into a program's line): from where the report starts.
            log.splats.append(line[m.start() + 1:].strip()
                              if m.group(0).startswith(']') else line.strip())
        if line.startswith(FIGURE):
            log.figures.append(line[len(FIGURE):].strip())
            continue
        if line.startswith(LEAK):
            log.leaks.append(line[len(LEAK):].strip())
            continue
        if line.strip() == NO_KMEMLEAK:
            log.no_kmemleak = True
            continue
        m = GUEST_RUN.match(line)
        if m:
            if log.guest is None:
                log.guest = m.group(1)
            in_guest = True
            if kunit is not None:
                kunit.cut_off('(no result)', 'never printed its result line')
                kunit = None
            continue
        m = MARK_RUN.match(line)
        if m:
            if prog is not None:
                prog.cut_off('(exit status lost)',
                             'its exit status was never printed: the next '
                             'program started')
            prog = Suite(m.group(1))
            if m.group(2):
                prog.start = float(m.group(2))
            log.suites.append(prog)
            continue
        m = MARK_EXIT.match(line)
        if m:
            if prog is None or prog.name != m.group(1):
                log.problems.append('"%s exited" without its "running" '
                                    'marker' % m.group(1))
                continue
            if m.group(3) and prog.start is not None:
                prog.secs = float(m.group(3)) - prog.start
            prog.exit = int(m.group(2))
            prog.close()
            if prog.exit != 0 and not prog.count('fail') and not (
                    prog.exit == KSFT_SKIP and prog.skip_all is not None
                    and not prog.numbers):
                prog.fail('(exit status %d)' % prog.exit,
                          'exited %d with no failed case' % prog.exit)
            prog = None
            continue
        m = MARK_TAINT.match(line)
        if m:
            log.taint = m.group(1)
            continue
        m = MARK_LOCKS.match(line)
        if m:
            log.debug_locks = m.group(1)
            continue
        if line.strip() == MARK_DONE:
            if prog is not None:
                prog.cut_off('(exit status lost)',
                             'its exit status was never printed')
                prog = None
            log.done = True
            continue
        if prog is not None:
            m = RESULT.match(line)
            if m and not m.group(1) and prog.exit is None and \
                    m.group(4) == prog.name and prog.plan is not None and \
                    len(prog.numbers) >= prog.plan:
                # The runner's own result line: the exit marker was lost.
                prog.cut_off('(exit status lost)',
                             'its exit status was never printed')
                prog = None
            else:
                m = SKIP_ALL.match(line)
                if m and prog.plan is not None:
                    prog.fail('(second plan)', 'printed a second plan, '
                              '%s' % line.strip())
                    continue
                if m:
                    prog.plan = 0
                    # TEST_REQUIRE's "- Requirement not met: ...".
                    prog.skip_all = re.sub(r'^-\s*', '', m.group(1).strip())
                    continue
                m = PLAN.match(line)
                if m and not m.group(1):
                    if prog.plan is not None:
                        prog.fail('(second plan)', 'printed a second plan '
                                  '1..%s' % m.group(2))
                    prog.plan = int(m.group(2))
                    continue
                m = RESULT.match(line)
                if m and not m.group(1):
                    prog.add(int(m.group(3)),
                             m.group(4) or 'case %s' % m.group(3),
                             status_of(m.group(2), m.group(5)), m.group(5))
                    continue
                m = TOTALS.match(line)
                if m:
                    prog.totals = tuple(int(x) for x in m.groups())
                continue
        if in_guest:
            # The runner's outer KTAP document.
            if re.match(r'^K?TAP version \d+$', line):
                outer_head = True
                continue
            m = PLAN.match(line)
            if m and not m.group(1) and outer_head:
                log.outer_plan = int(m.group(2))
                outer_head = False
                continue
            m = RESULT.match(line)
            if m and not m.group(1):
                log.outer.append((int(m.group(3)), m.group(4) or '',
                                  m.group(2) == 'ok', m.group(5) or ''))
            continue
        # KUnit, before /init: a suite at depth 1, its cases at depth 2.
        m = PLAN.match(line)
        if m and not m.group(1):
            log.kunit_plan = int(m.group(2))
            continue
        m = RESULT.match(line)
        if m and not m.group(1) and kunit is None:
            log.kunit_results.append(int(m.group(3)))
        m = re.match(r'^    # Subtest: (\S+)', line)
        if m:
            if kunit is not None:
                kunit.cut_off('(no result)', 'the next suite started before '
                              'its result line')
            kunit = Suite('kunit:' + m.group(1))
            kunit.start = stamps[i]
            log.suites.append(kunit)
            continue
        if kunit is None:
            continue
        m = PLAN.match(line)
        if m and len(m.group(1)) == 4:
            kunit.plan = int(m.group(2))
            continue
        m = RESULT.match(line)
        if m:
            indent = len(m.group(1))
            if indent == 4:
                kunit.add(int(m.group(3)),
                          m.group(4) or 'case %s' % m.group(3),
                          status_of(m.group(2), m.group(5)), m.group(5))
            elif indent == 0:
                log.kunit_results.append(int(m.group(3)))
                if kunit.start is not None and stamps[i] is not None:
                    kunit.secs = stamps[i] - kunit.start
                kunit.close()
                if m.group(2) == 'not ok' and not kunit.count('fail'):
                    kunit.fail('(suite)', 'suite failed with no failed case')
                kunit = None
    if kunit is not None:
        kunit.cut_off('(no result)', 'never printed its result line')
    if prog is not None:
        prog.cut_off('(did not finish)', 'never finished')
    return log


def figure_parse(text):
    """A figure line: its name (the words before the first value) and its
    values: KEY=N, KEY N and N KEY."""
    words = text.split()
    num = re.compile(r'^-?\d+(\.\d+)?$')
    name = []
    for i, w in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else ''
        if '=' in w or num.match(w) or w.startswith('/'):
            break
        if num.match(nxt):
            # "module-cycles 100": the first word names the figure.
            if not name:
                name.append(w)
            break
        name.append(w)
    values = {}
    for k, v in re.findall(r'([\w+().-]+)=(-?\d+(?:\.\d+)?)', text):
        values.setdefault(k, float(v))
    for i in range(len(words) - 1):
        if num.match(words[i + 1]) and not num.match(words[i]):
            values.setdefault(words[i].strip(',;:'), float(words[i + 1]))
    for i in range(len(words) - 1):
        if num.match(words[i]) and not num.match(words[i + 1]):
            values.setdefault(words[i + 1].strip(',;:'), float(words[i]))
    return ' '.join(name), values


def check_figures(label, log, tab):
    problems = []
    parsed = [figure_parse(f) for f in log.figures]
    for fig in tab.figures(label):
        if fig.asked and fig.asked not in log.asked:
            continue
        found = [v for n, v in parsed if n == fig.name]
        if not found:
            problems.append('no "%s" figure (bench/suites: %s)' %
                            (fig.name, fig.why))
            continue
        if fig.key == '-':
            continue
        for values in found:
            if fig.key not in values:
                problems.append('the "%s" figure has no %s' %
                                (fig.name, fig.key))
                continue
            got = values[fig.key]
            if fig.most is not None:
                if got > fig.most:
                    problems.append('figure %s %s = %g, above its maximum '
                                    '%d (bench/suites: %s)' %
                                    (fig.name, fig.key, got, fig.most,
                                     fig.why))
                continue
            least, what = fig.minimum(values, log.asked)
            if got < least:
                problems.append('figure %s %s = %g, below its minimum %g '
                                '(%s; bench/suites: %s)' %
                                (fig.name, fig.key, got, least, what,
                                 fig.why))
    return problems


def check_leaks(label, log, tab):
    """Every kmemleak record outside the device fails, but the known ones
    of the leak rows; returns (problems, expected notes)."""
    problems, counts = [], {}
    known = tab.leaks(label)
    for rec in log.leaks:
        # A record with a frame of the device's is never excused.
        row = None if re.search(r'\bkvm_vfio_\w', rec.split(' | ', 2)[-1]) \
            else next((k for k in known
                       if re.search(r'\b%s\+0x' % re.escape(k[0]), rec)),
                      None)
        if row:
            counts[row] = counts.get(row, 0) + 1
        else:
            problems.append('kmemleak: an object leaked outside the '
                            'device: %s' % (rec[:300]))
    expected = ['%d kmemleak record(s) naming %s (%s)' % (n, f, why)
                for (f, why), n in counts.items()]
    return problems, expected


def taint_flags(value):
    try:
        n = int(value)
    except ValueError:
        return None
    return ''.join(c for i, c in enumerate(table_mod.TAINT_FLAGS)
                   if n & (1 << i)) + ('?' if n >> len(table_mod.TAINT_FLAGS)
                                       else '')


def check_kernel_verdict(label, log, tab):
    """The kernel's own word, printed last by the guest."""
    problems = []
    if log.taint is None:
        problems.append('the guest printed no taint: its last lines '
                        '(the kernel\'s own verdict) are missing')
    else:
        flags = taint_flags(log.taint)
        allowed = tab.taint_allowed(label)
        if flags is None:
            problems.append('unreadable taint "%s"' % log.taint)
        else:
            for c in flags:
                if c not in allowed:
                    problems.append('kernel tainted %s (%s), which bench/'
                                    'suites does not allow on %s' %
                                    (c, TAINT_NAMES.get(c, 'unknown flag'),
                                     label))
    # A kernel built without a detector says so by a nodetector row, and
    # a row that says so of a kernel that has it is wrong too.
    nolockdep = tab.nodetector(label, 'lockdep')
    nokmemleak = tab.nodetector(label, 'kmemleak')
    if nokmemleak is None and log.no_kmemleak:
        problems.append('kmemleak is not available in the guest, and no '
                        'nodetector row of bench/suites says why for %s' %
                        label)
    elif nokmemleak is not None and not log.no_kmemleak:
        problems.append('kmemleak ran on %s, whose nodetector row says it '
                        'cannot: drop the row' % label)
    if log.debug_locks is None:
        problems.append('the guest printed no debug_locks')
    elif log.debug_locks == 'unavailable':
        if nolockdep is None:
            problems.append('lockdep is not in the guest\'s kernel '
                            '(debug_locks unavailable), and no nodetector '
                            'row of bench/suites says why for %s' % label)
    elif nolockdep is not None:
        problems.append('lockdep ran on %s (debug_locks %s), whose '
                        'nodetector row says it cannot: drop the row' %
                        (label, log.debug_locks))
    elif log.debug_locks != '1':
        problems.append('debug_locks %s: lockdep turned itself off, after a '
                        'lockdep report or a failed lock check' %
                        log.debug_locks)
    return problems


def check_runner(label, log, runs):
    """The guest runner's KTAP document against the kernel's run rows."""
    problems = []
    progs = [r for r in runs if r.stage not in ('boot', 'host')]
    if not progs:
        return problems
    if log.outer_plan is None:
        problems.append('the guest runner printed no plan')
    elif log.outer_plan != len(progs):
        problems.append('the guest runner planned %d programs; bench/suites '
                        'has %d for %s' % (log.outer_plan, len(progs), label))
    progs_run = [s for s in log.suites if not s.name.startswith('kunit:')]
    for k, (num, name, ok, directive) in enumerate(log.outer, 1):
        if num != k:
            problems.append('runner result "%s" is number %d where %d was '
                            'expected' % (name, num, k))
        d = directive.upper()
        if d.startswith('TIMEOUT') or d.startswith('SKIP'):
            problems.append('%s: not ok, %s' % (name, directive))
            continue
        # A plain "not ok" is the program's non-zero exit status, which
        # its own results account for; it must agree with them.
        seg = progs_run[k - 1] if k <= len(progs_run) else None
        if seg is None or seg.name != name:
            problems.append('runner result %d names %s, but the program '
                            'that ran there is %s' %
                            (k, name, seg.name if seg else 'none'))
        elif ok != (seg.exit == 0):
            problems.append('runner result for %s (%s) disagrees with its '
                            'exit status %s' % (name, 'ok' if ok else
                                                'not ok', seg.exit))
    if log.outer_plan is not None and len(log.outer) != log.outer_plan:
        problems.append('the guest runner planned %d programs and reported '
                        '%d' % (log.outer_plan, len(log.outer)))
    return problems


def apply_xfails(label, log, tab):
    """Mark the expected failures of the xfail rows; return their notes."""
    notes = []
    for x in tab.xfails(label):
        for s in log.suites:
            if s.name != x.suite:
                continue
            for c, st in s.cases.items():
                if st == 'fail' and re.search(x.case, c):
                    s.cases[c] = 'xfail'
                    s.known[c] = x.what
        if not any(st == 'xfail' and re.search(x.case, c)
                   for s in log.suites if s.name == x.suite
                   for c, st in s.cases.items()):
            log.problems.append('known upstream bug: no case of %s matching '
                                '%s failed (%s)' % (x.suite, x.case, x.what))
        own = [p for p in log.splats if p.startswith('WARNING:') and
               re.search(r'\b%s\+0x' % re.escape(x.func), p)]
        for pr in own:
            log.splats.remove(pr)
            notes.append('%s (%s)' % (pr, x.what))
        if len(own) != x.count:
            log.problems.append('known upstream bug: expected %d WARN in %s,'
                                ' saw %d (%s)' % (x.count, x.func, len(own),
                                                  x.what))
    return notes


def check_suites(label, log, tab, runs):
    """The suites a kernel ran against its run and skip rows."""
    problems = []
    want = {r.suite: r for r in runs}
    names = [s.name for s in log.suites]
    for name in want:
        if name not in names:
            problems.append('%s did not run (bench/suites: %s runs it)' %
                            (name, label))
    for su in log.suites:
        if names.count(su.name) > 1 and su is not \
                [s for s in log.suites if s.name == su.name][0]:
            su.fail('(ran twice)', 'ran more than once')
        r = want.get(su.name)
        if r is None:
            problems.append('%s ran, but bench/suites does not list it for '
                            '%s' % (su.name, label))
            continue
        n = len(su.real())
        if su.skip_all is not None and n == 0:
            # A row whose CASE matches "-" allows the whole program to
            # skip with that reason; it counts as one skip.
            if tab.skip_allowed(label, su.name, '-', su.skip_all):
                su.cases['(the whole program)'] = 'skip'
                su.why['(the whole program)'] = su.skip_all
                su.allowed.add('(the whole program)')
            else:
                su.fail('(skipped)', 'skipped as a whole (%s), which '
                        'bench/suites does not allow on %s' %
                        (su.skip_all, label))
            continue
        if r.plan is None and n == 0:
            su.fail('(no results)', 'printed no results (bench/suites wants '
                    'at least one)')
        elif r.plan is not None and (su.plan != r.plan or n != r.plan):
            su.fail('(table plan)', 'plan %s with %d results; bench/suites '
                    'wants %d' % (su.plan, n, r.plan))
        for c, st in list(su.cases.items()):
            if st != 'skip':
                continue
            why = su.why.get(c, '')
            if tab.skip_allowed(label, su.name, c, why):
                su.allowed.add(c)
            else:
                su.fail(c, '%s skipped (%s), which bench/suites does not '
                        'allow on %s' % (c, why, label))
    return problems


def check_ids(label, log, run_id, oracle):
    """Problems if the log is not this run's, or not this kernel's."""
    if log.kernel is not None and log.kernel != label:
        return ['the log is kernel %s\'s, not %s\'s' % (log.kernel, label)]
    if log.kernel is None:
        return ['the log has no header naming its run and kernel: not a '
                'log of this bench']
    if run_id is None:
        return []
    if log.run != run_id:
        return ['the log is not this run\'s (it names run %s, this is %s): '
                'the step did not run' % (log.run or 'none', run_id)]
    want = run_id
    if log.reused:
        if not oracle:
            return ['results reused from run %s, but only an oracle kernel '
                    'may reuse results' % log.reused]
        want = log.reused
    if log.guest is not None and log.guest != want:
        return ['the guest named run %s, expected %s: not this run\'s '
                'output' % (log.guest, want)]
    return []


def verdict(label, path, tab, run_id, oracle):
    """Read and judge one kernel's log: (log, problems, expected notes)."""
    log = parse(path)
    if log.missing:
        return log, log.problems, []
    bad = check_ids(label, log, run_id, oracle)
    if bad:
        return Log(), bad, []
    try:
        runs = tab.runs(label)
    except table_mod.TableError as e:
        return log, [str(e)], []
    if not runs:
        return log, ['no run row of bench/suites names kernel %s' % label], []
    host = all(r.stage == 'host' for r in runs)
    expected = apply_xfails(label, log, tab)
    problems = list(log.problems)
    if not host and log.guest is None and \
            not any(p.startswith('the host:') for p in problems):
        problems.append('the guest never echoed its run id: it died before '
                        '/init ran')
    problems += ['kernel report: ' + s for s in log.splats]
    if log.kunit_plan is not None and \
            log.kunit_results != list(range(1, log.kunit_plan + 1)):
        problems.append('KUnit planned %d suites and reported %s' %
                        (log.kunit_plan, log.kunit_results or 'none'))
    if log.suites or log.guest is not None:
        problems += check_suites(label, log, tab, runs)
    if not host and log.guest is not None:
        problems += check_runner(label, log, runs)
        if log.done:
            problems += check_kernel_verdict(label, log, tab)
            problems += check_figures(label, log, tab)
            bad, known = check_leaks(label, log, tab)
            problems += bad
            expected += known
    if not log.done:
        problems.append('the guest never reported "done" (crash, hang or '
                        'early exit)')
    return log, problems, expected


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


USAGE = ('usage: ktap.py [--run-id ID] [--suites TABLE] [--only S,...] '
         '[--oracle LABEL] [--failed WHY] [--timing FILE] LABEL=LOG ... '
         '[--compare A,B]\n(LABEL is a kernel of bench/variants, e.g. '
         '6.12-ours; --only: a run of these suites only, make test SUITES=)')


def main(argv):
    compares, runs, oracles, failed_steps = [], [], set(), []
    run_id = timing = only = None
    table_path = table_mod.TABLE
    args = iter(argv)
    try:
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
            elif a == '--only':
                only = [s for s in re.split(r'[,\s]+', next(args)) if s]
            elif a in ('--suites', '--manifest'):
                table_path = next(args)
            elif '=' in a and not a.startswith('-'):
                runs.append(tuple(a.split('=', 1)))
            else:
                print('ktap.py: unknown argument "%s"\n%s' % (a, USAGE),
                      file=sys.stderr)
                return 2
    except StopIteration:
        print('ktap.py: %s needs a value\n%s' % (a, USAGE), file=sys.stderr)
        return 2
    try:
        tab = table_mod.Table(table_path, only=only)
    except table_mod.TableError as e:
        print('ktap.py: %s' % e, file=sys.stderr)
        print('0 passed, 1 failed')
        return 1

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
    for label, path in runs:
        log, problems, expected = verdict(label, path, tab, run_id,
                                          label in oracles)
        suites = log.suites
        results[label] = suites
        print('kernel %s (console log: %s)' % (label, path))
        if only and any(r.run.stage not in ('boot', 'host')
                        for r in tab.rows_for(label, 'run')):
            print('  of its suites, %s only (SUITES=): the others did not '
                  'run' % ', '.join(sorted(tab.only)))
        if log.reused and not problems:
            print('  results reused from run %s (oracle kernel, same kernel,'
                  ' initramfs and command line)' % log.reused)
        for fig in log.figures:
            print('  %s' % fig)
        if log.taint is not None:
            print('  kernel: tainted %s (%s), debug_locks %s' %
                  (log.taint, taint_flags(log.taint) or 'no flag',
                   log.debug_locks))
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
                elif name == '(the whole program)':
                    print('      skipped as a whole: %s' % s.why[name])
                elif st == 'xfail':
                    print('      expected: %s: known upstream bug: %s' %
                          (name, s.known[name]))
            for n in s.notes:
                print('      note: %s' % n)
        for n in expected:
            print('  expected: %s' % n)
        for suite, why in tab.absent(label):
            print('  not run here: %s (%s)' % (suite, why))
        for det in table_mod.DETECTORS:
            why = tab.nodetector(label, det)
            if why is not None:
                print('  not checked here: %s (%s)' % (det, why))
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
        # A skip the table allows on either kernel (with its reason), and
        # the cases of a suite whose plan the table sets apart per kernel
        # (the module kernel's autoload cases) that only one ran.
        absent |= {(s.name, c) for lab in (a, b) for s in results[lab]
                   if s.name in common for c in s.allowed}
        plans = [{r.suite: r.plan for r in tab.runs(lab)} for lab in (a, b)]
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
                   else 'allowed on this kernel: bench/suites'))
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
    print('%d passed, %d failed, %d skipped' %
          (total['pass'], total['fail'], total['skip']))
    return 1 if total['fail'] else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
